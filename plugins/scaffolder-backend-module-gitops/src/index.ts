/**
 * Scaffolder actions for GitOps templates.
 *
 * @packageDocumentation
 */
export { scaffolderModuleGitops as default } from './module';
export { createValuesSetAction } from './actions/valuesSet';
