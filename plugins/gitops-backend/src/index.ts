/**
 * The GitOps backend plugin: per-environment Argo CD and Git state of catalog entities.
 *
 * @packageDocumentation
 */
export { gitopsPlugin as default } from './plugin';
