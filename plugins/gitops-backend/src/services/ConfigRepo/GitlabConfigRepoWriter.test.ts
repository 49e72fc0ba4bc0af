import { createHash } from 'node:crypto';
import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  GitopsSourceError,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { GitlabConfigRepoWriter } from './GitlabConfigRepoWriter';

const HOST = 'gitlab.example.test';
const BASE = `https://${HOST}`;
const TOKEN = 'glpat-secret-token-123';
const PROJECT = 'checkout/deploy/service-a-config';
const REPO_URL = `${BASE}/${PROJECT}.git`;
const FILE = 'envs/prod/values.yaml';
const VALUES = [
  '# service-a in prod',
  'image:',
  '  repository: registry.example.com/checkout/service-a',
  '  tag: "1.0.0" # promoted by gitops',
  'replicas: 3',
  '',
].join('\n');
const USERS = [
  { id: 11, username: 'alice' },
  { id: 12, username: 'bob' },
];

const setTag = (tag: string) => (text: string) =>
  text.replace(/tag: "[^"]*"/, `tag: "${tag}"`);

const notFound = (what: string) =>
  HttpResponse.json({ message: `404 ${what} Not Found` }, { status: 404 });
const badRequest = (message: string) =>
  HttpResponse.json({ message }, { status: 400 });

interface FileState {
  content: string;
  /** The last commit that changed the file, GitLab's `last_commit_id`. */
  last: string;
}

/**
 * A stand-in for GitLab's REST API (v4) over an in-memory project: commits are file
 * snapshots, branches point at commits, and a commit whose `last_commit_id` is not
 * the file's last commit any more is refused with 400, as GitLab does.
 */
class FakeGitlab {
  commits = new Map<string, Record<string, FileState>>();
  branches = new Map<string, string>();
  requests: Array<{
    method: string;
    path: string;
    auth: string | null;
    body?: any;
  }> = [];
  mergeRequests: any[] = [];
  /** Runs once before the next commit: another writer committing first. */
  beforeCommit?: () => void;
  private count = 0;

  constructor(readonly base: string, files: Record<string, string>) {
    const id = this.nextId();
    this.commits.set(
      id,
      Object.fromEntries(
        Object.entries(files).map(([p, content]) => [p, { content, last: id }]),
      ),
    );
    this.branches.set('main', id);
  }

  private nextId() {
    return createHash('sha1').update(`commit ${++this.count}`).digest('hex');
  }

  files(ref: string) {
    return this.commits.get(this.branches.get(ref) ?? ref);
  }

  content(ref: string, file: string) {
    return this.files(ref)?.[file]?.content;
  }

  /** Commits updates to a branch; answers the new commit id. */
  write(branch: string, updates: Record<string, string>) {
    const id = this.nextId();
    const files = { ...this.files(branch)! };
    for (const [p, content] of Object.entries(updates))
      files[p] = { content, last: id };
    this.commits.set(id, files);
    this.branches.set(branch, id);
    return id;
  }

  handler = () =>
    http.all(`${this.base}/api/v4/*`, async ({ request }) => {
      const url = new URL(request.url);
      const prefix = new URL(this.base).pathname.replace(/\/$/, '');
      const path = url.pathname.slice(prefix.length);
      const body: any =
        request.method === 'GET'
          ? undefined
          : await request.json().catch(() => 0);
      const auth = request.headers.get('authorization');
      this.requests.push({ method: request.method, path, auth, body });
      if (auth !== `Bearer ${TOKEN}`) {
        // Echoes the token to prove the writer never repeats what GitLab says.
        return HttpResponse.json(
          { message: `401 Unauthorized (${auth})` },
          { status: 401 },
        );
      }
      const [, , , resource, id, ...rest] = path
        .split('/')
        .map(decodeURIComponent);
      const route = `${request.method} ${resource} ${rest
        .slice(0, 2)
        .join('/')}`;

      if (route === 'GET users ')
        return HttpResponse.json(
          USERS.filter(u => u.username === url.searchParams.get('username')),
        );
      if (resource !== 'projects' || id !== PROJECT) return notFound('Project');

      if (route === 'GET projects repository/files') {
        const ref = url.searchParams.get('ref')!;
        const file = rest.slice(2).join('/');
        const state = this.files(ref)?.[file];
        if (!state) return notFound('File');
        return HttpResponse.json({
          file_name: file.split('/').pop(),
          file_path: file,
          encoding: 'base64',
          content: Buffer.from(state.content).toString('base64'),
          ref,
          commit_id: this.branches.get(ref) ?? ref,
          last_commit_id: state.last,
        });
      }
      if (route === 'POST projects repository/commits') {
        const race = this.beforeCommit;
        this.beforeCommit = undefined;
        race?.();
        const files = this.files(body.branch);
        if (!files)
          return badRequest(
            'You can only create or edit files when you are on a branch',
          );
        const updates: Record<string, string> = {};
        for (const action of body.actions) {
          const state = files[action.file_path];
          if (action.action !== 'update' || !state)
            return badRequest(`A file with this name doesn't exist`);
          if (action.last_commit_id && action.last_commit_id !== state.last)
            return badRequest(
              'You are attempting to update a file that has changed since you started editing it.',
            );
          updates[action.file_path] = action.content;
        }
        const commit = this.write(body.branch, updates);
        return HttpResponse.json(
          {
            id: commit,
            short_id: commit.slice(0, 8),
            title: body.commit_message,
          },
          { status: 201 },
        );
      }
      if (route === 'POST projects repository/branches') {
        if (this.branches.has(body.branch))
          return badRequest('Branch already exists');
        const commit = this.branches.get(body.ref) ?? body.ref;
        if (!this.commits.has(commit))
          return badRequest('Invalid reference name');
        this.branches.set(body.branch, commit);
        return HttpResponse.json(
          { name: body.branch, commit: { id: commit } },
          { status: 201 },
        );
      }
      if (route === 'GET projects merge_requests') {
        // As GitLab: every state unless `state` says, newest first.
        const state = url.searchParams.get('state');
        const source = url.searchParams.get('source_branch');
        const answer = this.mergeRequests
          .map((mr, i) => ({
            iid: i + 1,
            web_url: `${this.base}/${PROJECT}/-/merge_requests/${i + 1}`,
            source_branch: mr.source_branch,
            state: mr.state ?? 'opened',
            sha: this.branches.get(mr.source_branch) ?? mr.sha,
            merge_commit_sha: mr.merge_commit_sha ?? null,
            squash_commit_sha: mr.squash_commit_sha ?? null,
          }))
          .filter(mr => !source || mr.source_branch === source)
          .filter(mr => !state || mr.state === state)
          .reverse();
        return HttpResponse.json(
          answer.slice(0, Number(url.searchParams.get('per_page') ?? 20)),
        );
      }
      if (route === 'POST projects merge_requests') {
        const iid = this.mergeRequests.push(body);
        return HttpResponse.json(
          { iid, web_url: `${this.base}/${PROJECT}/-/merge_requests/${iid}` },
          { status: 201 },
        );
      }
      return notFound('404');
    });

  writes() {
    return this.requests.filter(r => r.method !== 'GET');
  }
}

const server = setupServer();
registerMswTestHooks(server);

let gitlab: FakeGitlab;
beforeEach(() => {
  gitlab = new FakeGitlab(BASE, { [FILE]: VALUES, 'README.md': '# config\n' });
  server.use(gitlab.handler());
});

function writer(token = TOKEN, timeoutMs = 2000, base = BASE) {
  return GitlabConfigRepoWriter.fromConfig(
    new ConfigReader({
      integrations: {
        gitlab: [
          {
            host: new URL(base).host,
            apiBaseUrl: `${base}/api/v4`,
            baseUrl: base,
            token,
          },
        ],
      },
    }),
    { timeoutMs },
  );
}

const change = (edit = setTag('1.1.0')): ValuesFileChange => ({
  repoURL: REPO_URL,
  branch: 'main',
  file: FILE,
  edit,
  message: 'Promote service-a 1.1.0 to prod',
  author: { name: 'Jane Doe', email: 'jane@example.com' },
});

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(GitopsSourceError);
  return error as GitopsSourceError;
}

/** Indexes of the lines that differ. */
function changedLines(before: string, after: string) {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [i]));
}

describe('GitlabConfigRepoWriter', () => {
  it('reads the file at the head of the branch', async () => {
    gitlab.write('main', { [FILE]: setTag('0.9.0')(VALUES) });
    await expect(
      writer().read({ repoURL: REPO_URL, branch: 'main', file: FILE }),
    ).resolves.toBe(setTag('0.9.0')(VALUES));
    expect(gitlab.requests[0].path).toBe(
      `/api/v4/projects/${encodeURIComponent(
        PROJECT,
      )}/repository/files/${encodeURIComponent(FILE)}`,
    );
  });

  it('reads from GitLab served under a path', async () => {
    const base = 'https://git.example.test/gitlab';
    const other = new FakeGitlab(base, { [FILE]: 'a: 1\n' });
    server.use(other.handler());
    await expect(
      writer(TOKEN, 2000, base).read({
        repoURL: `${base}/${PROJECT}`,
        branch: 'main',
        file: FILE,
      }),
    ).resolves.toBe('a: 1\n');
  });

  it('commits the edit with last_commit_id, the author and the token', async () => {
    const head = gitlab.branches.get('main')!;
    const result = await writer().commit(change());

    const [commit] = gitlab.writes();
    expect(commit.path).toBe(
      `/api/v4/projects/${encodeURIComponent(PROJECT)}/repository/commits`,
    );
    expect(commit.body).toEqual({
      branch: 'main',
      commit_message: 'Promote service-a 1.1.0 to prod',
      author_name: 'Jane Doe',
      author_email: 'jane@example.com',
      actions: [
        {
          action: 'update',
          file_path: FILE,
          content: expect.any(String),
          last_commit_id: head,
        },
      ],
    });
    const sent = commit.body.actions[0].content;
    expect(changedLines(VALUES, sent)).toEqual([3]);
    expect(sent.split('\n')[3]).toBe('  tag: "1.1.0" # promoted by gitops');

    expect(gitlab.requests.map(r => r.auth)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
    ]);
    expect(result).toEqual({
      before: VALUES,
      after: sent,
      commit: gitlab.branches.get('main'),
    });
    expect(gitlab.content('main', FILE)).toBe(sent);
    expect(gitlab.content('main', 'README.md')).toBe('# config\n');
  });

  it('re-reads and re-applies the edit when someone wrote first', async () => {
    const head = gitlab.branches.get('main')!;
    const theirs = VALUES.replace('replicas: 3', 'replicas: 5');
    let their: string | undefined;
    gitlab.beforeCommit = () => {
      their = gitlab.write('main', { [FILE]: theirs });
    };

    const result = await writer().commit(change());

    const commits = gitlab.writes();
    expect(commits).toHaveLength(2);
    expect(commits[0].body.actions[0].last_commit_id).toBe(head);
    expect(commits[1].body.actions[0].last_commit_id).toBe(their);
    // Both changes are kept: no lost update.
    const final = gitlab.content('main', FILE)!;
    expect(final).toBe(setTag('1.1.0')(theirs));
    expect(changedLines(VALUES, final)).toEqual([3, 4]);
    expect(result).toEqual({
      before: theirs,
      after: final,
      commit: gitlab.branches.get('main'),
    });
  });

  it('gives up with a conflict after three refused commits', async () => {
    let n = 0;
    const race = () => {
      const text = gitlab.content('main', FILE)!;
      gitlab.write('main', { [FILE]: `${text}# other writer ${++n}\n` });
      gitlab.beforeCommit = race;
    };
    gitlab.beforeCommit = race;

    const error = await failure(writer().commit(change()));
    expect(error.code).toBe('upstream-error');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain(PROJECT);
    expect(gitlab.writes()).toHaveLength(3);
    expect(gitlab.content('main', FILE)).not.toContain('1.1.0');
  });

  it('opens a merge request from a new branch with reviewers', async () => {
    const base = gitlab.branches.get('main')!;
    const result = await writer().openPullRequest(change(), {
      branch: 'gitops/promote-service-a-prod',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
      reviewers: { users: ['alice', 'nobody', 'bob'], teams: ['checkout/sre'] },
    });

    const [branch, commit, mr] = gitlab.writes();
    expect(branch.body).toEqual({
      branch: 'gitops/promote-service-a-prod',
      ref: base,
    });
    expect(commit.body).toMatchObject({
      branch: 'gitops/promote-service-a-prod',
      actions: [{ file_path: FILE, last_commit_id: base }],
    });
    expect(mr.body).toEqual({
      source_branch: 'gitops/promote-service-a-prod',
      target_branch: 'main',
      title: 'Promote service-a 1.1.0 to prod',
      description: 'From staging, checked by CI.',
      remove_source_branch: true,
      // `nobody` is no GitLab user; teams have no GitLab equivalent.
      reviewer_ids: [11, 12],
    });
    expect(
      gitlab.requests
        .filter(r => r.path === '/api/v4/users')
        .map(r => r.method),
    ).toEqual(['GET', 'GET', 'GET']);

    // The change is on the new branch only.
    expect(gitlab.branches.get('main')).toBe(base);
    expect(gitlab.content('main', FILE)).toBe(VALUES);
    const promoted = gitlab.content('gitops/promote-service-a-prod', FILE)!;
    expect(changedLines(VALUES, promoted)).toEqual([3]);
    expect(result).toEqual({
      before: VALUES,
      after: promoted,
      commit: gitlab.branches.get('gitops/promote-service-a-prod'),
      pullRequestUrl: `${BASE}/${PROJECT}/-/merge_requests/1`,
    });
  });

  it('writes nothing when the file already reads as wanted', async () => {
    const same = change(text => text);
    await expect(writer().commit(same)).resolves.toEqual({
      before: VALUES,
      after: VALUES,
    });
    await expect(
      writer().openPullRequest(same, {
        branch: 'promote',
        title: 't',
        body: 'b',
        reviewers: { users: ['alice'], teams: [] },
      }),
    ).resolves.toEqual({ before: VALUES, after: VALUES });
    expect(gitlab.requests.length).toBeGreaterThan(0);
    expect(gitlab.writes()).toEqual([]);
    expect([...gitlab.branches.keys()]).toEqual(['main']);
  });

  it('tells the state of the merge request opened from a branch: none, open, merged (with its commit), closed', async () => {
    const state = (branch: string) =>
      writer().pullRequestState({ repoURL: REPO_URL, branch });
    await expect(state('gitops/nothing-yet')).resolves.toEqual({
      state: 'none',
    });
    for (const branch of [
      'gitops/open',
      'gitops/merged',
      'gitops/fast-forward',
      'gitops/closed',
      'gitops/merging',
    ]) {
      await writer().openPullRequest(change(setTag(branch.slice(7))), {
        branch,
        title: 't',
        body: 'b',
        reviewers: { users: [], teams: [] },
      });
    }
    const [, merged, fastForward, closed, merging] = gitlab.mergeRequests;
    Object.assign(merged, {
      state: 'merged',
      merge_commit_sha: 'd'.repeat(40),
    });
    // A fast-forward merge has no merge commit: the branch's head landed.
    Object.assign(fastForward, { state: 'merged', sha: 'e'.repeat(40) });
    gitlab.branches.delete('gitops/fast-forward');
    Object.assign(closed, { state: 'closed' });
    Object.assign(merging, { state: 'locked' });
    const url = (n: number) => `${BASE}/${PROJECT}/-/merge_requests/${n}`;
    await expect(state('gitops/open')).resolves.toEqual({
      state: 'open',
      url: url(1),
    });
    await expect(state('gitops/merged')).resolves.toEqual({
      state: 'merged',
      url: url(2),
      commit: 'd'.repeat(40),
    });
    await expect(state('gitops/fast-forward')).resolves.toEqual({
      state: 'merged',
      url: url(3),
      commit: 'e'.repeat(40),
    });
    await expect(state('gitops/closed')).resolves.toEqual({
      state: 'closed',
      url: url(4),
    });
    await expect(state('gitops/merging')).resolves.toEqual({
      state: 'open',
      url: url(5),
    });
  });

  it('reports a missing file, branch or project as not-found', async () => {
    let error = await failure(
      writer().commit({ ...change(), file: 'envs/qa/values.yaml' }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('envs/qa/values.yaml');
    expect(error.message).toContain(PROJECT);

    error = await failure(writer().commit({ ...change(), branch: 'nope' }));
    expect(error.code).toBe('not-found');

    error = await failure(
      writer().read({
        repoURL: `${BASE}/checkout/other`,
        branch: 'main',
        file: FILE,
      }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('checkout/other');
    expect(gitlab.writes()).toEqual([]);
  });

  it('reports a refused token as unauthorized without repeating it', async () => {
    const error = await failure(writer('glpat-revoked-token').commit(change()));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain(PROJECT);
    expect(error.message).not.toContain('glpat-revoked-token');
    expect(gitlab.requests).toHaveLength(1);
  });

  it('times out a request that hangs', async () => {
    server.use(http.get(`${BASE}/api/v4/*`, () => delay('infinite')));
    const error = await failure(writer(TOKEN, 100).commit(change()));
    expect(error.code).toBe('timeout');
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(
      writer().commit(change(), { signal: controller.signal }),
    );
    expect(error.code).toBe('timeout');
    expect(gitlab.requests).toEqual([]);
  });

  it('supports repositories on configured GitLab hosts only', () => {
    expect(writer().supports(REPO_URL)).toBe(true);
    expect(writer().supports('https://github.com/a/b')).toBe(false);
    expect(writer().supports('https://git.example.test/a/b.git')).toBe(false);
    expect(writer().supports('not a url')).toBe(false);
  });
});
