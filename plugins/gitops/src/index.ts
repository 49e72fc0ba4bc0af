/**
 * The GitOps frontend plugin: the entity "Deployments" tab.
 *
 * The default export is the plugin for the new frontend system; apps on the legacy
 * system import from `@gitops-backstage/plugin-gitops/legacy`.
 *
 * @packageDocumentation
 */
export { default } from './plugin';
export {
  DeploymentsContent,
  isGitopsAvailable,
} from './components/DeploymentsContent';
