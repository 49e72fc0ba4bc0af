import { LoggerService } from '@backstage/backend-plugin-api';
import { EventParams, EventsService } from '@backstage/plugin-events-node';

/**
 * The topics the events backend's GitHub and GitLab modules publish pushes on.
 *
 * Their HTTP ingresses (`POST /api/events/http/github`, `.../gitlab`) publish every
 * webhook on `github` / `gitlab`, once its signature (`X-Hub-Signature-256`, keyed with
 * `events.modules.github.webhookSecret`) or token (`X-Gitlab-Token` equal to
 * `events.modules.gitlab.webhookSecret`) checks out; their event routers republish it
 * on `github.<X-GitHub-Event>` and `gitlab.<object_kind>`.
 */
export const GIT_PUSH_TOPICS = [
  'github.push',
  'gitlab.push',
  'gitlab.tag_push',
] as const;

/** A ref of a repository changed (a push, a merged pull or merge request). */
export interface GitPush {
  provider: 'github' | 'gitlab';
  /**
   * Every URL the payload gives the repository (clone URL, with and without `.git`,
   * web URL, SSH URL), normalised by {@link normalizeRepoUrl}: compare them with
   * `normalizeRepoUrl(application.spec.source.repoURL)`, or use
   * {@link pushMatchesRepoUrl}.
   */
  repoUrls: string[];
  /** The full ref, e.g. `refs/heads/main` or `refs/tags/v1.2.0`. */
  ref: string;
  /** The ref's new object id; all zeros when the push deleted the ref. */
  after: string;
}

const DEFAULT_PORTS: Record<string, string> = {
  'http:': '80',
  'https:': '443',
  'ssh:': '22',
  'git:': '9418',
};

/**
 * A repository URL as a comparable key, or undefined when it is none: lower case,
 * without scheme, user, default port, trailing slash or `.git`; SCP-like SSH
 * (`git@host:group/repo.git`) as `ssh://`. So `https://github.com/org/repo`,
 * `https://github.com/org/repo.git`, `git@github.com:org/repo.git` and
 * `ssh://git@github.com/Org/Repo.git` are all `github.com/org/repo`, as Argo CD
 * matches a webhook's repository to an Application's `repoURL` (case-insensitively,
 * `.git` optional, any scheme or user). A non-default port is kept.
 */
export function normalizeRepoUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  let text = url.trim();
  if (!text || /\s/.test(text)) return undefined;
  // SCP-like syntax: [user@]host:path, no scheme.
  const scp = /^(?:[^@/:]+@)?([^@/:]+):(?!\/)(.+)$/.exec(text);
  if (scp && !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    text = `ssh://${scp[1]}/${scp[2]}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  const scheme = parsed.protocol.replace(/^git\+ssh:$|^ssh\+git:$/, 'ssh:');
  if (!(scheme in DEFAULT_PORTS) || !parsed.hostname) return undefined;
  const port =
    parsed.port && parsed.port !== DEFAULT_PORTS[scheme]
      ? `:${parsed.port}`
      : '';
  let repoPath: string;
  try {
    repoPath = decodeURIComponent(parsed.pathname);
  } catch {
    return undefined;
  }
  repoPath = repoPath
    .replace(/\/+$/, '')
    .replace(/\.git$/i, '')
    .replace(/\/+$/, '');
  if (!repoPath || repoPath === '/') return undefined;
  return `${parsed.hostname}${port}${repoPath}`.toLowerCase();
}

/** Whether a push changed the repository an Application's `repoURL` names. */
export function pushMatchesRepoUrl(push: GitPush, repoURL: string): boolean {
  const key = normalizeRepoUrl(repoURL);
  return key !== undefined && push.repoUrls.includes(key);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function repoUrlsOf(...objects: unknown[]): string[] {
  const keys = new Set<string>();
  for (const object of objects) {
    if (!isObject(object)) continue;
    for (const value of Object.values(object)) {
      const key =
        typeof value === 'string' ? normalizeRepoUrl(value) : undefined;
      if (key) keys.add(key);
    }
  }
  return [...keys];
}

const GITHUB_URL_FIELDS = [
  'clone_url',
  'html_url',
  'ssh_url',
  'git_url',
  'svn_url',
] as const;
const GITLAB_URL_FIELDS = [
  'git_http_url',
  'git_ssh_url',
  'web_url',
  'http_url',
  'ssh_url',
  'url',
  'homepage',
] as const;

const pick = (object: unknown, fields: readonly string[]) =>
  isObject(object)
    ? Object.fromEntries(fields.map(field => [field, object[field]]))
    : undefined;

/**
 * The push a GitHub `push` or GitLab `push` / `tag_push` webhook payload describes, or
 * undefined when the payload is not one (missing ref, object id or repository URL).
 */
export function parseGitPush(
  topic: string,
  payload: unknown,
): GitPush | undefined {
  if (!isObject(payload)) return undefined;
  const { ref, after } = payload;
  if (typeof ref !== 'string' || !ref.startsWith('refs/')) return undefined;
  if (typeof after !== 'string' || !OBJECT_ID.test(after)) return undefined;
  let provider: GitPush['provider'];
  let repoUrls: string[];
  if (topic === 'github.push') {
    provider = 'github';
    repoUrls = repoUrlsOf(pick(payload.repository, GITHUB_URL_FIELDS));
  } else if (topic === 'gitlab.push' || topic === 'gitlab.tag_push') {
    if (payload.object_kind !== topic.slice('gitlab.'.length)) {
      return undefined;
    }
    provider = 'gitlab';
    repoUrls = repoUrlsOf(
      pick(payload.project, GITLAB_URL_FIELDS),
      pick(payload.repository, GITLAB_URL_FIELDS),
    );
  } else {
    return undefined;
  }
  if (repoUrls.length === 0) return undefined;
  return { provider, repoUrls, ref, after };
}

export interface SubscribeToGitPushesOptions {
  /** Where a malformed payload is noted (debug) and a failing `onPush` (warn). */
  logger?: LoggerService;
  /**
   * The subscription's id (prefixed with the plugin's). Subscribers with the same id
   * share the events of the events backend's bus: with several backend replicas, one
   * of them hears each push that arrived at another. Give each replica its own id when
   * every replica must hear every push (e.g. for an index in its memory).
   */
  subscriberId?: string;
}

/**
 * Calls `onPush` for every push to a GitHub or GitLab repository whose webhook reaches
 * the events backend (`POST /api/events/http/github` or `/gitlab`, checked with
 * `events.modules.github.webhookSecret` / `events.modules.gitlab.webhookSecret`).
 * Payloads that are no push are ignored with a debug log.
 *
 * The webhook's HTTP answer waits for the subscribers, so `onPush` runs after it
 * (GitHub gives a receiver 10 s): keep it to noting what changed; a failure is logged.
 */
export async function subscribeToGitPushes(
  events: EventsService,
  onPush: (push: GitPush) => void | Promise<void>,
  options: SubscribeToGitPushesOptions = {},
): Promise<void> {
  const { logger } = options;
  await events.subscribe({
    id: options.subscriberId ?? 'git-pushes',
    topics: [...GIT_PUSH_TOPICS],
    onEvent: async (params: EventParams) => {
      const push = parseGitPush(params.topic, params.eventPayload);
      if (!push) {
        logger?.debug(
          `Ignored a ${params.topic} event that describes no push (no ref, object id or repository URL)`,
        );
        return;
      }
      // Not awaited: the webhook's answer does not wait for what onPush does.
      Promise.resolve()
        .then(() => onPush(push))
        .catch(error =>
          logger?.warn(
            `Handling the push to ${push.ref} of ${push.repoUrls[0]} failed: ${error}`,
          ),
        );
    },
  });
}
