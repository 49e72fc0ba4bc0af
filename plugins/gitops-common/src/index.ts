/**
 * Types, permissions, annotation names and pure helpers shared by the GitOps plugins.
 *
 * @packageDocumentation
 */
export * from './annotations';
export * from './permissions';
export * from './applicationLocator';
