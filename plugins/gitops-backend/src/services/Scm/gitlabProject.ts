import { ScmIntegrationRegistry } from '@backstage/integration';
import type { GitopsErrorCode } from '@gitops-backstage/plugin-gitops-common';
import {
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { Gitlab } from '@gitbeaker/rest';

/** One project on one GitLab instance, for one operation. */
export interface GitlabProject {
  api: GitlabApi;
  /** `group/sub/repo`; gitbeaker URL-encodes it as the project id. */
  path: string;
  /** The project on the web, e.g. https://gitlab.com/group/repo */
  webUrl: string;
  signal?: AbortSignal;
  /** Turns any failure into a GitopsSourceError naming the project and file. */
  fail(error: unknown, file: string): GitopsSourceError;
}

/** A gitbeaker client for the project at `repoURL`, with the token of Backstage's GitLab integrations. */
export function connectGitlab(
  integrations: ScmIntegrationRegistry,
  repoURL: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): GitlabProject {
  const { signal } = options;
  const integration = integrations.gitlab.byUrl(repoURL);
  if (!integration) {
    throw new GitopsSourceError(
      'not-found',
      `${redactUrl(
        repoURL,
      )} is not a repository on a configured GitLab integration`,
    );
  }
  const { apiBaseUrl, baseUrl, token } = integration.config;
  // GitLab may live under a path (https://host/gitlab); the project path follows it.
  const prefix = new URL(baseUrl).pathname.replace(/\/$/, '');
  const path = new URL(repoURL).pathname
    .slice(prefix.length)
    .replace(/^\/|\/$|\.git$/g, '');
  const timeoutMs = options.timeoutMs;
  // gitbeaker takes no per-call signal: its queryTimeout bounds each request and the
  // caller's signal is checked between requests.
  const api = gitlabApi(apiBaseUrl, timeoutMs, token);
  const fail = (error: unknown, file: string) => {
    if (error instanceof GitopsSourceError) return error;
    const e = error as {
      name?: string;
      message?: string;
      cause?: { description?: string };
    };
    let code: GitopsErrorCode;
    if (e.name === 'GitbeakerTimeoutError' || signal?.aborted) code = 'timeout';
    // gitbeaker gave up after retrying 429s and 502s.
    else if (e.name === 'GitbeakerRetryError') code = 'upstream-error';
    else code = statusCode(gitlabStatus(error));
    const detail =
      code === 'timeout'
        ? `timed out after ${timeoutMs} ms`
        : `${gitlabStatus(error) ?? ''} ${
            e.cause?.description ?? e.message ?? error
          }`.trim();
    const message = `GitLab: ${file ? `${file} in ` : ''}${path}: ${detail}`;
    // Never echo a credential, whatever GitLab answered.
    return new GitopsSourceError(
      code,
      token ? message.split(token).join('***') : message,
    );
  };
  const webUrl = `${baseUrl.replace(/\/$/, '')}/${path}`;
  return { api, path, webUrl, signal, fail };
}

type GitlabApi = InstanceType<typeof Gitlab<false>>;

function gitlabApi(
  apiBaseUrl: string,
  timeoutMs: number,
  token?: string,
): GitlabApi {
  return new Gitlab({
    host: apiBaseUrl.replace(/\/api\/v4\/?$/, ''),
    queryTimeout: timeoutMs,
    // Bearer, as Backstage's GitLab integration sends it.
    ...(token ? { oauthToken: token } : {}),
  });
}

/** The HTTP status gitbeaker's error carries. */
export function gitlabStatus(error: unknown): number | undefined {
  return (error as { cause?: { response?: { status?: number } } })?.cause
    ?.response?.status;
}

function statusCode(code: number | undefined): GitopsErrorCode {
  if (code === undefined) return 'unreachable';
  if (code === 401) return 'unauthorized';
  if (code === 403) return 'forbidden';
  if (code === 404) return 'not-found';
  if (code === 429) return 'rate-limited';
  return 'upstream-error';
}
