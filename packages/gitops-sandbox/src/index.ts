/**
 * Local stand-ins for development and tests. Never imported by the plugins.
 *
 * @packageDocumentation
 */
export { startGitServer } from './git/GitServer';
export type { GitServer, GitServerOptions } from './git/GitServer';
