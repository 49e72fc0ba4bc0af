import { ConfigReader } from '@backstage/config';
import { http, HttpResponse } from 'msw';
import { SetupServer } from 'msw/node';
import { createHash } from 'node:crypto';
import { GitlabConfigRepoWriter } from '../GitlabConfigRepoWriter';
import { changeIn, FILE, VALUES } from './valuesFileChange';

export const HOST = 'gitlab.example.test';
export const BASE = `https://${HOST}`;
export const TOKEN = 'glpat-secret-token-123';
export const PROJECT = 'checkout/deploy/service-a-config';
export const REPO_URL = `${BASE}/${PROJECT}.git`;
const USERS = [
  { id: 11, username: 'alice' },
  { id: 12, username: 'bob' },
];

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
export class FakeGitlab {
  commits = new Map<string, Record<string, FileState>>();
  /** Each commit's message, parent and time, for the commits API. */
  history = new Map<string, { message: string; parent?: string; date: Date }>();
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
    this.history.set(id, { message: 'seed', date: new Date() });
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
  write(
    branch: string,
    updates: Record<string, string>,
    message = `edit ${Object.keys(updates).join(', ')}`,
  ) {
    const id = this.nextId();
    this.history.set(id, {
      message,
      parent: this.branches.get(branch),
      date: new Date(),
    });
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
        const commit = this.write(body.branch, updates, body.commit_message);
        return HttpResponse.json(
          {
            id: commit,
            short_id: commit.slice(0, 8),
            title: body.commit_message,
          },
          { status: 201 },
        );
      }
      if (route === 'GET projects repository/commits') {
        // As GitLab: the ref's history newest first, `since` by commit date, pages
        // by `page` and `per_page`, the next one linked (Link, X-Next-Page).
        const since = new Date(url.searchParams.get('since') ?? 0);
        const perPage = Number(url.searchParams.get('per_page') ?? 20);
        const page = Number(url.searchParams.get('page') ?? 1);
        const all = [];
        let sha = this.branches.get(url.searchParams.get('ref_name') ?? 'main');
        for (; sha; sha = this.history.get(sha)!.parent) {
          const { message, parent, date } = this.history.get(sha)!;
          if (date < since) break;
          all.push({
            id: sha,
            short_id: sha.slice(0, 8),
            title: message.split('\n')[0],
            message,
            parent_ids: parent ? [parent] : [],
            committed_date: date.toISOString(),
          });
        }
        const more = page * perPage < all.length;
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        return HttpResponse.json(
          all.slice((page - 1) * perPage, page * perPage),
          {
            headers: {
              ...(more && { link: `<${next}>; rel="next"` }),
              'x-page': String(page),
              'x-per-page': String(perPage),
              'x-next-page': more ? String(page + 1) : '',
              'x-total': String(all.length),
              'x-total-pages': String(Math.ceil(all.length / perPage)),
            },
          },
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

/** A FakeGitlab at BASE holding FILE and a README on main, answering for `server`. */
export function serveFakeGitlab(server: SetupServer) {
  const gitlab = new FakeGitlab(BASE, {
    [FILE]: VALUES,
    'README.md': '# config\n',
  });
  server.use(gitlab.handler());
  return gitlab;
}

export function writer(token = TOKEN, timeoutMs = 2000, base = BASE) {
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

export const change = changeIn(REPO_URL);
