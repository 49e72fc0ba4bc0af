import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import { GithubContract } from './githubContract';
import {
  API,
  blobSha,
  FakeGithub,
  serveFakeGithub,
  TOKEN,
} from './standInGithub';
import { FILE, VALUES } from './valuesFileChange';

// Every answer FakeGithub gives, success and error, held to GitHub's own OpenAPI
// description (@octokit/openapi): the schema of that operation, method and status.

const server = setupServer();
registerMswTestHooks(server);

const contract = GithubContract.load();
const R = '/repos/{owner}/{repo}';
const REPO = `${API}/repos/checkout/service-a-config`;

let github: FakeGithub;
beforeEach(() => {
  github = serveFakeGithub(server);
});

async function call(
  method: string,
  url: string,
  body?: unknown,
  token = TOKEN,
) {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `token ${token}`,
      accept: 'application/vnd.github+json',
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}

/**
 * Calls the fake and checks its answer: the status expected, and a body valid
 * against the spec's schema for `operation` (method and path template) at that
 * status. `fallback` names the components.responses entry that stands for a
 * status GitHub answers but does not document for that operation.
 */
async function answers(
  operation: string,
  request: { url: string; body?: unknown; token?: string },
  status: number,
  fallback?: string,
) {
  const [method, path] = operation.split(' ');
  const answer = await call(method, request.url, request.body, request.token);
  expect(answer.status).toBe(status);
  expect(
    contract.responseErrors(method, path, status, answer.body, fallback),
  ).toEqual([]);
  return answer.body;
}

const put = (text: string, extra: object = {}) => ({
  message: 'write',
  branch: 'main',
  content: Buffer.from(text).toString('base64'),
  ...extra,
});

describe('FakeGithub against GitHub’s OpenAPI description', () => {
  it('GET contents: 200 for a file, 404 for none', async () => {
    const file = await answers(
      `GET ${R}/contents/{path}`,
      { url: `${REPO}/contents/${FILE}?ref=main` },
      200,
    );
    expect(Buffer.from(file.content, 'base64').toString()).toBe(VALUES);
    expect(file.sha).toBe(blobSha(VALUES));
    await answers(
      `GET ${R}/contents/{path}`,
      { url: `${REPO}/contents/nothing.yaml` },
      404,
    );
  });

  it('PUT contents: 200 for an update, 201 for a create, 409 for a stale sha, 404 for no branch', async () => {
    const updated = await answers(
      `PUT ${R}/contents/{path}`,
      {
        url: `${REPO}/contents/${FILE}`,
        body: put('a: 1\n', { sha: blobSha(VALUES) }),
      },
      200,
    );
    expect(updated.commit.sha).toBe(github.branches.get('main'));
    expect(updated.content).toMatchObject({
      path: FILE,
      sha: blobSha('a: 1\n'),
    });
    await answers(
      `PUT ${R}/contents/{path}`,
      { url: `${REPO}/contents/new.yaml`, body: put('b: 2\n') },
      201,
    );
    await answers(
      `PUT ${R}/contents/{path}`,
      {
        url: `${REPO}/contents/${FILE}`,
        body: put('c: 3\n', { sha: blobSha(VALUES) }),
      },
      409,
    );
    await answers(
      `PUT ${R}/contents/{path}`,
      {
        url: `${REPO}/contents/${FILE}`,
        body: put('c: 3\n', { branch: 'nowhere' }),
      },
      404,
    );
  });

  it('GET commits: 200, newest first, each with its parent', async () => {
    github.write('main', FILE, text => `${text}# more\n`);
    const commits = await answers(
      `GET ${R}/commits`,
      { url: `${REPO}/commits?sha=main&per_page=100` },
      200,
    );
    expect(commits.map((c: any) => c.commit.message)).toEqual([
      `edit ${FILE}`,
      'commit 1',
    ]);
    expect(commits[0].parents).toEqual([
      expect.objectContaining({ sha: commits[1].sha }),
    ]);
  });

  it('GET git/ref: 200 for a branch, 404 for none', async () => {
    const ref = await answers(
      `GET ${R}/git/ref/{ref}`,
      { url: `${REPO}/git/ref/heads/main` },
      200,
    );
    expect(ref.object.sha).toBe(github.branches.get('main'));
    await answers(
      `GET ${R}/git/ref/{ref}`,
      { url: `${REPO}/git/ref/heads/nowhere` },
      404,
    );
  });

  it('POST git/refs: 201, 422 when it exists, 422 for an unknown sha', async () => {
    const sha = github.branches.get('main')!;
    const created = await answers(
      `POST ${R}/git/refs`,
      { url: `${REPO}/git/refs`, body: { ref: 'refs/heads/b', sha } },
      201,
    );
    expect(created).toMatchObject({ ref: 'refs/heads/b', object: { sha } });
    await answers(
      `POST ${R}/git/refs`,
      { url: `${REPO}/git/refs`, body: { ref: 'refs/heads/b', sha } },
      422,
    );
    await answers(
      `POST ${R}/git/refs`,
      {
        url: `${REPO}/git/refs`,
        body: { ref: 'refs/heads/c', sha: 'f'.repeat(40) },
      },
      422,
    );
  });

  it('git/commits, git/trees and PATCH git/refs: a commit of several files, 404 and 422 where GitHub answers them', async () => {
    const head = github.branches.get('main')!;
    const parent = await answers(
      `GET ${R}/git/commits/{commit_sha}`,
      { url: `${REPO}/git/commits/${head}` },
      200,
    );
    await answers(
      `GET ${R}/git/commits/{commit_sha}`,
      { url: `${REPO}/git/commits/${'f'.repeat(40)}` },
      404,
    );
    const entry = { path: 'a.yaml', mode: '100644', type: 'blob' };
    const tree = await answers(
      `POST ${R}/git/trees`,
      {
        url: `${REPO}/git/trees`,
        body: {
          base_tree: parent.tree.sha,
          tree: [{ ...entry, content: 'a: 1\n' }],
        },
      },
      201,
    );
    expect(tree.tree).toContainEqual(
      expect.objectContaining({ path: 'a.yaml', sha: blobSha('a: 1\n') }),
    );
    await answers(
      `POST ${R}/git/trees`,
      {
        url: `${REPO}/git/trees`,
        body: { base_tree: 'f'.repeat(40), tree: [{ ...entry, content: '' }] },
      },
      422,
    );
    const commit = await answers(
      `POST ${R}/git/commits`,
      {
        url: `${REPO}/git/commits`,
        body: { message: 'two files', tree: tree.sha, parents: [head] },
      },
      201,
    );
    expect(commit.parents[0].sha).toBe(head);
    await answers(
      `POST ${R}/git/commits`,
      {
        url: `${REPO}/git/commits`,
        body: { message: 'm', tree: 'f'.repeat(40), parents: [head] },
      },
      422,
    );
    // Someone moves main first: not a fast forward any more.
    github.write('main', FILE, text => `${text}# more\n`);
    await answers(
      `PATCH ${R}/git/refs/{ref}`,
      {
        url: `${REPO}/git/refs/heads/main`,
        body: { sha: commit.sha, force: false },
      },
      422,
    );
    github.branches.set('main', head);
    const moved = await answers(
      `PATCH ${R}/git/refs/{ref}`,
      {
        url: `${REPO}/git/refs/heads/main`,
        body: { sha: commit.sha, force: false },
      },
      200,
    );
    expect(moved.object.sha).toBe(commit.sha);
    expect(github.files('main')!['a.yaml']).toBe('a: 1\n');
  });

  it('pulls: POST 201 and 422, GET 200 in every state, reviewers 201 and 422', async () => {
    github.branches.set('b', github.branches.get('main')!);
    const pull = { head: 'b', base: 'main', title: 't', body: 'b' };
    const created = await answers(
      `POST ${R}/pulls`,
      { url: `${REPO}/pulls`, body: pull },
      201,
    );
    expect(created).toMatchObject({ number: 1, state: 'open' });
    await answers(
      `POST ${R}/pulls`,
      { url: `${REPO}/pulls`, body: { ...pull, head: 'nowhere' } },
      422,
    );

    const reviewers = `POST ${R}/pulls/{pull_number}/requested_reviewers`;
    const asked = await answers(
      reviewers,
      {
        url: `${REPO}/pulls/1/requested_reviewers`,
        body: { reviewers: ['alice'], team_reviewers: ['sre'] },
      },
      201,
    );
    expect(asked.requested_reviewers.map((u: any) => u.login)).toEqual([
      'alice',
    ]);
    expect(asked.requested_teams.map((t: any) => t.slug)).toEqual(['sre']);
    // Documented as 422 without a body; GitHub sends its validation error.
    github.failReviewers = true;
    await answers(
      reviewers,
      {
        url: `${REPO}/pulls/1/requested_reviewers`,
        body: { reviewers: ['x'] },
      },
      422,
      'validation_failed',
    );
    await answers(
      reviewers,
      { url: `${REPO}/pulls/9/requested_reviewers`, body: { reviewers: [] } },
      404,
      'not_found',
    );

    github.branches.set('c', github.branches.get('main')!);
    await call('POST', `${REPO}/pulls`, { ...pull, head: 'c' });
    Object.assign(github.pulls[0], {
      state: 'closed',
      merged_at: '2026-11-30T10:00:00Z',
      merge_commit_sha: 'd'.repeat(40),
    });
    const listed = await answers(
      `GET ${R}/pulls`,
      { url: `${REPO}/pulls?state=all` },
      200,
    );
    expect(
      listed.map((p: any) => [p.number, p.state, p.merged_at, p.head.label]),
    ).toEqual([
      [2, 'open', null, 'checkout:c'],
      [1, 'closed', '2026-11-30T10:00:00Z', 'checkout:b'],
    ]);
  });

  it('401 for a bad token and 404 for another repository, on every route', async () => {
    const routes: Array<[string, string, unknown?]> = [
      [`GET ${R}/contents/{path}`, `/contents/${FILE}`],
      [`PUT ${R}/contents/{path}`, `/contents/${FILE}`, put('x')],
      [`GET ${R}/commits`, '/commits'],
      [`GET ${R}/git/ref/{ref}`, '/git/ref/heads/main'],
      [`POST ${R}/git/refs`, '/git/refs', { ref: 'refs/heads/x', sha: 'f' }],
      [`POST ${R}/pulls`, '/pulls', { head: 'x', base: 'main' }],
      [`GET ${R}/pulls`, '/pulls'],
      [
        `POST ${R}/pulls/{pull_number}/requested_reviewers`,
        '/pulls/1/requested_reviewers',
        { reviewers: [] },
      ],
    ];
    for (const [operation, tail, body] of routes) {
      // GitHub documents 401 for few operations; every one answers it the same.
      await answers(
        operation,
        { url: `${REPO}${tail}`, body, token: 'ghp-wrong' },
        401,
        'requires_authentication',
      );
      await answers(
        operation,
        { url: `${API}/repos/checkout/other${tail}`, body },
        404,
        'not_found',
      );
    }
    expect(github.requests).toHaveLength(routes.length * 2);
    expect(github.branches.has('x')).toBe(false);
  });

  it('fails an answer that lacks a field the spec requires', async () => {
    const { body } = await call('GET', `${REPO}/contents/${FILE}`);
    delete body.sha;
    expect(
      contract.responseErrors('GET', `${R}/contents/{path}`, 200, body),
    ).toContainEqual(expect.stringContaining("required property 'sha'"));
    const { body: ref } = await call('GET', `${REPO}/git/ref/heads/main`);
    ref.object.sha = 'short';
    expect(
      contract.responseErrors('GET', `${R}/git/ref/{ref}`, 200, ref),
    ).not.toEqual([]);
  });
});
