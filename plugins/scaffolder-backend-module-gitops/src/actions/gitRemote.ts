import { InputError } from '@backstage/errors';
import {
  GitCredentials,
  GitCredentialsResolver,
  gitHttpClient,
} from '@gitops-backstage/plugin-gitops-node';
import git from 'isomorphic-git';

const TIMEOUT_MS = 30_000;

/** The credentials for `url`, or an error saying where to configure them. */
export async function credentialsFor(
  credentials: GitCredentialsResolver,
  url: string,
): Promise<GitCredentials> {
  const auth = await credentials.forUrl(url);
  if (!auth) {
    const { host } = new URL(url);
    throw new InputError(
      `No Git credentials for ${host}: add them to gitops.git.credentials (host: ${host}) or a Backstage integration`,
    );
  }
  return auth;
}

/** A Git server refused the credentials: names the host and where to fix them. */
export function refusedCredentials(status: number, url: string) {
  const { host } = new URL(url);
  return new Error(
    `Git server ${host} refused the credentials (${status}) for ${url}; check gitops.git.credentials for host ${host} or the integration`,
  );
}

/**
 * The refs a repository advertises (what `git ls-remote` lists), or undefined when the
 * server has no such repository (404). Refused credentials and an unreachable server
 * are errors that name the server.
 */
export async function remoteRefs(
  repoUrl: string,
  auth: GitCredentials,
  prefix?: string,
): Promise<string[] | undefined> {
  try {
    const refs = await git.listServerRefs({
      http: gitHttpClient(TIMEOUT_MS),
      url: repoUrl,
      prefix,
      onAuth: () => auth,
    });
    return refs.map(r => r.ref);
  } catch (error) {
    const status = (error as { data?: { statusCode?: number } }).data
      ?.statusCode;
    if (status === 404) return undefined;
    if (status === 401 || status === 403) {
      throw refusedCredentials(status, repoUrl);
    }
    if (status) {
      throw new Error(`Git server answered ${status} for ${repoUrl}`);
    }
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(
      `Git server ${new URL(repoUrl).host} is unreachable at ${repoUrl}${
        cause ? ` (${cause})` : ''
      }`,
    );
  }
}
