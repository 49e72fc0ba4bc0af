/**
 * Extension points and interfaces for backend modules of the GitOps plugin.
 *
 * @packageDocumentation
 */
export * from './extensionPoints';
