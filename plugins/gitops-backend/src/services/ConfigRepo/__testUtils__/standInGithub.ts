import { ConfigReader } from '@backstage/config';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import { createHash } from 'node:crypto';
import { GithubConfigRepoWriter } from '../GithubConfigRepoWriter';
import { changeIn, FILE, VALUES } from './valuesFileChange';

export const HOST = 'ghe.example.test';
export const API = `https://${HOST}/api/v3`;
export const TOKEN = 'ghp-secret-token-123';
export const REPO_URL = `https://${HOST}/checkout/service-a-config.git`;

export function blobSha(content: string) {
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
export class FakeGithub {
  commits = new Map<string, Record<string, string>>();
  /** Each commit's message, parent and time, for the commits API. */
  history = new Map<string, { message: string; parent?: string; date: Date }>();
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
      const sha = this.addCommit(
        { ...files, [tail]: content },
        body.message,
        this.branches.get(body.branch),
      );
      this.branches.set(body.branch, sha);
      return HttpResponse.json(
        { content: { path: tail, sha: blobSha(content) }, commit: { sha } },
        { status: 200 },
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
        const { message, parent, date } = this.history.get(sha)!;
        if (date < since) break;
        const who = { name: 'CI', email: 'ci@example.com', date };
        all.push({
          sha,
          commit: { message, author: who, committer: who },
          parents: parent ? [{ sha: parent }] : [],
        });
      }
      const next = new URL(url);
      next.searchParams.set('page', String(page + 1));
      return HttpResponse.json(
        all.slice((page - 1) * perPage, page * perPage),
        page * perPage < all.length
          ? { headers: { link: `<${next}>; rel="next"` } }
          : {},
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
