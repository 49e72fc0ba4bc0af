import { ConfigReader } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import {
  basicError,
  validationError,
} from '../../ConfigRepo/__testUtils__/githubBodies';
import { githubExample } from '../../ConfigRepo/__testUtils__/githubSpec';
import { AppCommit, AppHistory, AppTag, Person } from './appHistory';

/**
 * A stand-in for GitHub's REST API over one app repository (an AppHistory): the
 * commits, refs, tags and compare routes GithubCommits reads. Every answer starts
 * from the operation's documented example in GitHub's OpenAPI description and
 * overrides the fields the stand-in tracks (standInGithubApp.contract.test.ts holds
 * each one to the schema).
 */

type Json = any;

export const HOST = 'ghe.example.test';
export const API = `https://${HOST}/api/v3`;
export const OWNER = 'checkout';
export const REPO = 'service-a';
export const TOKEN = 'ghp-app-secret-token-456';
export const REPO_URL = `https://${HOST}/${OWNER}/${REPO}.git`;
export const REPO_WEB = `https://${HOST}/${OWNER}/${REPO}`;
const REPO_API = `${API}/repos/${OWNER}/${REPO}`;

/** As GitHub writes times: seconds, UTC. */
export const githubDate = (date: Date) =>
  date.toISOString().replace(/\.\d{3}Z$/, 'Z');

const nodeId = (kind: string, id: string) =>
  Buffer.from(`${kind}:${id}`).toString('base64');

function gitUser(person: Person, date: Date) {
  return { name: person.name, email: person.email, date: githubDate(date) };
}

/** GitHub's documented user (octocat), as `login` on this instance. */
function simpleUser(login: string) {
  const example = githubExample('commit').author;
  const id = [...login].reduce((n, c) => n * 31 + c.charCodeAt(0), 7) % 1e6;
  const text = JSON.stringify(example)
    .replaceAll('https://api.github.com', API)
    .replaceAll('https://github.com', `https://${HOST}`)
    .replaceAll('octocat', login);
  return Object.assign(JSON.parse(text), {
    id,
    node_id: nodeId('User', String(id)),
    avatar_url: `https://avatars.${HOST}/u/${id}`,
  });
}

/**
 * A `commit` from `body` (a documented one): merges are committed by GitHub
 * (web-flow) as its UI merges them; the author date is when it was written, the
 * committer date when it landed.
 */
function asCommit(body: Json, commit: AppCommit, history: AppHistory) {
  const merge = commit.parents.length > 1;
  const committer: Person = merge
    ? { name: 'GitHub', email: 'noreply@github.com', login: 'web-flow' }
    : commit.author;
  const tree = history.treeOf(commit.sha);
  Object.assign(body, {
    url: `${REPO_API}/commits/${commit.sha}`,
    sha: commit.sha,
    node_id: nodeId('Commit', commit.sha),
    html_url: `${REPO_WEB}/commit/${commit.sha}`,
    comments_url: `${REPO_API}/commits/${commit.sha}/comments`,
    author: commit.author.login ? simpleUser(commit.author.login) : null,
    committer: committer.login ? simpleUser(committer.login) : null,
    parents: commit.parents.map(sha => ({
      sha,
      url: `${REPO_API}/commits/${sha}`,
      html_url: `${REPO_WEB}/commit/${sha}`,
    })),
  });
  Object.assign(body.commit, {
    url: `${REPO_API}/git/commits/${commit.sha}`,
    author: gitUser(commit.author, commit.authored),
    committer: gitUser(committer, commit.date),
    message: commit.message,
    tree: { url: `${REPO_API}/git/trees/${tree}`, sha: tree },
    comment_count: 0,
  });
  return body;
}

/** GET commits/{ref}: `commit`, with its (untracked: none) files and stats. */
export function commitBody(commit: AppCommit, history: AppHistory) {
  return Object.assign(asCommit(githubExample('commit'), commit, history), {
    stats: { additions: 0, deletions: 0, total: 0 },
    files: [],
  });
}

/** An item of a comparison's commits: `commit`, as GitHub lists it (no files). */
function listedCommit(commit: AppCommit, history: AppHistory) {
  const [example] = githubExample('commit-comparison').commits;
  return asCommit(example, commit, history);
}

/** GET git/ref/{ref}: `git-ref`, to a commit or to an annotated tag's object. */
export function gitRefBody(ref: string, target: { type: string; sha: string }) {
  const kind = target.type === 'tag' ? 'tags' : 'commits';
  return Object.assign(githubExample('git-ref'), {
    ref,
    node_id: nodeId('Ref', ref),
    url: `${REPO_API}/git/${ref}`,
    object: {
      type: target.type,
      sha: target.sha,
      url: `${REPO_API}/git/${kind}/${target.sha}`,
    },
  });
}

/** GET git/tags/{tag_sha}: `git-tag`, an annotated tag's object. */
export function gitTagBody(tag: AppTag) {
  const { sha, message, tagger, date } = tag.annotated!;
  return Object.assign(githubExample('git-tag'), {
    node_id: nodeId('Tag', sha),
    tag: tag.name,
    sha,
    url: `${REPO_API}/git/tags/${sha}`,
    message,
    tagger: gitUser(tagger, date),
    object: {
      type: 'commit',
      sha: tag.commit,
      url: `${REPO_API}/git/commits/${tag.commit}`,
    },
  });
}

/**
 * GET compare/{base}...{head}: `commit-comparison`. As GitHub documents it: the
 * commits head has over base (their merge base on), oldest first; paginated by
 * `per_page` (default 30, at most 100) and `page` when either is given, else the
 * newest 250; the changed files on the first page only.
 */
export function comparisonBody(
  history: AppHistory,
  refs: { base: string; head: string },
  base: AppCommit,
  head: AppCommit,
  paging: { page: number; perPage: number } | undefined,
) {
  const ahead = history.between(base.sha, head.sha);
  const behind = history.between(head.sha, base.sha);
  let status = 'identical';
  if (ahead.length && behind.length) status = 'diverged';
  else if (ahead.length) status = 'ahead';
  else if (behind.length) status = 'behind';
  const listed = paging
    ? ahead.slice(
        (paging.page - 1) * paging.perPage,
        paging.page * paging.perPage,
      )
    : ahead.slice(-250);
  const basehead = `${refs.base}...${refs.head}`;
  const body = Object.assign(githubExample('commit-comparison'), {
    url: `${REPO_API}/compare/${basehead}`,
    html_url: `${REPO_WEB}/compare/${basehead}`,
    permalink_url: `${REPO_WEB}/compare/${OWNER}:${base.sha}...${OWNER}:${head.sha}`,
    diff_url: `${REPO_WEB}/compare/${basehead}.diff`,
    patch_url: `${REPO_WEB}/compare/${basehead}.patch`,
    base_commit: listedCommit(base, history),
    merge_base_commit: listedCommit(
      history.mergeBase(base.sha, head.sha),
      history,
    ),
    status,
    ahead_by: ahead.length,
    behind_by: behind.length,
    total_commits: ahead.length,
    commits: listed.map(c => listedCommit(c, history)),
    // The stand-in tracks no file contents: no changed files.
    files: [],
  });
  if (paging && paging.page > 1) delete body.files;
  return body;
}

const json = (body: unknown, status = 200, headers?: Record<string, string>) =>
  HttpResponse.json(body as any, { status, headers });
const notFound = () => json(basicError(404, 'Not Found'), 404);

/** A Link header as GitHub sends it: next and last, prev and first. */
function linkHeader(url: URL, page: number, last: number) {
  const to = (n: number) => {
    const next = new URL(url);
    next.searchParams.set('page', String(n));
    return next.toString();
  };
  const links = [];
  if (page < last) links.push(`<${to(page + 1)}>; rel="next"`);
  if (page < last) links.push(`<${to(last)}>; rel="last"`);
  if (page > 1) links.push(`<${to(page - 1)}>; rel="prev"`);
  if (page > 1) links.push(`<${to(1)}>; rel="first"`);
  return links.length ? { link: links.join(', ') } : undefined;
}

export interface GithubRequest {
  method: string;
  /** After /api/v3, decoded: /repos/checkout/service-a/git/ref/tags/v1.0.0 */
  path: string;
  query: URLSearchParams;
  auth: string | null;
}

export class FakeGithubApp {
  requests: GithubRequest[] = [];

  constructor(readonly history: AppHistory) {}

  /** The compare requests: basehead and page, in order. */
  compares() {
    return this.requests
      .filter(r => r.path.includes('/compare/'))
      .map(r => ({
        basehead: r.path.split('/compare/')[1],
        page: Number(r.query.get('page') ?? 1),
      }));
  }

  handler = http.all(`${API}/*`, ({ request }) => {
    const url = new URL(request.url);
    const path = decodeURIComponent(
      url.pathname.slice(new URL(API).pathname.length),
    );
    const auth = request.headers.get('authorization');
    this.requests.push({
      method: request.method,
      path,
      query: url.searchParams,
      auth,
    });
    if (auth !== `token ${TOKEN}`) {
      // Echoes the token to prove the reader never repeats what GitHub says.
      return json(basicError(401, `Bad credentials: ${auth}`), 401);
    }
    const [, resource, owner, repo, kind, ...rest] = path.split('/');
    if (resource !== 'repos' || `${owner}/${repo}` !== `${OWNER}/${REPO}`)
      return notFound();
    if (request.method !== 'GET') return notFound();
    const tail = rest.join('/');
    const { history } = this;

    if (kind === 'commits' && tail) {
      const commit = history.resolve(tail);
      // As GitHub: a ref that names no commit (an unknown or ambiguous SHA, a
      // tree's) is a 422, not a 404.
      if (!commit)
        return json(validationError(`No commit found for SHA: ${tail}`), 422);
      return json(commitBody(commit, history));
    }
    if (kind === 'git' && rest[0] === 'ref') {
      // The singular route matches one ref exactly, never a prefix.
      const ref = rest.slice(1).join('/');
      const [space, ...name] = ref.split('/');
      if (space === 'heads' && history.branches.has(name.join('/'))) {
        const sha = history.branches.get(name.join('/'))!;
        return json(gitRefBody(`refs/${ref}`, { type: 'commit', sha }));
      }
      const tag =
        space === 'tags' ? history.tags.get(name.join('/')) : undefined;
      if (!tag) return notFound();
      return json(
        gitRefBody(
          `refs/${ref}`,
          tag.annotated
            ? { type: 'tag', sha: tag.annotated.sha }
            : { type: 'commit', sha: tag.commit },
        ),
      );
    }
    if (kind === 'git' && rest[0] === 'tags' && rest.length === 2) {
      const tag = [...history.tags.values()].find(
        t => t.annotated?.sha === rest[1],
      );
      return tag ? json(gitTagBody(tag)) : notFound();
    }
    if (kind === 'compare' && tail.includes('...')) {
      const [baseRef, headRef] = tail.split('...');
      const base = history.resolve(baseRef);
      const head = history.resolve(headRef);
      if (!base || !head) return notFound();
      const paged =
        url.searchParams.has('page') || url.searchParams.has('per_page');
      const perPage = Math.min(
        Number(url.searchParams.get('per_page') ?? 30),
        100,
      );
      const page = Number(url.searchParams.get('page') ?? 1);
      const body = comparisonBody(
        history,
        { base: baseRef, head: headRef },
        base,
        head,
        paged ? { page, perPage } : undefined,
      );
      const last = Math.max(1, Math.ceil(body.ahead_by / perPage));
      return json(body, 200, paged ? linkHeader(url, page, last) : undefined);
    }
    return notFound();
  });
}

/** A FakeGithubApp over `history`, answering for `server`. */
export function serveGithubApp(server: SetupServer, history: AppHistory) {
  const github = new FakeGithubApp(history);
  server.use(github.handler);
  return github;
}

/** Backstage's integrations with this GitHub instance, reading with `token`. */
export function githubIntegrations(token = TOKEN) {
  return ScmIntegrations.fromConfig(
    new ConfigReader({
      integrations: { github: [{ host: HOST, apiBaseUrl: API, token }] },
    }),
  );
}
