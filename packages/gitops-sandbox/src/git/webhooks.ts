import { execFile } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Where the sandbox's Git server posts push events, as a GitHub or GitLab webhook. */
export interface WebhookReceiver {
  url: string;
  kind: 'github' | 'gitlab';
  /**
   * GitHub: the key of `X-Hub-Signature-256` (HMAC-SHA256 of the body); GitLab: sent
   * as `X-Gitlab-Token`. Without one, neither header is sent, as those hosts do.
   */
  secret?: string;
}

/** One ref a push changed, as `post-receive` hears of it. */
export interface RefUpdate {
  ref: string;
  before: string;
  after: string;
}

/** A receiver as the control API shows it: no secret, no credentials in the URL. */
export interface WebhookSummary {
  url: string;
  kind: WebhookReceiver['kind'];
  signed: boolean;
}

const summary = (r: WebhookReceiver): WebhookSummary => ({
  url: redactUrl(r.url),
  kind: r.kind,
  signed: Boolean(r.secret),
});

/** A webhook request, ready to post. */
export interface WebhookDelivery {
  headers: Record<string, string>;
  body: string;
}

const ZERO = '0000000000000000000000000000000000000000';
const GITHUB_MAX_COMMITS = 2048;
const GITLAB_MAX_COMMITS = 20;
/** A receiver that does not answer in this long has failed this delivery. */
export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The `post-receive` hook the Git server runs through `core.hooksPath`: it appends the
 * updated refs (`<old> <new> <ref>` lines) to the file the server named for this
 * request, so the server hears exactly which refs a push changed.
 */
export const POST_RECEIVE_HOOK = `#!/bin/sh
# Written by the gitops sandbox's Git server: hands the refs a push updated to it,
# then runs the repository's own post-receive hook, if any, with the same input.
input=$(cat)
if [ -n "$SANDBOX_PUSH_LOG" ]; then printf '%s\\n' "$input" >> "$SANDBOX_PUSH_LOG"; fi
own="$GIT_DIR/hooks/post-receive"
if [ -x "$own" ]; then printf '%s\\n' "$input" | "$own" "$@"; fi
exit 0
`;

/**
 * core.hooksPath replaces each repository's hooks directory: these run the
 * repository's own hook of the same name, so hooks set on one repository still work.
 */
const CHAINED_HOOKS = ['pre-receive', 'update', 'post-update'];
const chainedHook = (name: string) => `#!/bin/sh
own="$GIT_DIR/hooks/${name}"
if [ -x "$own" ]; then exec "$own" "$@"; fi
exit 0
`;

/** Parses `post-receive` input. */
export function parseRefUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .map(line => line.trim().split(' '))
    .filter(parts => parts.length === 3)
    .map(([before, after, ref]) => ({ ref, before, after }));
}

/** A receiver's URL without credentials, query or fragment: what a log may show. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** An error message with the receiver's URL redacted and its secret removed. */
function scrub(message: string, receiver: WebhookReceiver) {
  let text = message.split(receiver.url).join(redactUrl(receiver.url));
  const { password, search } = (() => {
    try {
      return new URL(receiver.url);
    } catch {
      return { password: '', search: '' };
    }
  })();
  for (const secret of [receiver.secret, password, search.slice(1)]) {
    if (secret) text = text.split(secret).join('<redacted>');
  }
  return text;
}

/** Checks a receiver given through the control API or the options. */
export function validReceiver(input: any): WebhookReceiver {
  const kind = input?.kind;
  if (kind !== 'github' && kind !== 'gitlab') {
    throw new Error('webhook kind must be "github" or "gitlab"');
  }
  let url: URL;
  try {
    url = new URL(String(input?.url ?? ''));
  } catch {
    throw new Error('webhook url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error('webhook url must be an absolute http(s) URL');
  }
  if (input.secret !== undefined && typeof input.secret !== 'string') {
    throw new Error('webhook secret must be a string');
  }
  return { url: url.toString(), kind, secret: input.secret || undefined };
}

interface RepoInfo {
  /** The repository's name on the server (`<name>.git` on disk). */
  name: string;
  /** e.g. http://127.0.0.1:7090 */
  baseUrl: string;
  /** The bare repository. */
  gitDir: string;
}

interface CommitInfo {
  id: string;
  tree: string;
  parents: string[];
  author: { name: string; email: string; date: string };
  committer: { name: string; email: string; date: string };
  message: string;
  added: string[];
  modified: string[];
  removed: string[];
}

/** What a push payload says of one ref update, read from the bare repository. */
interface PushFacts {
  repo: RepoInfo;
  update: RefUpdate;
  defaultBranch: string;
  createdAt: number;
  created: boolean;
  deleted: boolean;
  forced: boolean;
  isTag: boolean;
  /** Oldest first. */
  commits: CommitInfo[];
  /** Ids among `commits` no other ref reached before. */
  distinct: Set<string>;
  /** The commit `after` is or points to (an annotated tag's target). */
  head?: CommitInfo;
  /** An annotated tag's message. */
  tagMessage?: string;
}

const git = async (gitDir: string, ...args: string[]) =>
  (
    await exec('git', ['--git-dir', gitDir, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    })
  ).stdout;

async function readCommits(
  gitDir: string,
  ids: string[],
): Promise<CommitInfo[]> {
  if (ids.length === 0) return [];
  const out = await git(
    gitDir,
    'log',
    '--no-walk=unsorted',
    '--format=%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e',
    ...ids,
  );
  const commits = out
    .split('\x1e')
    .map(record => record.replace(/^\n/, ''))
    .filter(Boolean)
    .map(record => {
      const [id, tree, parents, an, ae, ad, cn, ce, cd, message] =
        record.split('\0');
      return {
        id,
        tree,
        parents: parents ? parents.split(' ') : [],
        author: { name: an, email: ae, date: ad },
        committer: { name: cn, email: ce, date: cd },
        message: message.replace(/\n+$/, ''),
        added: [] as string[],
        modified: [] as string[],
        removed: [] as string[],
      };
    });
  for (const commit of commits) {
    // Files against the first parent, as the hosts list them for a merge commit.
    const range =
      commit.parents.length === 0
        ? ['--root', commit.id]
        : [commit.parents[0], commit.id];
    const changes = (
      await git(
        gitDir,
        'diff-tree',
        '-r',
        '--no-commit-id',
        '--name-status',
        '-z',
        ...range,
      )
    ).split('\0');
    for (let i = 0; i + 1 < changes.length; i += 2) {
      const [status, file] = [changes[i], changes[i + 1]];
      if (status.startsWith('A')) commit.added.push(file);
      else if (status.startsWith('D')) commit.removed.push(file);
      else commit.modified.push(file);
    }
  }
  return commits;
}

async function revList(gitDir: string, ...args: string[]) {
  return (await git(gitDir, 'rev-list', ...args)).split('\n').filter(Boolean);
}

/** Reads from the bare repository what both payloads say of one ref update. */
async function pushFacts(
  repo: RepoInfo,
  update: RefUpdate,
): Promise<PushFacts> {
  const { gitDir } = repo;
  const created = update.before === ZERO;
  const deleted = update.after === ZERO;
  const isTag = update.ref.startsWith('refs/tags/');
  const defaultBranch = (
    await git(gitDir, 'symbolic-ref', '--short', 'HEAD').catch(() => 'main')
  ).trim();
  const stat = await fs.stat(gitDir);
  const createdAt = Math.floor((stat.birthtimeMs || stat.ctimeMs) / 1000);

  let commitIds: string[] = [];
  let distinctIds: string[] = [];
  let forced = false;
  let head: CommitInfo | undefined;
  let tagMessage: string | undefined;
  if (!deleted) {
    // Commits new on the ref; the ones no other ref had are "distinct".
    const others = (
      await git(gitDir, 'for-each-ref', '--format=%(refname) %(objectname)')
    )
      .split('\n')
      .map(line => line.split(' '))
      .filter(([ref, sha]) => sha && ref !== update.ref)
      .map(([, sha]) => `^${sha}`);
    if (!isTag) {
      commitIds = created
        ? await revList(gitDir, '--reverse', update.after, ...others)
        : await revList(
            gitDir,
            '--reverse',
            `${update.before}..${update.after}`,
          );
      distinctIds = created
        ? commitIds
        : await revList(gitDir, update.after, `^${update.before}`, ...others);
    }
    if (!created) {
      forced = await git(
        gitDir,
        'merge-base',
        '--is-ancestor',
        update.before,
        update.after,
      ).then(
        () => false,
        () => true,
      );
    }
    const headId = (
      await git(gitDir, 'rev-parse', `${update.after}^{commit}`)
    ).trim();
    [head] = await readCommits(gitDir, [headId]);
    if (headId !== update.after) {
      tagMessage = (await git(gitDir, 'cat-file', 'tag', update.after))
        .replace(/^[\s\S]*?\n\n/, '')
        .replace(/\n+$/, '');
    }
  }
  const commits = await readCommits(gitDir, commitIds);
  return {
    repo,
    update,
    defaultBranch,
    createdAt,
    created,
    deleted,
    forced,
    isTag,
    commits,
    distinct: new Set(distinctIds),
    head,
    tagMessage,
  };
}

/** A stable number for a repository, as the hosts' repository and project ids. */
function repoId(name: string) {
  return parseInt(
    createHash('sha1').update(name).digest('hex').slice(0, 7),
    16,
  );
}

/** The URL forms of a sandbox repository, as the hosts name them. */
function repoUrls(repo: RepoInfo) {
  const { host, hostname } = new URL(repo.baseUrl);
  // On the sandbox a repository lives at /git/<name>.git: "git" is its namespace.
  const fullName = `git/${repo.name}`;
  return {
    host,
    fullName,
    html: `${repo.baseUrl}/${fullName}`,
    clone: `${repo.baseUrl}/${fullName}.git`,
    // The sandbox serves no SSH or git://; these are the forms the hosts would give.
    ssh: `git@${hostname}:${fullName}.git`,
    git: `git://${host}/${fullName}.git`,
  };
}

const shortSha = (sha: string) => sha.slice(0, 12);

function githubUser(baseUrl: string, login: string, id: number) {
  const api = `${baseUrl}/api/v3/users/${login}`;
  return {
    name: login,
    email: null,
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `${baseUrl}/avatars/${login}`,
    gravatar_id: '',
    url: api,
    html_url: `${baseUrl}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: 'User' as const,
    site_admin: false,
  };
}

/**
 * GitHub's `push` event payload for one ref update
 * (https://docs.github.com/en/webhooks/webhook-events-and-payloads#push).
 */
function githubPushPayload(facts: PushFacts) {
  const { repo, update } = facts;
  const urls = repoUrls(repo);
  const id = repoId(repo.name);
  const api = `${repo.baseUrl}/api/v3/repos/${urls.fullName}`;
  const now = new Date();
  const commit = (c: CommitInfo) => ({
    id: c.id,
    tree_id: c.tree,
    distinct: facts.distinct.has(c.id),
    message: c.message,
    timestamp: c.committer.date,
    url: `${urls.html}/commit/${c.id}`,
    author: {
      name: c.author.name,
      email: c.author.email,
      date: c.author.date,
    },
    committer: {
      name: c.committer.name,
      email: c.committer.email,
      date: c.committer.date,
    },
    added: c.added,
    removed: c.removed,
    modified: c.modified,
  });
  const owner = {
    ...githubUser(repo.baseUrl, 'git', 1),
    type: 'Organization' as const,
  };
  const sender = githubUser(repo.baseUrl, 'sandbox', 2);
  const commits = facts.commits.slice(-GITHUB_MAX_COMMITS);
  return {
    ref: update.ref,
    before: update.before,
    after: update.after,
    repository: {
      id,
      node_id: Buffer.from(`010:Repository${id}`).toString('base64'),
      name: repo.name,
      full_name: urls.fullName,
      private: true,
      owner,
      html_url: urls.html,
      description: null,
      fork: false,
      url: urls.html,
      forks_url: `${api}/forks`,
      keys_url: `${api}/keys{/key_id}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      teams_url: `${api}/teams`,
      hooks_url: `${api}/hooks`,
      issue_events_url: `${api}/issues/events{/number}`,
      events_url: `${api}/events`,
      assignees_url: `${api}/assignees{/user}`,
      branches_url: `${api}/branches{/branch}`,
      tags_url: `${api}/tags`,
      blobs_url: `${api}/git/blobs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      trees_url: `${api}/git/trees{/sha}`,
      statuses_url: `${api}/statuses/{sha}`,
      languages_url: `${api}/languages`,
      stargazers_url: `${api}/stargazers`,
      contributors_url: `${api}/contributors`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      commits_url: `${api}/commits{/sha}`,
      git_commits_url: `${api}/git/commits{/sha}`,
      comments_url: `${api}/comments{/number}`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      contents_url: `${api}/contents/{+path}`,
      compare_url: `${api}/compare/{base}...{head}`,
      merges_url: `${api}/merges`,
      archive_url: `${api}/{archive_format}{/ref}`,
      downloads_url: `${api}/downloads`,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      labels_url: `${api}/labels{/name}`,
      releases_url: `${api}/releases{/id}`,
      deployments_url: `${api}/deployments`,
      // A push event's repository carries these two as Unix times.
      created_at: facts.createdAt,
      updated_at: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      pushed_at: Math.floor(now.getTime() / 1000),
      git_url: urls.git,
      ssh_url: urls.ssh,
      clone_url: urls.clone,
      svn_url: urls.html,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: false,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: false,
      disabled: false,
      open_issues_count: 0,
      license: null,
      allow_forking: true,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: 'private' as const,
      forks: 0,
      open_issues: 0,
      watchers: 0,
      default_branch: facts.defaultBranch,
      stargazers: 0,
      master_branch: facts.defaultBranch,
      organization: 'git',
      custom_properties: {},
    },
    pusher: { name: 'sandbox', email: null },
    sender,
    created: facts.created,
    deleted: facts.deleted,
    forced: facts.forced,
    base_ref: null,
    compare: facts.created
      ? `${urls.html}/compare/${update.ref.replace(
          /^refs\/(heads|tags)\//,
          '',
        )}`
      : `${urls.html}/compare/${shortSha(update.before)}...${shortSha(
          update.after,
        )}`,
    commits: commits.map(commit),
    head_commit: facts.head ? commit(facts.head) : null,
  };
}

/**
 * GitLab's push (or tag push) event payload for one ref update
 * (https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events).
 */
function gitlabPushPayload(facts: PushFacts) {
  const { repo, update } = facts;
  const urls = repoUrls(repo);
  const id = repoId(repo.name);
  const kind = facts.isTag ? 'tag_push' : 'push';
  const commits = facts.commits.slice(-GITLAB_MAX_COMMITS).map(c => ({
    id: c.id,
    message: `${c.message}\n`,
    title: c.message.split('\n')[0],
    timestamp: c.author.date,
    url: `${urls.html}/-/commit/${c.id}`,
    author: { name: c.author.name, email: c.author.email },
    added: c.added,
    modified: c.modified,
    removed: c.removed,
  }));
  return {
    object_kind: kind,
    event_name: kind,
    before: update.before,
    after: update.after,
    ref: update.ref,
    ref_protected: update.ref === `refs/heads/${facts.defaultBranch}`,
    checkout_sha: facts.head?.id ?? null,
    message: facts.tagMessage ?? null,
    user_id: 2,
    user_name: 'Sandbox',
    user_username: 'sandbox',
    user_email: '',
    user_avatar: null,
    project_id: id,
    project: {
      id,
      name: repo.name,
      description: null,
      web_url: urls.html,
      avatar_url: null,
      git_ssh_url: urls.ssh,
      git_http_url: urls.clone,
      namespace: 'git',
      visibility_level: 0,
      path_with_namespace: urls.fullName,
      default_branch: facts.defaultBranch,
      ci_config_path: null,
      homepage: urls.html,
      url: urls.ssh,
      ssh_url: urls.ssh,
      http_url: urls.clone,
    },
    commits,
    total_commits_count: facts.commits.length,
    push_options: {},
    repository: {
      name: repo.name,
      url: urls.ssh,
      description: null,
      homepage: urls.html,
      git_http_url: urls.clone,
      git_ssh_url: urls.ssh,
      visibility_level: 0,
    },
  };
}

/** The request a receiver of `kind` gets for one ref update. */
export async function pushDelivery(
  receiver: WebhookReceiver,
  repo: RepoInfo,
  update: RefUpdate,
  hookId: number,
): Promise<WebhookDelivery> {
  const facts = await pushFacts(repo, update);
  if (receiver.kind === 'github') {
    const body = JSON.stringify(githubPushPayload(facts));
    const sign = (algorithm: string) =>
      `${algorithm}=${createHmac(algorithm, receiver.secret!)
        .update(body, 'utf8')
        .digest('hex')}`;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/sandbox',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-github-hook-id': String(hookId),
        'x-github-hook-installation-target-type': 'repository',
        'x-github-hook-installation-target-id': String(repoId(repo.name)),
        ...(receiver.secret && {
          'x-hub-signature': sign('sha1'),
          'x-hub-signature-256': sign('sha256'),
        }),
      },
    };
  }
  const body = JSON.stringify(gitlabPushPayload(facts));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitLab/sandbox',
      'x-gitlab-event': facts.isTag ? 'Tag Push Hook' : 'Push Hook',
      'x-gitlab-event-uuid': randomUUID(),
      'x-gitlab-webhook-uuid': randomUUID(),
      'x-gitlab-instance': repo.baseUrl,
      ...(receiver.secret && { 'x-gitlab-token': receiver.secret }),
    },
  };
}

/**
 * Posts push events to the receivers, one request per receiver and updated ref, in
 * the order of the pushes. Never throws: a failure is logged (URL without
 * credentials, never a secret) once per receiver until one of its deliveries works
 * again, so a receiver that is not up yet does not flood the log.
 */
export class WebhookSender {
  readonly #receivers: WebhookReceiver[];
  readonly #failing = new Set<WebhookReceiver>();
  readonly #timeoutMs: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    receivers: WebhookReceiver[] = [],
    timeoutMs = WEBHOOK_TIMEOUT_MS,
  ) {
    this.#receivers = receivers.map(validReceiver);
    this.#timeoutMs = timeoutMs;
  }

  /** Adds a receiver; answers it as {@link WebhookSender.list} shows it. */
  add(receiver: WebhookReceiver): WebhookSummary {
    const valid = validReceiver(receiver);
    this.#receivers.push(valid);
    return summary(valid);
  }

  /** The receivers, without their secrets. */
  list(): WebhookSummary[] {
    return this.#receivers.map(summary);
  }

  /** Queues the deliveries of one push; answers when they are done. */
  push(repo: RepoInfo, updates: RefUpdate[]): Promise<void> {
    if (this.#receivers.length === 0 || updates.length === 0) {
      return this.#queue;
    }
    const receivers = [...this.#receivers];
    this.#queue = this.#queue.then(async () => {
      for (const update of updates) {
        for (const [index, receiver] of receivers.entries()) {
          await this.#deliver(receiver, index + 1, repo, update);
        }
      }
    });
    return this.#queue;
  }

  /** Answers once every queued delivery is done (each has its timeout). */
  idle(): Promise<void> {
    return this.#queue;
  }

  async #deliver(
    receiver: WebhookReceiver,
    hookId: number,
    repo: RepoInfo,
    update: RefUpdate,
  ) {
    const what = `push to ${repo.name} ${update.ref} for ${
      receiver.kind
    } receiver ${redactUrl(receiver.url)}`;
    let failure: string | undefined;
    try {
      const { headers, body } = await pushDelivery(
        receiver,
        repo,
        update,
        hookId,
      );
      // Credentials in the URL go as basic auth, as GitHub sends them.
      const target = new URL(receiver.url);
      const credentials =
        target.username || target.password
          ? `${decodeURIComponent(target.username)}:${decodeURIComponent(
              target.password,
            )}`
          : undefined;
      target.username = '';
      target.password = '';
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          ...headers,
          ...(credentials && {
            authorization: `Basic ${Buffer.from(credentials).toString(
              'base64',
            )}`,
          }),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) {
        failure = `answered ${res.status}`;
      }
    } catch (error: any) {
      failure =
        error?.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : scrub(
              [
                error?.message ?? String(error),
                error?.cause?.code ?? error?.cause?.message,
              ]
                .filter(Boolean)
                .join(': '),
              receiver,
            );
    }
    if (failure === undefined) {
      this.#failing.delete(receiver);
      return;
    }
    if (!this.#failing.has(receiver)) {
      this.#failing.add(receiver);
      // eslint-disable-next-line no-console
      console.warn(
        `sandbox webhook: delivering the ${what} failed: ${failure} (the push itself succeeded; further failures of this receiver are not logged until a delivery works)`,
      );
    }
  }
}

/** Reads and removes the refs a request's `post-receive` hook wrote down. */
export async function takeRefUpdates(logFile: string): Promise<RefUpdate[]> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  await fs.rm(logFile, { force: true });
  return parseRefUpdates(text);
}

/** Writes the hooks directory the server points `core.hooksPath` at. */
export async function writeHooks(dir: string) {
  await fs.mkdir(path.join(dir, 'pushes'), { recursive: true });
  await fs.writeFile(path.join(dir, 'post-receive'), POST_RECEIVE_HOOK, {
    mode: 0o755,
  });
  for (const name of CHAINED_HOOKS) {
    await fs.writeFile(path.join(dir, name), chainedHook(name), {
      mode: 0o755,
    });
  }
}
