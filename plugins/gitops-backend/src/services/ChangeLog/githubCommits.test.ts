import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  GitCredentialsResolver,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { delay, http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { AppCommit, AppHistory, PEOPLE } from './__testUtils__/appHistory';
import {
  API,
  FakeGithubApp,
  githubDate,
  githubIntegrations,
  HOST,
  REPO_URL,
  REPO_WEB,
  serveGithubApp,
} from './__testUtils__/standInGithubApp';
import { ChangeLogService } from './ChangeLogService';
import { GithubCommits } from './githubCommits';

// GithubCommits against a stand-in of GitHub's REST API (answers held to GitHub's
// OpenAPI description by standInGithubApp.contract.test.ts), then ChangeLogService
// reading through it.

const server = setupServer();
registerMswTestHooks(server);

const signal = new AbortController().signal;
const source = (token?: string, timeoutMs = 2000) =>
  new GithubCommits(githubIntegrations(token), timeoutMs);

let history: AppHistory;
let github: FakeGithubApp;
let v1: string;
let merge12: string;
let squash14: string;
let bump: string;
let side: string;
beforeEach(() => {
  history = new AppHistory();
  v1 = history.commit('Add the service skeleton');
  history.tag('v1.0.0', v1);
  merge12 = history.merge(
    'Merge pull request #12 from checkout/cart\n\nAdd the cart (CART-7)',
    'cart',
  );
  squash14 = history.commit('Fix the price rounding (#14)');
  bump = history.commit('Bump dependencies\n\nRefs #45, OPS-9', {
    author: PEOPLE.ci,
  });
  history.tag('v1.1.0', bump, 'Release 1.1.0');
  side = history.commit('Hotfix the header', {
    branch: 'hotfix',
    parents: [v1],
  });
  github = serveGithubApp(server, history);
});

const commit = (sha: string) => history.commits.get(sha)!;
/** What GithubCommits makes of a commit GitHub lists. */
const raw = (c: AppCommit) => ({
  sha: c.sha,
  message: c.message,
  author: c.author.name,
  // When it landed, not when it was written (a day before).
  date: githubDate(c.date),
  url: `${REPO_WEB}/commit/${c.sha}`,
});
const work = () => commit(commit(merge12).parents[1]);

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(GitopsSourceError);
  return error as GitopsSourceError;
}

describe('GithubCommits.resolve', () => {
  it('resolves a short SHA to the full one', async () => {
    expect(
      await source().resolve(REPO_URL, { commit: bump.slice(0, 7) }, signal),
    ).toBe(bump);
    expect(github.requests.map(r => r.path)).toEqual([
      `/repos/checkout/service-a/commits/${bump.slice(0, 7)}`,
    ]);
  });

  it('resolves a lightweight tag with its ref alone, an annotated one to its commit', async () => {
    expect(await source().resolve(REPO_URL, { tag: 'v1.0.0' }, signal)).toBe(
      v1,
    );
    expect(github.requests).toHaveLength(1);
    const tagSha = history.tags.get('v1.1.0')!.annotated!.sha;
    expect(await source().resolve(REPO_URL, { tag: 'v1.1.0' }, signal)).toBe(
      bump,
    );
    expect(github.requests.slice(1).map(r => r.path)).toEqual([
      '/repos/checkout/service-a/git/ref/tags/v1.1.0',
      `/repos/checkout/service-a/git/tags/${tagSha}`,
    ]);
  });

  it('answers undefined for a SHA GitHub finds no commit for (422), a tag it lacks (404)', async () => {
    expect(
      await source().resolve(REPO_URL, { commit: 'abcdef1' }, signal),
    ).toBeUndefined();
    expect(
      await source().resolve(REPO_URL, { tag: 'v1' }, signal),
    ).toBeUndefined();
    expect(
      await source().resolve(REPO_URL, { commit: history.treeOf(v1) }, signal),
    ).toBeUndefined();
  });

  it('fails a refused token as unauthorized, never as an unknown commit, without repeating it', async () => {
    const error = await failure(
      source('ghp-revoked-token').resolve(REPO_URL, { tag: 'v1.0.0' }, signal),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain('checkout/service-a');
    expect(error.message).not.toContain('ghp-revoked-token');
  });
});

describe('GithubCommits.compare', () => {
  it('lists the commits ahead newest first, each with its author, landing time and page', async () => {
    const comparison = await source().compare(REPO_URL, v1, bump, 250, signal);
    expect(comparison).toEqual({
      direction: 'ahead',
      commits: [bump, squash14, merge12, work().sha].map(sha =>
        raw(commit(sha)),
      ),
      total: 4,
      compareUrl: `${REPO_WEB}/compare/${v1}...${bump}`,
      pullRequestUrl: expect.any(Function),
    });
    expect(comparison.pullRequestUrl!(12)).toBe(
      `https://${HOST}/checkout/service-a/pull/12`,
    );
    expect(github.compares()).toEqual([
      { basehead: `${v1}...${bump}`, page: 1 },
    ]);
  });

  it('caps at the newest `max`, reading pages from the last back and no further', async () => {
    const tip = history.grow(250);
    const capped = await source().compare(REPO_URL, bump, tip, 100, signal);
    expect(capped.total).toBe(250);
    expect(capped.commits.map(c => c.message)).toEqual(
      Array.from({ length: 100 }, (_, i) => `change ${250 - i}`),
    );
    expect(github.compares().map(c => c.page)).toEqual([1, 3, 2]);

    github.requests = [];
    const few = await source().compare(REPO_URL, bump, tip, 30, signal);
    expect(few.commits.map(c => c.message)).toEqual(
      Array.from({ length: 30 }, (_, i) => `change ${250 - i}`),
    );
    // The last page holds 50: pages 2 and up to the last are left unread.
    expect(github.compares().map(c => c.page)).toEqual([1, 3]);

    const far = history.grow(200);
    github.requests = [];
    const long = await source().compare(REPO_URL, bump, far, 100, signal);
    expect(long.total).toBe(450);
    expect(long.commits[0].message).toBe('change 200');
    expect(long.commits[99].message).toBe('change 101');
    expect(github.compares().map(c => c.page)).toEqual([1, 5, 4]);
  });

  it('lists the commits that leave when `to` is behind, from the reverse comparison', async () => {
    const comparison = await source().compare(REPO_URL, bump, v1, 250, signal);
    expect(comparison).toMatchObject({
      direction: 'behind',
      commits: [bump, squash14, merge12, work().sha].map(sha =>
        raw(commit(sha)),
      ),
      total: 4,
      compareUrl: `${REPO_WEB}/compare/${bump}...${v1}`,
    });
    expect(github.compares()).toEqual([
      { basehead: `${bump}...${v1}`, page: 1 },
      { basehead: `${v1}...${bump}`, page: 1 },
    ]);

    const tip = history.grow(150);
    github.requests = [];
    const capped = await source().compare(REPO_URL, tip, bump, 100, signal);
    expect(capped).toMatchObject({ direction: 'behind', total: 150 });
    expect(capped.commits[0].message).toBe('change 150');
    expect(capped.commits[99].message).toBe('change 51');
    expect(github.compares()).toEqual([
      { basehead: `${tip}...${bump}`, page: 1 },
      { basehead: `${bump}...${tip}`, page: 1 },
      { basehead: `${bump}...${tip}`, page: 2 },
    ]);
  });

  it('is the same for one commit, and diverged (listing `to`’s own) across branches', async () => {
    expect(await source().compare(REPO_URL, bump, bump, 250, signal)).toEqual({
      direction: 'same',
      commits: [],
      total: 0,
      compareUrl: `${REPO_WEB}/compare/${bump}...${bump}`,
      pullRequestUrl: expect.any(Function),
    });
    expect(
      await source().compare(REPO_URL, bump, side, 250, signal),
    ).toMatchObject({
      direction: 'diverged',
      commits: [raw(commit(side))],
      total: 1,
    });
  });

  it('fails a refused token as unauthorized, naming the repository, not the token', async () => {
    const error = await failure(
      source('ghp-revoked-token').compare(REPO_URL, v1, bump, 250, signal),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).toBe(
      'GitHub: checkout/service-a: 401 Bad credentials: token ***',
    );
  });

  it('times out a GitHub that hangs, and reports one that cannot be reached', async () => {
    server.use(http.get(`${API}/*`, () => delay('infinite')));
    const slow = await failure(
      source(undefined, 100).compare(REPO_URL, v1, bump, 250, signal),
    );
    expect(slow.code).toBe('timeout');
    expect(slow.message).toBe(
      'GitHub: checkout/service-a: timed out after 100 ms',
    );

    server.use(http.get(`${API}/*`, () => HttpResponse.error()));
    const down = await failure(
      source().compare(REPO_URL, v1, bump, 250, signal),
    );
    expect(down.code).toBe('unreachable');
  });
});

describe('ChangeLogService over GitHub', () => {
  const service = (token?: string) =>
    new ChangeLogService({
      sources: [source(token)],
      registries: [],
      credentials: new GitCredentialsResolver(new ConfigReader({})),
      maxCommits: 250,
      timeoutMs: 2000,
    });
  const request = (to: string, from = 'v1.0.0') => ({
    repository: REPO_URL,
    image: 'registry.example.com/checkout/service-a',
    from,
    to,
  });

  it('reads the pull requests, issue keys and links of the commits between two versions', async () => {
    const short = bump.slice(0, 7);
    const log = await service().changeLog(request(short));
    const pull = (n: number) => `https://${HOST}/checkout/service-a/pull/${n}`;
    const listed = (sha: string) => {
      const { message, ...rest } = raw(commit(sha));
      return { ...rest, subject: message.split('\n')[0] };
    };
    expect(log).toEqual({
      repository: REPO_URL,
      from: { version: 'v1.0.0', sha: v1, origin: 'release-tag' },
      to: { version: short, sha: bump, origin: 'commit-tag' },
      direction: 'ahead',
      commits: [
        { ...listed(bump), issueKeys: ['OPS-9', '#45'] },
        { ...listed(squash14), pullRequest: 14, issueKeys: [] },
        { ...listed(merge12), pullRequest: 12, issueKeys: ['CART-7'] },
        { ...listed(work().sha), issueKeys: [] },
      ],
      total: 4,
      pullRequests: [
        {
          number: 14,
          title: 'Fix the price rounding',
          author: 'Alice Martin',
          url: pull(14),
        },
        {
          number: 12,
          title: 'Add the cart (CART-7)',
          author: 'Bob Chen',
          url: pull(12),
        },
      ],
      issueKeys: ['OPS-9', '#45', 'CART-7'],
      compareUrl: `${REPO_WEB}/compare/${v1}...${bump}`,
    });
  });

  it('asks GitHub once for a pair it has read, and once for a version it has resolved', async () => {
    const changeLogs = service();
    const first = await changeLogs.changeLog(request(bump.slice(0, 7)));
    expect(github.requests).toHaveLength(3);
    expect(await changeLogs.changeLog(request(bump.slice(0, 7)))).toBe(first);
    expect(github.requests).toHaveLength(3);

    // Another pair: v1.0.0's commit is known; only v1.1.0's tag and the compare.
    await changeLogs.changeLog(request('v1.1.0'));
    expect(github.requests.slice(3).map(r => r.path.split('/')[4])).toEqual([
      'git',
      'git',
      'compare',
    ]);
  });

  it('tells a refused token apart, without the token, and tries again next time', async () => {
    const changeLogs = service('ghp-revoked-token');
    const log = await changeLogs.changeLog(request('v1.1.0'));
    expect(log).toMatchObject({
      direction: 'unknown',
      commits: [],
      error: { code: 'unauthorized' },
    });
    expect(log.error!.message).not.toContain('ghp-revoked-token');
    const asked = github.requests.length;
    await changeLogs.changeLog(request('v1.1.0'));
    expect(github.requests.length).toBeGreaterThan(asked);
  });

  it('names a version no commit is known for', async () => {
    const log = await service().changeLog(request('v9.9.9'));
    expect(log.direction).toBe('unknown');
    expect(log.error).toEqual({
      code: 'not-found',
      message: expect.stringContaining('for version "v9.9.9"'),
    });
  });
});
