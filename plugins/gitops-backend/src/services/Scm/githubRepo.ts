import {
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import type { GitopsErrorCode } from '@gitops-backstage/plugin-gitops-common';
import {
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { Octokit } from '@octokit/rest';

/** One repository on one GitHub (or GitHub Enterprise) instance, for one operation. */
export interface GithubRepo {
  octokit: Octokit;
  owner: string;
  repo: string;
  /** The repository on the web, e.g. https://github.com/org/repo */
  webUrl: string;
  /** Turns any failure into a GitopsSourceError naming the repository and file. */
  fail(error: unknown, file: string): GitopsSourceError;
}

/**
 * An Octokit for the repository at `repoURL`, with the credentials of Backstage's
 * GitHub integrations (tokens or GitHub Apps) and a timeout on each request.
 */
export async function connectGithub(
  integrations: ScmIntegrationRegistry,
  credentials: GithubCredentialsProvider,
  repoURL: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<GithubRepo> {
  const { signal } = options;
  const integration = integrations.github.byUrl(repoURL);
  const [owner, repo] = new URL(repoURL).pathname
    .replace(/^\/|\/$|\.git$/g, '')
    .split('/');
  if (!integration || !owner || !repo) {
    throw new GitopsSourceError(
      'not-found',
      `${redactUrl(
        repoURL,
      )} is not a repository on a configured GitHub integration`,
    );
  }
  const { token } = await credentials.getCredentials({ url: repoURL });
  let timedOut = false;
  const timeoutMs = options.timeoutMs;
  const octokit = new Octokit({
    auth: token,
    baseUrl: integration.config.apiBaseUrl,
    request: {
      // A timeout for each request, plus the caller's signal.
      fetch: async (url: string, init: RequestInit) => {
        const timeout = AbortSignal.timeout(timeoutMs);
        try {
          return await fetch(url, {
            ...init,
            signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          });
        } catch (error) {
          timedOut ||= timeout.aborted;
          throw error;
        }
      },
    },
  });
  const fail = (error: unknown, file: string) => {
    if (error instanceof GitopsSourceError) return error;
    const e = error as {
      status?: number;
      message?: string;
      response?: { headers?: Record<string, string | undefined> };
    };
    let code: GitopsErrorCode;
    if (timedOut || signal?.aborted) code = 'timeout';
    else if (!e.response) code = 'unreachable';
    else code = statusCode(e.status, e.response.headers ?? {});
    const detail = `${e.status ?? ''} ${e.message ?? error}`.trim();
    const message = `GitHub: ${file ? `${file} in ` : ''}${owner}/${repo}: ${
      code === 'timeout' ? `timed out after ${timeoutMs} ms` : detail
    }`;
    // Never echo a credential, whatever GitHub answered.
    return new GitopsSourceError(
      code,
      token ? message.split(token).join('***') : message,
    );
  };
  const webUrl = `https://${integration.config.host}/${owner}/${repo}`;
  return { octokit, owner, repo, webUrl, fail };
}

function statusCode(
  status: number | undefined,
  headers: Record<string, string | undefined>,
): GitopsErrorCode {
  if (status === 401) return 'unauthorized';
  // GitHub answers 403 (or 429) when a rate limit is spent.
  if (
    status === 429 ||
    (status === 403 && headers['x-ratelimit-remaining'] === '0')
  )
    return 'rate-limited';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  return 'upstream-error';
}
