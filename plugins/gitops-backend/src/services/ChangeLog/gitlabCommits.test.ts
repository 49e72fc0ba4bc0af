import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import {
  GitCredentialsResolver,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { delay, http } from 'msw';
import { setupServer } from 'msw/node';
import { AppCommit, AppHistory, PEOPLE } from './__testUtils__/appHistory';
import {
  BASE,
  FakeGitlabApp,
  gitlabIntegrations,
  PROJECT_WEB,
  REPO_URL,
  serveGitlabApp,
} from './__testUtils__/standInGitlabApp';
import { ChangeLogService } from './ChangeLogService';
import { GitlabCommits } from './gitlabCommits';

// GitlabCommits against a stand-in of GitLab's REST API (v4), shaped after GitLab's
// documentation (see standInGitlabApp.ts), then ChangeLogService reading through it.

const server = setupServer();
registerMswTestHooks(server);

const signal = new AbortController().signal;
const source = (token?: string, timeoutMs = 2000) =>
  new GitlabCommits(gitlabIntegrations(token), timeoutMs);

const MERGE_12 = [
  "Merge branch 'cart' into 'main'",
  '',
  'Add the cart',
  '',
  'Closes #45',
  '',
  'See merge request checkout/service-a!12',
].join('\n');

let history: AppHistory;
let gitlab: FakeGitlabApp;
let v1: string;
let squashed: string;
let merge12: string;
let bump: string;
let side: string;
beforeEach(() => {
  history = new AppHistory();
  v1 = history.commit('Add the service skeleton');
  history.tag('v1.0.0', v1);
  // A merge request squashed, then merged with a merge commit: GitLab's default.
  squashed = history.commit('Add the cart', {
    branch: 'cart',
    parents: [v1],
    author: PEOPLE.bob,
  });
  merge12 = history.commit(MERGE_12, {
    parents: [v1, squashed],
    author: PEOPLE.bob,
  });
  bump = history.commit('OPS-9 bump dependencies', { author: PEOPLE.ci });
  history.tag('v1.1.0', bump, 'Release 1.1.0');
  side = history.commit('Hotfix the header', {
    branch: 'hotfix',
    parents: [v1],
  });
  gitlab = serveGitlabApp(server, history);
});

const commit = (sha: string) => history.commits.get(sha)!;
/** What GitlabCommits makes of a commit GitLab lists. */
const raw = (c: AppCommit) => ({
  sha: c.sha,
  message: c.message,
  author: c.author.name,
  // When it landed (committed_date), not when it was written (a day before).
  date: c.date.toISOString(),
  url: `${PROJECT_WEB}/-/commit/${c.sha}`,
});
const compares = (...pairs: Array<[string, string]>) =>
  pairs.map(([from, to]) => ({ from, to, straight: 'false' }));

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(GitopsSourceError);
  return error as GitopsSourceError;
}

describe('GitlabCommits.resolve', () => {
  it('resolves a short SHA, a lightweight tag and an annotated one (to its commit)', async () => {
    expect(
      await source().resolve(REPO_URL, { commit: bump.slice(0, 7) }, signal),
    ).toBe(bump);
    expect(await source().resolve(REPO_URL, { tag: 'v1.0.0' }, signal)).toBe(
      v1,
    );
    expect(await source().resolve(REPO_URL, { tag: 'v1.1.0' }, signal)).toBe(
      bump,
    );
    expect(gitlab.requests.map(r => r.path)).toEqual([
      `/projects/checkout/service-a/repository/commits/${bump.slice(0, 7)}`,
      '/projects/checkout/service-a/repository/tags/v1.0.0',
      '/projects/checkout/service-a/repository/tags/v1.1.0',
    ]);
  });

  it('answers undefined for a commit or tag GitLab does not know (404)', async () => {
    expect(
      await source().resolve(REPO_URL, { commit: 'abcdef1' }, signal),
    ).toBeUndefined();
    expect(
      await source().resolve(REPO_URL, { tag: 'v9.9.9' }, signal),
    ).toBeUndefined();
  });

  it('fails a refused token as unauthorized, never as an unknown commit, without repeating it', async () => {
    const error = await failure(
      source('glpat-revoked-token').resolve(
        REPO_URL,
        { tag: 'v1.0.0' },
        signal,
      ),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).toBe(
      'GitLab: checkout/service-a: 401 401 Unauthorized (Bearer ***)',
    );
  });
});

describe('GitlabCommits.compare', () => {
  it('lists the commits ahead newest first, with the merge request page', async () => {
    const comparison = await source().compare(REPO_URL, v1, bump, 250, signal);
    expect(comparison).toEqual({
      direction: 'ahead',
      commits: [bump, merge12, squashed].map(sha => raw(commit(sha))),
      total: 3,
      compareUrl: `${PROJECT_WEB}/-/compare/${v1}...${bump}`,
      pullRequestUrl: expect.any(Function),
    });
    expect(comparison.pullRequestUrl!(12)).toBe(
      `${BASE}/checkout/service-a/-/merge_requests/12`,
    );
    expect(gitlab.compares()).toEqual(compares([v1, bump], [bump, v1]));
  });

  it('caps at the newest `max`, counting every commit between', async () => {
    const tip = history.grow(250);
    const capped = await source().compare(REPO_URL, bump, tip, 100, signal);
    expect(capped.total).toBe(250);
    expect(capped.commits.map(c => c.message)).toEqual(
      Array.from({ length: 100 }, (_, i) => `change ${250 - i}`),
    );
    // GitLab lists every commit in one answer: one compare each way.
    expect(gitlab.compares()).toEqual(compares([bump, tip], [tip, bump]));
  });

  it('lists the commits that leave when `to` is behind', async () => {
    expect(await source().compare(REPO_URL, bump, v1, 250, signal)).toEqual({
      direction: 'behind',
      commits: [bump, merge12, squashed].map(sha => raw(commit(sha))),
      total: 3,
      compareUrl: `${PROJECT_WEB}/-/compare/${bump}...${v1}`,
      pullRequestUrl: expect.any(Function),
    });
  });

  it('is the same for one commit, and diverged (listing `to`’s own) across branches', async () => {
    expect(
      await source().compare(REPO_URL, bump, bump, 250, signal),
    ).toMatchObject({ direction: 'same', commits: [], total: 0 });
    expect(
      await source().compare(REPO_URL, bump, side, 250, signal),
    ).toMatchObject({
      direction: 'diverged',
      commits: [raw(commit(side))],
      total: 1,
    });
  });

  it('fails a refused token as unauthorized without repeating it', async () => {
    const error = await failure(
      source('glpat-revoked-token').compare(REPO_URL, v1, bump, 250, signal),
    );
    expect(error.code).toBe('unauthorized');
    expect(error.message).not.toContain('glpat-revoked-token');
    expect(gitlab.requests).toHaveLength(1);
  });

  it('times out a GitLab that hangs; asks nothing once the caller gave up', async () => {
    server.use(http.get(`${BASE}/api/v4/*`, () => delay('infinite')));
    const slow = await failure(
      source(undefined, 100).compare(REPO_URL, v1, bump, 250, signal),
    );
    expect(slow.code).toBe('timeout');
    expect(slow.message).toBe(
      'GitLab: checkout/service-a: timed out after 100 ms',
    );

    const given = await failure(
      source().compare(REPO_URL, v1, bump, 250, AbortSignal.abort()),
    );
    expect(given.code).toBe('timeout');
    expect(gitlab.requests).toEqual([]);
  });
});

describe('ChangeLogService over GitLab', () => {
  const service = () =>
    new ChangeLogService({
      sources: [source()],
      registries: [],
      credentials: new GitCredentialsResolver(new ConfigReader({})),
      maxCommits: 250,
      timeoutMs: 2000,
    });
  const request = {
    repository: REPO_URL,
    image: 'registry.example.com/checkout/service-a',
    from: 'v1.0.0',
    to: 'v1.1.0',
  };

  it('reads the merge requests and issue keys of the commits between two release tags', async () => {
    const listed = (sha: string) => {
      const { message, ...rest } = raw(commit(sha));
      return { ...rest, subject: message.split('\n')[0] };
    };
    expect(await service().changeLog(request)).toEqual({
      repository: REPO_URL,
      from: { version: 'v1.0.0', sha: v1, origin: 'release-tag' },
      to: { version: 'v1.1.0', sha: bump, origin: 'release-tag' },
      direction: 'ahead',
      commits: [
        { ...listed(bump), issueKeys: ['OPS-9'] },
        { ...listed(merge12), pullRequest: 12, issueKeys: ['#45'] },
        { ...listed(squashed), issueKeys: [] },
      ],
      total: 3,
      pullRequests: [
        {
          number: 12,
          title: 'Add the cart',
          author: 'Bob Chen',
          url: `${PROJECT_WEB}/-/merge_requests/12`,
        },
      ],
      issueKeys: ['OPS-9', '#45'],
      compareUrl: `${PROJECT_WEB}/-/compare/${v1}...${bump}`,
    });
  });

  it('asks GitLab once for a pair it has read', async () => {
    const changeLogs = service();
    const first = await changeLogs.changeLog(request);
    // Two tags, then a compare each way.
    expect(gitlab.requests).toHaveLength(4);
    expect(await changeLogs.changeLog(request)).toBe(first);
    expect(gitlab.requests).toHaveLength(4);
  });
});
