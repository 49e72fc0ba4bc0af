import { createHash } from 'node:crypto';
import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  GitopsSourceError,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { GithubConfigRepoWriter } from './GithubConfigRepoWriter';

const HOST = 'ghe.example.test';
const API = `https://${HOST}/api/v3`;
const TOKEN = 'ghp-secret-token-123';
const REPO_URL = `https://${HOST}/checkout/service-a-config.git`;
const FILE = 'envs/prod/values.yaml';
const VALUES = [
  '# service-a in prod',
  'image:',
  '  repository: registry.example.com/checkout/service-a',
  '  tag: "1.0.0" # promoted by gitops',
  'replicas: 3',
  '',
].join('\n');

const setTag = (tag: string) => (text: string) =>
  text.replace(/tag: "[^"]*"/, `tag: "${tag}"`);

function blobSha(content: string) {
  const bytes = Buffer.from(content);
  return createHash('sha1')
    .update(`blob ${bytes.length}\0`)
    .update(bytes)
    .digest('hex');
}

const notFound = () =>
  HttpResponse.json({ message: 'Not Found' }, { status: 404 });

/**
 * A stand-in for GitHub's REST API over an in-memory repository: commits are file
 * snapshots, branches point at commits, blob shas are Git's, and writes are refused
 * with 409 when the sent blob sha is stale, as GitHub does.
 */
class FakeGithub {
  commits = new Map<string, Record<string, string>>();
  branches = new Map<string, string>();
  requests: Array<{
    method: string;
    path: string;
    auth: string | null;
    body?: any;
  }> = [];
  pulls: any[] = [];
  reviewRequests: any[] = [];
  /** Runs once before the next write: another writer committing first. */
  beforeWrite?: () => void;
  failReviewers = false;
  private count = 0;

  constructor(files: Record<string, string>) {
    this.branches.set('main', this.addCommit(files));
  }

  addCommit(files: Record<string, string>) {
    const sha = createHash('sha1')
      .update(`commit ${++this.count}`)
      .digest('hex');
    this.commits.set(sha, { ...files });
    return sha;
  }

  files(ref: string) {
    return this.commits.get(this.branches.get(ref) ?? ref);
  }

  /** Another writer commits straight to a branch. */
  write(branch: string, file: string, edit: (text: string) => string) {
    const files = this.files(branch)!;
    this.branches.set(
      branch,
      this.addCommit({ ...files, [file]: edit(files[file]) }),
    );
  }

  handler = http.all(`${API}/*`, async ({ request }) => {
    const url = new URL(request.url);
    const path = url.pathname.slice(new URL(API).pathname.length);
    const body: any =
      request.method === 'GET'
        ? undefined
        : await request.json().catch(() => 0);
    const auth = request.headers.get('authorization');
    this.requests.push({ method: request.method, path, auth, body });
    if (auth !== `token ${TOKEN}`) {
      // Echoes the token to prove the writer never repeats what GitHub says.
      return HttpResponse.json(
        { message: `Bad credentials: ${auth}` },
        { status: 401 },
      );
    }
    const [, , owner, repo, kind, ...rest] = path.split('/');
    if (`${owner}/${repo}` !== 'checkout/service-a-config') return notFound();
    const tail = rest.map(decodeURIComponent).join('/');
    const route = `${request.method} ${kind}`;

    if (route === 'GET contents') {
      const content = this.files(url.searchParams.get('ref') ?? 'main')?.[tail];
      if (content === undefined) return notFound();
      return HttpResponse.json({
        type: 'file',
        encoding: 'base64',
        path: tail,
        name: tail.split('/').pop(),
        sha: blobSha(content),
        content: Buffer.from(content).toString('base64'),
      });
    }
    if (route === 'PUT contents') {
      const race = this.beforeWrite;
      this.beforeWrite = undefined;
      race?.();
      const files = this.files(body.branch);
      if (!files) return notFound();
      if (files[tail] !== undefined && body.sha !== blobSha(files[tail])) {
        return HttpResponse.json(
          { message: `${tail} does not match ${body.sha}` },
          { status: 409 },
        );
      }
      const content = Buffer.from(body.content, 'base64').toString('utf8');
      const sha = this.addCommit({ ...files, [tail]: content });
      this.branches.set(body.branch, sha);
      return HttpResponse.json(
        { content: { path: tail, sha: blobSha(content) }, commit: { sha } },
        { status: 200 },
      );
    }
    if (route === 'GET git' && rest[0] === 'ref') {
      const branch = tail.replace(/^ref\/heads\//, '');
      const sha = this.branches.get(branch);
      if (!sha) return notFound();
      return HttpResponse.json({
        ref: `refs/heads/${branch}`,
        object: { type: 'commit', sha },
      });
    }
    if (route === 'POST git' && rest[0] === 'refs') {
      const branch = body.ref.replace(/^refs\/heads\//, '');
      if (this.branches.has(branch))
        return HttpResponse.json(
          { message: 'Reference already exists' },
          { status: 422 },
        );
      if (!this.commits.has(body.sha)) return notFound();
      this.branches.set(branch, body.sha);
      return HttpResponse.json(
        { ref: body.ref, object: { type: 'commit', sha: body.sha } },
        { status: 201 },
      );
    }
    if (route === 'POST pulls' && rest.length === 0) {
      if (!this.branches.has(body.head) || !this.branches.has(body.base))
        return HttpResponse.json(
          { message: 'Validation Failed' },
          { status: 422 },
        );
      const number = this.pulls.push(body);
      return HttpResponse.json(
        {
          number,
          html_url: `https://${HOST}/checkout/service-a-config/pull/${number}`,
        },
        { status: 201 },
      );
    }
    if (route === 'GET pulls' && rest.length === 0) {
      // As GitHub: open ones unless `state` says otherwise, newest first.
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const answer = this.pulls
        .map((p, i) => ({
          number: i + 1,
          html_url: `https://${HOST}/checkout/service-a-config/pull/${i + 1}`,
          state: p.state ?? 'open',
          merged_at: p.merged_at ?? null,
          // An open pull request has a test-merge commit too: not a merge.
          merge_commit_sha: p.merge_commit_sha ?? 'e'.repeat(40),
          head: { ref: p.head, label: `checkout:${p.head}` },
        }))
        .filter(p => !head || p.head.label === head)
        .filter(p => state === 'all' || p.state === state)
        .reverse();
      return HttpResponse.json(answer);
    }
    if (route === 'POST pulls' && rest[1] === 'requested_reviewers') {
      if (this.failReviewers)
        return HttpResponse.json(
          { message: 'Reviews may only be requested from collaborators.' },
          { status: 422 },
        );
      this.reviewRequests.push({ pull: Number(rest[0]), ...body });
      return HttpResponse.json({}, { status: 201 });
    }
    return notFound();
  });

  writes() {
    return this.requests.filter(r => r.method !== 'GET');
  }
}

const server = setupServer();
registerMswTestHooks(server);

let github: FakeGithub;
beforeEach(() => {
  github = new FakeGithub({ [FILE]: VALUES, 'README.md': '# config\n' });
  server.use(github.handler);
});

function writer(token = TOKEN, timeoutMs = 2000) {
  return GithubConfigRepoWriter.fromConfig(
    new ConfigReader({
      integrations: {
        github: [{ host: HOST, apiBaseUrl: API, token }],
        gitlab: [
          {
            host: 'gitlab.example.test',
            apiBaseUrl: 'https://gitlab.example.test/api/v4',
            token: 'glpat-x',
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

describe('GithubConfigRepoWriter', () => {
  it('reads the file at the head of the branch', async () => {
    github.write('main', FILE, setTag('0.9.0'));
    await expect(
      writer().read({ repoURL: REPO_URL, branch: 'main', file: FILE }),
    ).resolves.toBe(setTag('0.9.0')(VALUES));
  });

  it('commits the edit with the blob sha, the author and the token', async () => {
    const head = github.branches.get('main');
    const result = await writer().commit(change());

    const [put] = github.writes();
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(
      `/repos/checkout/service-a-config/contents/${encodeURIComponent(FILE)}`,
    );
    expect(put.body).toMatchObject({
      branch: 'main',
      sha: blobSha(VALUES),
      message: 'Promote service-a 1.1.0 to prod',
      author: { name: 'Jane Doe', email: 'jane@example.com' },
      committer: { name: 'Jane Doe', email: 'jane@example.com' },
    });
    const sent = Buffer.from(put.body.content, 'base64').toString('utf8');
    expect(changedLines(VALUES, sent)).toEqual([3]);
    expect(sent.split('\n')[3]).toBe('  tag: "1.1.0" # promoted by gitops');

    // Both requests (read, write) carried the integration's token.
    expect(github.requests.map(r => r.auth)).toEqual([
      `token ${TOKEN}`,
      `token ${TOKEN}`,
    ]);
    expect(github.branches.get('main')).not.toBe(head);
    expect(result).toEqual({
      before: VALUES,
      after: sent,
      commit: github.branches.get('main'),
    });
    expect(github.files('main')![FILE]).toBe(sent);
    expect(github.files('main')!['README.md']).toBe('# config\n');
  });

  it('re-reads and re-applies the edit when someone wrote first', async () => {
    github.beforeWrite = () =>
      github.write('main', FILE, text =>
        text.replace('replicas: 3', 'replicas: 5'),
      );

    const result = await writer().commit(change());

    const puts = github.writes();
    expect(puts).toHaveLength(2);
    expect(puts[0].body.sha).toBe(blobSha(VALUES));
    const theirs = VALUES.replace('replicas: 3', 'replicas: 5');
    expect(puts[1].body.sha).toBe(blobSha(theirs));
    // Both changes are kept: no lost update.
    const final = github.files('main')![FILE];
    expect(final).toBe(setTag('1.1.0')(theirs));
    expect(changedLines(VALUES, final)).toEqual([3, 4]);
    expect(result).toEqual({
      before: theirs,
      after: final,
      commit: github.branches.get('main'),
    });
  });

  it('gives up with a conflict after three refused writes', async () => {
    let n = 0;
    const race = () => {
      github.write('main', FILE, text => `${text}# other writer ${++n}\n`);
      github.beforeWrite = race;
    };
    github.beforeWrite = race;

    const error = await failure(writer().commit(change()));
    expect(error.code).toBe('upstream-error');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain('checkout/service-a-config');
    expect(github.writes()).toHaveLength(3);
    expect(github.files('main')![FILE]).not.toContain('1.1.0');
  });

  it('opens a pull request from a new branch and asks for reviews', async () => {
    const base = github.branches.get('main')!;
    const result = await writer().openPullRequest(change(), {
      branch: 'gitops/promote-service-a-prod',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
      reviewers: { users: ['alice', 'bob'], teams: ['checkout/sre', 'qa'] },
    });

    const [ref, put, pull, reviewers] = github.writes();
    expect(ref).toMatchObject({
      path: '/repos/checkout/service-a-config/git/refs',
      body: { ref: 'refs/heads/gitops/promote-service-a-prod', sha: base },
    });
    expect(put.body).toMatchObject({
      branch: 'gitops/promote-service-a-prod',
      sha: blobSha(VALUES),
    });
    expect(pull.body).toEqual({
      head: 'gitops/promote-service-a-prod',
      base: 'main',
      title: 'Promote service-a 1.1.0 to prod',
      body: 'From staging, checked by CI.',
    });
    expect(reviewers.path).toBe(
      '/repos/checkout/service-a-config/pulls/1/requested_reviewers',
    );
    expect(reviewers.body).toEqual({
      reviewers: ['alice', 'bob'],
      team_reviewers: ['sre', 'qa'],
    });

    // The change is on the new branch only.
    expect(github.branches.get('main')).toBe(base);
    expect(github.files('main')![FILE]).toBe(VALUES);
    const branch = github.files('gitops/promote-service-a-prod')!;
    expect(changedLines(VALUES, branch[FILE])).toEqual([3]);
    expect(result).toEqual({
      before: VALUES,
      after: branch[FILE],
      commit: github.branches.get('gitops/promote-service-a-prod'),
      pullRequestUrl: `https://${HOST}/checkout/service-a-config/pull/1`,
    });
  });

  it('keeps the pull request when GitHub refuses the reviewers', async () => {
    github.failReviewers = true;
    const result = await writer().openPullRequest(change(), {
      branch: 'promote',
      title: 't',
      body: 'b',
      reviewers: { users: ['jane'], teams: [] },
    });
    expect(result.pullRequestUrl).toBe(
      `https://${HOST}/checkout/service-a-config/pull/1`,
    );
    expect(github.pulls).toHaveLength(1);
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
    expect(github.requests.length).toBeGreaterThan(0);
    expect(github.writes()).toEqual([]);
    expect([...github.branches.keys()]).toEqual(['main']);
  });

  it('tells the state of the pull request opened from a branch: none, open, merged (with its merge commit), closed', async () => {
    const state = (branch: string) =>
      writer().pullRequestState({ repoURL: REPO_URL, branch });
    await expect(state('gitops/nothing-yet')).resolves.toEqual({
      state: 'none',
    });
    for (const branch of ['gitops/open', 'gitops/merged', 'gitops/closed']) {
      await writer().openPullRequest(change(setTag(branch.slice(7))), {
        branch,
        title: 't',
        body: 'b',
        reviewers: { users: [], teams: [] },
      });
    }
    Object.assign(github.pulls[1], {
      state: 'closed',
      merged_at: '2026-11-30T10:00:00Z',
      merge_commit_sha: 'd'.repeat(40),
    });
    Object.assign(github.pulls[2], { state: 'closed' });
    const url = (n: number) =>
      `https://${HOST}/checkout/service-a-config/pull/${n}`;
    await expect(state('gitops/open')).resolves.toEqual({
      state: 'open',
      url: url(1),
    });
    await expect(state('gitops/merged')).resolves.toEqual({
      state: 'merged',
      url: url(2),
      commit: 'd'.repeat(40),
    });
    await expect(state('gitops/closed')).resolves.toEqual({
      state: 'closed',
      url: url(3),
    });
  });

  it('reports a missing file, branch or repository as not-found', async () => {
    let error = await failure(
      writer().commit({ ...change(), file: 'envs/qa/values.yaml' }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('envs/qa/values.yaml');
    expect(error.message).toContain('checkout/service-a-config');

    error = await failure(writer().commit({ ...change(), branch: 'nope' }));
    expect(error.code).toBe('not-found');

    error = await failure(
      writer().read({
        repoURL: `https://${HOST}/checkout/other`,
        branch: 'main',
        file: FILE,
      }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('checkout/other');
    expect(github.writes()).toEqual([]);
  });

  it('reports a refused token as unauthorized without repeating it', async () => {
    const error = await failure(writer('ghp-revoked-token').commit(change()));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain('checkout/service-a-config');
    expect(error.message).not.toContain('ghp-revoked-token');
    expect(github.requests).toHaveLength(1);
  });

  it('times out a request that hangs', async () => {
    server.use(http.get(`${API}/*`, () => delay('infinite')));
    const error = await failure(writer(TOKEN, 100).commit(change()));
    expect(error.code).toBe('timeout');
  });

  it('supports repositories on configured GitHub hosts only', () => {
    expect(writer().supports(REPO_URL)).toBe(true);
    // Backstage always configures github.com (anonymous when no token is set).
    expect(writer().supports('https://github.com/a/b')).toBe(true);
    expect(writer().supports('https://gitlab.example.test/a/b')).toBe(false);
    expect(writer().supports('https://git.example.test/a/b.git')).toBe(false);
    expect(writer().supports('not a url')).toBe(false);
  });
});
