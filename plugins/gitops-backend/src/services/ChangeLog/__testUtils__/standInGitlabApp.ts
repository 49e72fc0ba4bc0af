import { ConfigReader } from '@backstage/config';
import { ScmIntegrations } from '@backstage/integration';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import { AppCommit, AppHistory, AppTag } from './appHistory';

/**
 * A stand-in for GitLab's REST API (v4) over one app repository (an AppHistory): the
 * commit, tag and compare routes GitlabCommits reads.
 *
 * The repository holds no GitLab OpenAPI contract to check these against, so the
 * shapes are written after GitLab's REST documentation (doc/api/commits.md "Get a
 * single commit", doc/api/tags.md "Get a single repository tag",
 * doc/api/repositories.md "Compare branches, tags or commits") and the entities
 * behind them (API::Entities::Commit, CommitDetail, Tag, Compare):
 * - a commit: id, short_id, created_at (= committed_date), parent_ids, title (the
 *   first line), message, author_*, committer_*, authored_date, committed_date,
 *   trailers, extended_trailers, web_url; a single commit adds stats, status,
 *   project_id and last_pipeline;
 * - a tag: name, message and created_at (null for a lightweight tag), target (the
 *   tag object's SHA when annotated, else the commit's), commit (peeled), release,
 *   protected;
 * - a comparison: commits `from` lacks and `to` has, oldest first, all of them (no
 *   pagination); commit (the last of them, null when none); diffs; compare_timeout;
 *   compare_same_ref (from and to are one commit); web_url from the merge base (or
 *   `from` when straight) to `to`;
 * - errors: {"message": "404 Commit Not Found"} (Tag, Ref, Project), and
 *   {"message": "401 Unauthorized"}.
 * Times are UTC with milliseconds, as GitLab writes them: 2026-03-02T09:00:00.000Z.
 */

export const HOST = 'gitlab.example.test';
export const BASE = `https://${HOST}`;
export const TOKEN = 'glpat-app-secret-token-789';
export const PROJECT = 'checkout/service-a';
export const PROJECT_ID = 42;
export const REPO_URL = `${BASE}/${PROJECT}.git`;
export const PROJECT_WEB = `${BASE}/${PROJECT}`;

const message404 = (what: string) =>
  HttpResponse.json({ message: `404 ${what} Not Found` }, { status: 404 });

/** API::Entities::Commit: as GitLab lists a commit (compare, tags). */
export function commitEntity(commit: AppCommit) {
  return {
    id: commit.sha,
    short_id: commit.sha.slice(0, 8),
    created_at: commit.date.toISOString(),
    parent_ids: commit.parents,
    title: commit.message.split('\n')[0],
    message: commit.message,
    author_name: commit.author.name,
    author_email: commit.author.email,
    authored_date: commit.authored.toISOString(),
    committer_name: commit.author.name,
    committer_email: commit.author.email,
    committed_date: commit.date.toISOString(),
    trailers: {},
    extended_trailers: {},
    web_url: `${PROJECT_WEB}/-/commit/${commit.sha}`,
  };
}

/** GET repository/commits/:sha: API::Entities::CommitDetail. */
export function commitDetail(commit: AppCommit) {
  return {
    ...commitEntity(commit),
    // The stand-in tracks no file contents, nor pipelines.
    stats: { additions: 0, deletions: 0, total: 0 },
    status: null,
    project_id: PROJECT_ID,
    last_pipeline: null,
  };
}

/** GET repository/tags/:tag_name, as doc/api/tags.md shows it. */
export function tagEntity(tag: AppTag, commit: AppCommit) {
  const { trailers, extended_trailers, web_url, ...listed } =
    commitEntity(commit);
  return {
    name: tag.name,
    message: tag.annotated?.message ?? null,
    target: tag.annotated?.sha ?? tag.commit,
    commit: listed,
    release: null,
    protected: false,
    created_at: tag.annotated?.date.toISOString() ?? null,
  };
}

/** GET repository/compare: API::Entities::Compare. */
export function compareEntity(
  history: AppHistory,
  from: AppCommit,
  to: AppCommit,
  straight: boolean,
) {
  const commits = history.between(from.sha, to.sha).map(commitEntity);
  const start = straight ? from : history.mergeBase(from.sha, to.sha);
  return {
    commit: commits[commits.length - 1] ?? null,
    commits,
    diffs: [],
    compare_timeout: false,
    compare_same_ref: from.sha === to.sha,
    web_url: `${PROJECT_WEB}/-/compare/${start.sha}...${to.sha}`,
  };
}

export interface GitlabRequest {
  /** After /api/v4, each segment decoded: /projects/checkout/service-a/repository/… */
  path: string;
  query: URLSearchParams;
  auth: string | null;
}

export class FakeGitlabApp {
  requests: GitlabRequest[] = [];

  constructor(readonly history: AppHistory) {}

  /** The compare requests, in order. */
  compares() {
    return this.requests
      .filter(r => r.path.endsWith('/repository/compare'))
      .map(r => Object.fromEntries(r.query));
  }

  handler = http.all(`${BASE}/api/v4/*`, ({ request }) => {
    const url = new URL(request.url);
    const segments = url.pathname.split('/').map(decodeURIComponent);
    const [, , , resource, id, ...rest] = segments;
    const auth = request.headers.get('authorization');
    this.requests.push({
      path: `/${segments.slice(3).join('/')}`,
      query: url.searchParams,
      auth,
    });
    if (auth !== `Bearer ${TOKEN}`) {
      // Echoes the token to prove the reader never repeats what GitLab says.
      return HttpResponse.json(
        { message: `401 Unauthorized (${auth})` },
        { status: 401 },
      );
    }
    if (
      request.method !== 'GET' ||
      resource !== 'projects' ||
      (id !== PROJECT && id !== String(PROJECT_ID))
    )
      return message404('Project');
    const { history } = this;
    const route = rest.slice(0, 2).join('/');
    const name = rest.slice(2).join('/');

    if (route === 'repository/commits' && name) {
      // A commit SHA (full or short), a branch or a tag, as GitLab takes them.
      const commit = history.resolve(name);
      return commit
        ? HttpResponse.json(commitDetail(commit))
        : message404('Commit');
    }
    if (route === 'repository/tags' && name) {
      const tag = history.tags.get(name);
      if (!tag) return message404('Tag');
      return HttpResponse.json(
        tagEntity(tag, history.commits.get(tag.commit)!),
      );
    }
    if (route === 'repository/compare' && rest.length === 2) {
      const from = history.resolve(url.searchParams.get('from') ?? '');
      const to = history.resolve(url.searchParams.get('to') ?? '');
      // CompareService answers nothing when either ref names no commit.
      if (!from || !to) return message404('Ref');
      const straight = url.searchParams.get('straight') === 'true';
      return HttpResponse.json(compareEntity(history, from, to, straight));
    }
    return message404('404');
  });
}

/** A FakeGitlabApp over `history`, answering for `server`. */
export function serveGitlabApp(server: SetupServer, history: AppHistory) {
  const gitlab = new FakeGitlabApp(history);
  server.use(gitlab.handler);
  return gitlab;
}

/** Backstage's integrations with this GitLab instance, reading with `token`. */
export function gitlabIntegrations(token = TOKEN) {
  return ScmIntegrations.fromConfig(
    new ConfigReader({
      integrations: {
        gitlab: [
          { host: HOST, apiBaseUrl: `${BASE}/api/v4`, baseUrl: BASE, token },
        ],
      },
    }),
  );
}
