import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { GithubContract } from '../../ConfigRepo/__testUtils__/githubContract';
import { AppHistory, PEOPLE } from './appHistory';
import {
  API,
  FakeGithubApp,
  REPO_WEB,
  serveGithubApp,
  TOKEN,
} from './standInGithubApp';

// Every answer FakeGithubApp gives, success and error, held to GitHub's own OpenAPI
// description (@octokit/openapi): the schema of that operation, method and status.

const server = setupServer();
registerMswTestHooks(server);

const contract = GithubContract.load();
const R = '/repos/{owner}/{repo}';
const REPO = `${API}/repos/checkout/service-a`;

let history: AppHistory;
let github: FakeGithubApp;
let v1: string;
let v2: string;
let side: string;
beforeEach(() => {
  history = new AppHistory();
  v1 = history.commit('Add the service skeleton');
  history.tag('v1.0.0', v1);
  history.merge(
    'Merge pull request #12 from checkout/cart\n\nAdd the cart',
    'cart',
  );
  v2 = history.commit('Fix rounding (#14)', { author: PEOPLE.ci });
  history.tag('v1.1.0', v2, 'Release 1.1.0');
  side = history.commit('Hotfix', { branch: 'hotfix', parents: [v1] });
  github = serveGithubApp(server, history);
});

async function call(url: string, token = TOKEN) {
  const response = await fetch(url, {
    headers: {
      authorization: `token ${token}`,
      accept: 'application/vnd.github+json',
    },
  });
  return {
    status: response.status,
    link: response.headers.get('link'),
    body: await response.json(),
  };
}

/** Calls the stand-in; checks the status and the body against the spec's schema. */
async function answers(
  path: string,
  url: string,
  status: number,
  options: { token?: string; fallback?: string } = {},
) {
  const answer = await call(url, options.token);
  expect(answer.status).toBe(status);
  expect(
    contract.responseErrors('GET', path, status, answer.body, options.fallback),
  ).toEqual([]);
  return answer;
}

describe('FakeGithubApp against GitHub’s OpenAPI description', () => {
  it('GET commits/{ref}: 200 for a short SHA, a full one, a branch or a tag; 422 for none', async () => {
    const commits = `${R}/commits/{ref}`;
    const { body } = await answers(
      commits,
      `${REPO}/commits/${v2.slice(0, 7)}`,
      200,
    );
    expect(body.sha).toBe(v2);
    expect(body.commit.message).toBe('Fix rounding (#14)');
    // The release bot's email is no account's: no user.
    expect(body.author).toBeNull();
    expect(
      (await answers(commits, `${REPO}/commits/${v1}`, 200)).body.sha,
    ).toBe(v1);
    expect((await answers(commits, `${REPO}/commits/main`, 200)).body.sha).toBe(
      v2,
    );
    expect(
      (await answers(commits, `${REPO}/commits/v1.1.0`, 200)).body.sha,
    ).toBe(v2);
    const unknown = await answers(commits, `${REPO}/commits/abcdef1`, 422);
    expect(unknown.body.message).toBe('No commit found for SHA: abcdef1');
    // A tree's SHA names no commit either.
    await answers(commits, `${REPO}/commits/${history.treeOf(v1)}`, 422);
  });

  it('GET commits/{ref}: a merge is GitHub’s (web-flow), with both parents', async () => {
    const merge = history.commits.get(history.commits.get(v2)!.parents[0])!;
    const { body } = await answers(
      `${R}/commits/{ref}`,
      `${REPO}/commits/${merge.sha}`,
      200,
    );
    expect(body.parents.map((p: any) => p.sha)).toEqual(merge.parents);
    expect(body.commit.author).toEqual({
      name: 'Bob Chen',
      email: 'bob@example.com',
      date: merge.authored.toISOString().replace('.000', ''),
    });
    expect(body.commit.committer.name).toBe('GitHub');
    expect(body.author.login).toBe('bob');
    expect(body.committer.login).toBe('web-flow');
    expect(body.html_url).toBe(`${REPO_WEB}/commit/${merge.sha}`);
  });

  it('GET git/ref/{ref}: a lightweight tag names a commit, an annotated one its tag object; 404 for none', async () => {
    const ref = `${R}/git/ref/{ref}`;
    const light = await answers(ref, `${REPO}/git/ref/tags/v1.0.0`, 200);
    expect(light.body.ref).toBe('refs/tags/v1.0.0');
    expect(light.body.object).toMatchObject({ type: 'commit', sha: v1 });
    const annotated = await answers(ref, `${REPO}/git/ref/tags/v1.1.0`, 200);
    const tagSha = history.tags.get('v1.1.0')!.annotated!.sha;
    expect(annotated.body.object).toEqual({
      type: 'tag',
      sha: tagSha,
      url: `${REPO}/git/tags/${tagSha}`,
    });
    const branch = await answers(ref, `${REPO}/git/ref/heads/main`, 200);
    expect(branch.body.object.sha).toBe(v2);
    // Exact names only: v1 is no tag's, even though v1.0.0 starts with it.
    await answers(ref, `${REPO}/git/ref/tags/v1`, 404);
    await answers(ref, `${REPO}/git/ref/tags/v9.9.9`, 404);
  });

  it('GET git/tags/{tag_sha}: 200 for an annotated tag, 404 for any other SHA', async () => {
    const tags = `${R}/git/tags/{tag_sha}`;
    const tagSha = history.tags.get('v1.1.0')!.annotated!.sha;
    const { body } = await answers(tags, `${REPO}/git/tags/${tagSha}`, 200);
    expect(body).toMatchObject({
      tag: 'v1.1.0',
      sha: tagSha,
      message: 'Release 1.1.0',
      object: { type: 'commit', sha: v2 },
    });
    await answers(tags, `${REPO}/git/tags/${v2}`, 404);
  });

  it('GET compare/{basehead}: ahead, behind, identical and diverged; 404 for an unknown ref', async () => {
    const compare = `${R}/compare/{basehead}`;
    const ahead = await answers(compare, `${REPO}/compare/v1.0.0...main`, 200);
    expect(ahead.body).toMatchObject({
      status: 'ahead',
      ahead_by: 3,
      behind_by: 0,
      total_commits: 3,
      html_url: `${REPO_WEB}/compare/v1.0.0...main`,
      base_commit: { sha: v1 },
      merge_base_commit: { sha: v1 },
    });
    // Oldest first: the topic's commit, its merge, then the squash.
    expect(ahead.body.commits.map((c: any) => c.commit.message)).toEqual([
      'Work on cart',
      'Merge pull request #12 from checkout/cart\n\nAdd the cart',
      'Fix rounding (#14)',
    ]);
    const behind = await answers(compare, `${REPO}/compare/main...v1.0.0`, 200);
    expect(behind.body).toMatchObject({
      status: 'behind',
      ahead_by: 0,
      behind_by: 3,
      total_commits: 0,
      commits: [],
    });
    const same = await answers(compare, `${REPO}/compare/${v2}...v1.1.0`, 200);
    expect(same.body).toMatchObject({ status: 'identical', commits: [] });
    const diverged = await answers(
      compare,
      `${REPO}/compare/main...hotfix`,
      200,
    );
    expect(diverged.body).toMatchObject({
      status: 'diverged',
      ahead_by: 1,
      behind_by: 3,
      merge_base_commit: { sha: v1 },
    });
    expect(diverged.body.commits.map((c: any) => c.sha)).toEqual([side]);
    await answers(compare, `${REPO}/compare/main...nowhere`, 404);
  });

  it('GET compare/{basehead}: pages by per_page and page with a Link header, files on the first only; the newest 250 unpaged', async () => {
    const first = history.branches.get('main')!;
    const last = history.grow(260);
    const compare = `${R}/compare/{basehead}`;
    const url = `${REPO}/compare/${first}...${last}`;
    const page1 = await answers(compare, `${url}?per_page=100&page=1`, 200);
    expect(page1.body.commits).toHaveLength(100);
    expect(page1.body.commits[0].commit.message).toBe('change 1');
    expect(page1.body.files).toEqual([]);
    expect(page1.link).toBe(
      `<${url}?per_page=100&page=2>; rel="next", <${url}?per_page=100&page=3>; rel="last"`,
    );
    const page3 = await answers(compare, `${url}?per_page=100&page=3`, 200);
    expect(page3.body.commits.map((c: any) => c.commit.message)).toEqual(
      Array.from({ length: 60 }, (_, i) => `change ${201 + i}`),
    );
    expect(page3.body).not.toHaveProperty('files');
    expect(page3.link).toBe(
      `<${url}?per_page=100&page=2>; rel="prev", <${url}?per_page=100&page=1>; rel="first"`,
    );
    expect(page3.body.total_commits).toBe(260);
    // Default page size: 30.
    const byDefault = await answers(compare, `${url}?page=2`, 200);
    expect(byDefault.body.commits[0].commit.message).toBe('change 31');
    const unpaged = await answers(compare, url, 200);
    expect(unpaged.body.commits).toHaveLength(250);
    expect(unpaged.body.commits[249].commit.message).toBe('change 260');
    expect(unpaged.link).toBeNull();
  });

  it('401 for a bad token and 404 for another repository, on every route', async () => {
    const tagSha = history.tags.get('v1.1.0')!.annotated!.sha;
    const routes: Array<[string, string]> = [
      [`${R}/commits/{ref}`, `/commits/${v1}`],
      [`${R}/git/ref/{ref}`, '/git/ref/tags/v1.0.0'],
      [`${R}/git/tags/{tag_sha}`, `/git/tags/${tagSha}`],
      [`${R}/compare/{basehead}`, `/compare/${v1}...${v2}`],
    ];
    for (const [path, tail] of routes) {
      // GitHub documents 401 for few operations; every one answers it the same.
      const refused = await answers(path, `${REPO}${tail}`, 401, {
        token: 'ghp-wrong',
        fallback: 'requires_authentication',
      });
      expect(refused.body.message).toBe('Bad credentials: token ghp-wrong');
      await answers(path, `${API}/repos/checkout/other${tail}`, 404, {
        fallback: 'not_found',
      });
    }
    expect(github.requests).toHaveLength(routes.length * 2);
  });

  it('fails an answer that lacks a field the spec requires or has one it does not list', async () => {
    const { body } = await call(`${REPO}/compare/v1.0.0...main`);
    delete body.commits[0].sha;
    expect(
      contract.responseErrors('GET', `${R}/compare/{basehead}`, 200, body),
    ).toContainEqual(expect.stringContaining("required property 'sha'"));
    const { body: tag } = await call(`${REPO}/git/ref/tags/v1.0.0`);
    tag.peeled = v1;
    expect(
      contract.responseErrors('GET', `${R}/git/ref/{ref}`, 200, tag),
    ).toContainEqual(expect.stringContaining('peeled'));
  });
});
