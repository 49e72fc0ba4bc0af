import { ConfigReader } from '@backstage/config';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import { createHash } from 'node:crypto';
import { GithubConfigRepoWriter } from '../GithubConfigRepoWriter';
import { changeIn, FILE, VALUES } from './valuesFileChange';
import {
  API,
  basicError,
  commitItem,
  contentFile,
  FakePull,
  fileCommit,
  gitCommit,
  gitRef,
  gitTree,
  HOST,
  OWNER,
  pullRequest,
  pullRequestSimple,
  REPO,
  reviewRequest,
  validationError,
} from './githubBodies';

export { API, HOST };
export const TOKEN = 'ghp-secret-token-123';
export const REPO_URL = `https://${HOST}/${OWNER}/${REPO}.git`;

export function blobSha(content: string) {
  const bytes = Buffer.from(content);
  return createHash('sha1')
    .update(`blob ${bytes.length}\0`)
    .update(bytes)
    .digest('hex');
}

const json = (
  body: unknown,
  status: number,
  headers?: Record<string, string>,
) => HttpResponse.json(body as any, { status, headers });
const notFound = () => json(basicError(404, 'Not Found'), 404);

/**
 * A stand-in for GitHub's REST API over an in-memory repository: commits are file
 * snapshots, branches point at commits, blob shas are Git's, and writes are refused
 * with 409 when the sent blob sha is stale, as GitHub does. Every answer is shaped
 * as GitHub's OpenAPI description says (githubBodies.ts; standInGithub.contract.test.ts
 * holds it to that).
 */
export class FakeGithub {
  commits = new Map<string, Record<string, string>>();
  /** Each commit's message, parent and time, for the commits API. */
  history = new Map<string, { message: string; parent?: string; date: Date }>();
  branches = new Map<string, string>();
  /** Trees made by POST git/trees: file snapshots, as commits are. */
  trees = new Map<string, Record<string, string>>();
  requests: Array<{
    method: string;
    path: string;
    auth: string | null;
    body?: any;
  }> = [];
  /** Pull requests by number - 1; tests set state, merged_at, merge_commit_sha. */
  pulls: FakePull[] = [];
  reviewRequests: any[] = [];
  /** Runs once before the next write: another writer committing first. */
  beforeWrite?: () => void;
  failReviewers = false;
  private count = 0;

  constructor(files: Record<string, string>) {
    this.branches.set('main', this.addCommit(files));
  }

  addCommit(
    files: Record<string, string>,
    message = `commit ${this.count + 1}`,
    parent?: string,
  ) {
    const sha = createHash('sha1')
      .update(`commit ${++this.count}`)
      .digest('hex');
    this.commits.set(sha, { ...files });
    this.history.set(sha, { message, parent, date: new Date() });
    return sha;
  }

  files(ref: string) {
    return this.commits.get(this.branches.get(ref) ?? ref);
  }

  /** A commit's tree: a sha of its own, from the commit's. */
  treeOf(commit: string) {
    const sha = createHash('sha1').update(`tree ${commit}`).digest('hex');
    this.trees.set(sha, this.commits.get(commit)!);
    return sha;
  }

  /** Whether `ancestor` is `commit` or one of its parents' ancestors. */
  private isAncestor(ancestor: string, commit?: string): boolean {
    for (let sha = commit; sha; sha = this.history.get(sha)?.parent) {
      if (sha === ancestor) return true;
    }
    return false;
  }

  /** Another writer commits straight to a branch. */
  write(branch: string, file: string, edit: (text: string) => string) {
    const files = this.files(branch)!;
    this.branches.set(
      branch,
      this.addCommit(
        { ...files, [file]: edit(files[file]) },
        `edit ${file}`,
        this.branches.get(branch),
      ),
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
      return json(basicError(401, `Bad credentials: ${auth}`), 401);
    }
    const [, , owner, repo, kind, ...rest] = path.split('/');
    if (`${owner}/${repo}` !== `${OWNER}/${REPO}`) return notFound();
    const tail = rest.map(decodeURIComponent).join('/');
    const route = `${request.method} ${kind}`;

    if (route === 'GET contents') {
      const ref = url.searchParams.get('ref') ?? 'main';
      const content = this.files(ref)?.[tail];
      if (content === undefined) return notFound();
      return json(contentFile(tail, content, blobSha(content), ref), 200);
    }
    if (route === 'PUT contents') {
      const race = this.beforeWrite;
      this.beforeWrite = undefined;
      race?.();
      const files = this.files(body.branch);
      if (!files)
        return json(basicError(404, `Branch ${body.branch} not found`), 404);
      const created = files[tail] === undefined;
      if (!created && body.sha !== blobSha(files[tail])) {
        return json(basicError(409, `${tail} does not match ${body.sha}`), 409);
      }
      const content = Buffer.from(body.content, 'base64').toString('utf8');
      const parent = this.branches.get(body.branch);
      const sha = this.addCommit(
        { ...files, [tail]: content },
        body.message,
        parent,
      );
      this.branches.set(body.branch, sha);
      // As GitHub: 201 when the file is new, 200 when it is updated.
      return json(
        fileCommit(
          created,
          {
            path: tail,
            text: content,
            sha: blobSha(content),
            branch: body.branch,
          },
          { sha, ...this.history.get(sha)! },
        ),
        created ? 201 : 200,
      );
    }
    if (route === 'GET commits' && rest.length === 0) {
      // As GitHub: the branch's history newest first, `since` by commit date, pages
      // linked by a Link header.
      const since = new Date(url.searchParams.get('since') ?? 0);
      const perPage = Number(url.searchParams.get('per_page') ?? 30);
      const page = Number(url.searchParams.get('page') ?? 1);
      const all = [];
      let sha = this.branches.get(url.searchParams.get('sha') ?? 'main');
      for (; sha; sha = this.history.get(sha)!.parent) {
        const commit = { sha, ...this.history.get(sha)! };
        if (commit.date < since) break;
        all.push(commitItem(commit));
      }
      const next = new URL(url);
      next.searchParams.set('page', String(page + 1));
      return json(
        all.slice((page - 1) * perPage, page * perPage),
        200,
        page * perPage < all.length ? { link: `<${next}>; rel="next"` } : {},
      );
    }
    if (route === 'GET git' && rest[0] === 'ref') {
      const branch = tail.replace(/^ref\/heads\//, '');
      const sha = this.branches.get(branch);
      if (!sha) return notFound();
      return json(gitRef(`refs/heads/${branch}`, sha), 200);
    }
    if (route === 'GET git' && rest[0] === 'commits') {
      const sha = rest[1];
      if (!this.commits.has(sha)) return notFound();
      const tree = this.treeOf(sha);
      return json(gitCommit({ sha, ...this.history.get(sha)!, tree }), 200);
    }
    if (route === 'POST git' && rest[0] === 'trees') {
      const base = this.trees.get(body.base_tree);
      if (!base) return json(validationError('Invalid tree info'), 422);
      const files = { ...base };
      for (const entry of body.tree) files[entry.path] = entry.content;
      const sha = createHash('sha1')
        .update(JSON.stringify(files))
        .digest('hex');
      this.trees.set(sha, files);
      const listed = Object.entries(files).map(([file, text]) => ({
        path: file,
        size: Buffer.byteLength(text),
        sha: blobSha(text),
      }));
      return json(gitTree(sha, listed), 201, {
        location: `${API}/repos/${OWNER}/${REPO}/git/trees/${sha}`,
      });
    }
    if (route === 'POST git' && rest[0] === 'commits') {
      const files = this.trees.get(body.tree);
      const [parent] = body.parents ?? [];
      if (!files || (parent && !this.commits.has(parent)))
        return json(validationError('Tree SHA does not exist'), 422);
      const sha = this.addCommit(files, body.message, parent);
      return json(
        gitCommit({ sha, ...this.history.get(sha)!, tree: body.tree }),
        201,
        { location: `${API}/repos/${OWNER}/${REPO}/git/commits/${sha}` },
      );
    }
    if (route === 'PATCH git' && rest[0] === 'refs') {
      const race = this.beforeWrite;
      this.beforeWrite = undefined;
      race?.();
      const branch = tail.replace(/^refs\/heads\//, '');
      const current = this.branches.get(branch);
      if (!current || !this.commits.has(body.sha))
        return json(validationError('Reference does not exist'), 422);
      // As GitHub: without `force`, only a fast forward moves the branch.
      if (!body.force && !this.isAncestor(current, body.sha))
        return json(validationError('Update is not a fast forward'), 422);
      this.branches.set(branch, body.sha);
      return json(gitRef(`refs/heads/${branch}`, body.sha), 200);
    }
    if (route === 'POST git' && rest[0] === 'refs') {
      const branch = body.ref.replace(/^refs\/heads\//, '');
      if (this.branches.has(branch))
        return json(validationError('Reference already exists'), 422);
      // As GitHub: an unknown sha is a 422, not a 404.
      if (!this.commits.has(body.sha))
        return json(validationError('Object does not exist'), 422);
      this.branches.set(branch, body.sha);
      return json(gitRef(body.ref, body.sha), 201, {
        location: `${API}/repos/${OWNER}/${REPO}/git/${body.ref}`,
      });
    }
    if (route === 'POST pulls' && rest.length === 0) {
      const [headSha, baseSha] = [body.head, body.base].map(b =>
        this.branches.get(b),
      );
      if (!headSha || !baseSha)
        return json(
          validationError('Validation Failed', [
            {
              resource: 'PullRequest',
              code: 'invalid',
              field: headSha ? 'base' : 'head',
            },
          ]),
          422,
        );
      const pull: FakePull = {
        number: this.pulls.length + 1,
        head: body.head,
        headSha,
        base: body.base,
        baseSha,
        title: body.title,
        body: body.body,
        state: 'open',
        merged_at: null,
        // An open pull request has a test-merge commit too: not a merge.
        merge_commit_sha: 'e'.repeat(40),
      };
      this.pulls.push(pull);
      return json(pullRequest(pull), 201, {
        location: `${API}/repos/${OWNER}/${REPO}/pulls/${pull.number}`,
      });
    }
    if (route === 'GET pulls' && rest.length === 0) {
      // As GitHub: open ones unless `state` says otherwise, newest first.
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const answer = this.pulls
        .filter(p => !head || `${OWNER}:${p.head}` === head)
        .filter(p => state === 'all' || p.state === state)
        .map(pullRequestSimple)
        .reverse();
      return json(answer, 200);
    }
    if (route === 'POST pulls' && rest[1] === 'requested_reviewers') {
      const pull = this.pulls[Number(rest[0]) - 1];
      if (!pull) return notFound();
      if (this.failReviewers)
        return json(
          validationError('Reviews may only be requested from collaborators.'),
          422,
        );
      this.reviewRequests.push({ pull: Number(rest[0]), ...body });
      pull.reviewers = [...(pull.reviewers ?? []), ...(body.reviewers ?? [])];
      pull.teams = [...(pull.teams ?? []), ...(body.team_reviewers ?? [])];
      return json(reviewRequest(pull), 201);
    }
    return notFound();
  });

  writes() {
    return this.requests.filter(r => r.method !== 'GET');
  }
}

/** A FakeGithub holding FILE and a README on main, answering for `server`. */
export function serveFakeGithub(server: SetupServer) {
  const github = new FakeGithub({ [FILE]: VALUES, 'README.md': '# config\n' });
  server.use(github.handler);
  return github;
}

export function writer(token = TOKEN, timeoutMs = 2000) {
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

export const change = changeIn(REPO_URL);
