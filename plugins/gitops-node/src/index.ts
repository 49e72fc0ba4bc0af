/**
 * Extension points and interfaces for backend modules of the GitOps plugin.
 *
 * @packageDocumentation
 */
export * from './extensionPoints';
export { GitCredentialsResolver } from './gitCredentials';
export type { GitCredentials } from './gitCredentials';
export { readArgoCdInstances, httpUrl, CONFIG_NAME } from './argoCdInstances';
export type { ArgoCdInstanceConfig } from './argoCdInstances';
export { gitHttpClient } from './gitHttp';
export { HelmRunner } from './helm';
export type { HelmResult } from './helm';
export {
  readProjectOwnership,
  projectOwnedBy,
  applicationEntityRef,
} from './projectOwnership';
export type { ProjectOwnership } from './projectOwnership';
export type { HelmChartInput, HelmRunOptions } from './helm';
export { checkReleaseName, checkNamespace } from './helmInput';
export { GitRedirectRefusedError } from './gitHttp';
export { redactUrl, upstreamAnswer } from './redact';
export {
  destinationAllowed,
  isEntityRef,
  sourceRepoAllowed,
} from './projectOwnership';
