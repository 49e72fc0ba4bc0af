/**
 * Local stand-ins for development and tests. Never imported by the plugins.
 *
 * @packageDocumentation
 */
export { startGitServer } from './git/GitServer';
export type { GitServer, GitServerOptions } from './git/GitServer';
export type { WebhookReceiver, WebhookSummary } from './git/webhooks';
export { startSandbox, DEFAULT_INSTANCES, DEFAULT_TIMING } from './sandbox';
export type { Sandbox, SandboxOptions, InstanceOptions } from './sandbox';
export type { InstanceFault } from './argocd/ArgoCdServer';
export type { StreamControls } from './argocd/stream';
export type { ApplicationFaults, Timing } from './argocd/ArgoCdInstance';
export type { SandboxRegistry } from './sandboxRegistry';
export type { SandboxCharts, PublishedChart } from './charts/ChartMuseum';
export type { PushedChart } from './charts/ociCharts';
export { startRegistry, OciRegistry } from './registry/RegistryServer';
export type { RegistryOptions } from './registry/RegistryServer';
export type { RegistryCredentials } from './registry/auth';
export type { ResolvedImage } from './registry/references';
export type { PushImageOptions } from './registry/seed';
export { helmBinary, renderChart } from './helm';
export { ArgoContracts, CONTRACTS_DIR } from './contracts';
export {
  startTestSandbox,
  argo,
  createAppOfApps,
  pushChange,
  setTag,
  eventually,
  settled,
  pastAutoSyncDelay,
  FAST_TIMING,
  EXAMPLES_DIR,
} from './testing/testSandbox';
export {
  openWatch,
  receivedAll,
  servedWatch,
  closeWatches,
  streamChunkErrors,
  STREAM_ROUTE,
} from './testing/testStream';
export type { WatchStream } from './testing/testStream';
