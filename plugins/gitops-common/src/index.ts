/**
 * Types, permissions, annotation names and pure helpers shared by the GitOps plugins.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './permissions';
export * from './applicationLocator';
export * from './labelSelector';
export * from './types';
export * from './delivery';
export * from './imageReference';
export * from './client';
export * from './setYamlValues';
export * from './signals';
