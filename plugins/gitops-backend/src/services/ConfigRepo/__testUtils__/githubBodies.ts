import { githubExample } from './githubSpec';

/**
 * Answers shaped as GitHub's: each starts from the operation's documented example in
 * GitHub's OpenAPI description and overrides the fields the stand-in tracks, so the
 * fields it does not track are still there, with their documented types.
 */

type Json = any;

export const HOST = 'ghe.example.test';
export const API = `https://${HOST}/api/v3`;
export const OWNER = 'checkout';
export const REPO = 'service-a-config';
const REPO_API = `${API}/repos/${OWNER}/${REPO}`;
const REPO_WEB = `https://${HOST}/${OWNER}/${REPO}`;
const DOCS = 'https://docs.github.com/rest';

/** GitHub's `basic-error`: 401, 403, 404 and 409 answers. */
export function basicError(status: number, message: string, docs = DOCS) {
  return { message, documentation_url: docs, status: String(status) };
}

/**
 * GitHub's `validation-error`: 422 answers. Without the `status` GitHub now sends
 * too: the schema does not list it, and the contract closes objects.
 */
export function validationError(
  message: string,
  errors?: Array<{ resource: string; code: string; field?: string }>,
) {
  return {
    message,
    ...(errors ? { errors } : {}),
    documentation_url: DOCS,
  };
}

/** GET contents of a file: `content-file`, its base64 wrapped at 60 as GitHub's. */
export function contentFile(
  path: string,
  text: string,
  sha: string,
  ref: string,
) {
  const body = githubExample('content-file-response-if-content-is-a-file');
  const base64 = Buffer.from(text).toString('base64');
  const git = `${REPO_API}/git/blobs/${sha}`;
  const html = `${REPO_WEB}/blob/${ref}/${path}`;
  const self = `${REPO_API}/contents/${path}?ref=${ref}`;
  return Object.assign(body, {
    type: 'file',
    encoding: 'base64',
    size: Buffer.byteLength(text),
    name: path.split('/').pop(),
    path,
    content: `${base64.replace(/.{60}/g, '$&\n')}\n`,
    sha,
    url: self,
    git_url: git,
    html_url: html,
    download_url: `https://${HOST}/raw/${OWNER}/${REPO}/${ref}/${path}`,
    _links: { git, self, html },
  });
}

export interface FakeCommit {
  sha: string;
  message: string;
  parent?: string;
  date: Date;
  tree?: string;
}

function gitUser(date: Date) {
  return { name: 'CI', email: 'ci@example.com', date: date.toISOString() };
}

/** PUT contents: `file-commit`, from the example for a create (201) or an update. */
export function fileCommit(
  created: boolean,
  file: { path: string; text: string; sha: string; branch: string },
  commit: FakeCommit,
) {
  const body = githubExample(
    created
      ? 'file-commit-example-for-creating-a-file'
      : 'file-commit-example-for-updating-a-file',
  );
  const git = `${REPO_API}/git/blobs/${file.sha}`;
  const html = `${REPO_WEB}/blob/${file.branch}/${file.path}`;
  const self = `${REPO_API}/contents/${file.path}`;
  Object.assign(body.content, {
    name: file.path.split('/').pop(),
    path: file.path,
    sha: file.sha,
    size: Buffer.byteLength(file.text),
    url: self,
    html_url: html,
    git_url: git,
    download_url: `https://${HOST}/raw/${OWNER}/${REPO}/${file.branch}/${file.path}`,
    type: 'file',
    _links: { self, git, html },
  });
  Object.assign(body.commit, {
    sha: commit.sha,
    url: `${REPO_API}/git/commits/${commit.sha}`,
    html_url: `${REPO_WEB}/commit/${commit.sha}`,
    author: gitUser(commit.date),
    committer: gitUser(commit.date),
    message: commit.message,
    parents: commit.parent
      ? [
          {
            url: `${REPO_API}/git/commits/${commit.parent}`,
            html_url: `${REPO_WEB}/commit/${commit.parent}`,
            sha: commit.parent,
          },
        ]
      : [],
  });
  return body;
}

/** One item of GET commits: `commit`. */
export function commitItem(commit: FakeCommit) {
  const [body] = githubExample('commit-items');
  const user = gitUser(commit.date);
  Object.assign(body, {
    url: `${REPO_API}/commits/${commit.sha}`,
    sha: commit.sha,
    html_url: `${REPO_WEB}/commit/${commit.sha}`,
    comments_url: `${REPO_API}/commits/${commit.sha}/comments`,
    parents: commit.parent
      ? [
          {
            url: `${REPO_API}/commits/${commit.parent}`,
            html_url: `${REPO_WEB}/commit/${commit.parent}`,
            sha: commit.parent,
          },
        ]
      : [],
  });
  Object.assign(body.commit, {
    url: `${REPO_API}/git/commits/${commit.sha}`,
    author: user,
    committer: user,
    message: commit.message,
  });
  return body;
}

/** GET git/commits/{sha} and POST git/commits: `git-commit`. */
export function gitCommit(commit: FakeCommit & { tree: string }) {
  const body = githubExample('git-commit');
  const user = gitUser(commit.date);
  return Object.assign(body, {
    sha: commit.sha,
    node_id: Buffer.from(`commit:${commit.sha}`).toString('base64'),
    url: `${REPO_API}/git/commits/${commit.sha}`,
    html_url: `${REPO_WEB}/commit/${commit.sha}`,
    author: user,
    committer: user,
    message: commit.message,
    tree: { url: `${REPO_API}/git/trees/${commit.tree}`, sha: commit.tree },
    parents: commit.parent
      ? [
          {
            url: `${REPO_API}/git/commits/${commit.parent}`,
            html_url: `${REPO_WEB}/commit/${commit.parent}`,
            sha: commit.parent,
          },
        ]
      : [],
  });
}

/** POST git/trees: `git-tree`, every file of the (flat-listed) tree with its blob sha. */
export function gitTree(
  sha: string,
  files: Array<{ path: string; size: number; sha: string }>,
) {
  const body = githubExample('git-tree');
  return Object.assign(body, {
    sha,
    url: `${REPO_API}/git/trees/${sha}`,
    tree: files.map(f => ({
      path: f.path,
      mode: '100644',
      type: 'blob',
      size: f.size,
      sha: f.sha,
      url: `${REPO_API}/git/blobs/${f.sha}`,
    })),
    truncated: false,
  });
}

/** GET git/ref and POST git/refs: `git-ref`. */
export function gitRef(ref: string, sha: string) {
  const body = githubExample('git-ref');
  return Object.assign(body, {
    ref,
    url: `${REPO_API}/git/${ref}`,
    node_id: Buffer.from(`ref:${ref}`).toString('base64'),
    object: { type: 'commit', sha, url: `${REPO_API}/git/commits/${sha}` },
  });
}

/** A pull request as the stand-in keeps it. */
export interface FakePull {
  number: number;
  head: string;
  headSha: string;
  base: string;
  baseSha: string;
  title: string;
  body?: string;
  state: 'open' | 'closed';
  merged_at: string | null;
  merge_commit_sha: string | null;
  reviewers?: string[];
  teams?: string[];
}

export function pullUrl(number: number) {
  return `${REPO_WEB}/pull/${number}`;
}

/** Overrides, on a documented pull request, what the stand-in tracks. */
function asPull(body: Json, pull: FakePull) {
  const api = `${REPO_API}/pulls/${pull.number}`;
  const issue = `${REPO_API}/issues/${pull.number}`;
  Object.assign(body, {
    url: api,
    id: pull.number,
    html_url: pullUrl(pull.number),
    diff_url: `${pullUrl(pull.number)}.diff`,
    patch_url: `${pullUrl(pull.number)}.patch`,
    issue_url: issue,
    commits_url: `${api}/commits`,
    review_comments_url: `${api}/comments`,
    comments_url: `${issue}/comments`,
    statuses_url: `${REPO_API}/statuses/${pull.headSha}`,
    number: pull.number,
    state: pull.state,
    locked: false,
    title: pull.title,
    body: pull.body ?? null,
    closed_at:
      pull.state === 'closed' ? pull.merged_at ?? body.closed_at : null,
    merged_at: pull.merged_at,
    merge_commit_sha: pull.merge_commit_sha,
  });
  Object.assign(body.head, {
    ref: pull.head,
    label: `${OWNER}:${pull.head}`,
    sha: pull.headSha,
  });
  Object.assign(body.base, {
    ref: pull.base,
    label: `${OWNER}:${pull.base}`,
    sha: pull.baseSha,
  });
  const [user] = body.requested_reviewers ?? [];
  const [team] = body.requested_teams ?? [];
  body.requested_reviewers = (pull.reviewers ?? []).map(login => ({
    ...user,
    login,
  }));
  body.requested_teams = (pull.teams ?? []).map(slug => ({
    ...team,
    name: slug,
    slug,
    // The example predates `type`, which the `team` schema now requires.
    type: 'organization',
  }));
  return body;
}

/** POST pulls (201): `pull-request`. */
export function pullRequest(pull: FakePull) {
  const body = asPull(githubExample('pull-request'), pull);
  return Object.assign(body, {
    merged: pull.merged_at !== null,
    merged_by: pull.merged_at !== null ? body.merged_by : null,
    mergeable: pull.state === 'open' ? true : null,
  });
}

/**
 * `pull-request-simple` lists head and base repositories as `repository`; its
 * examples show them in full, with fields that schema does not have.
 */
function asSimple(body: Json) {
  for (const side of [body.head, body.base]) {
    for (const field of [
      'template_repository',
      'subscribers_count',
      'network_count',
    ]) {
      delete side.repo[field];
    }
  }
  return body;
}

/** One item of GET pulls: `pull-request-simple`. */
export function pullRequestSimple(pull: FakePull) {
  return asSimple(asPull(githubExample('pull-request-simple-items')[0], pull));
}

/** POST requested_reviewers (201): `pull-request-simple`, reviewers listed. */
export function reviewRequest(pull: FakePull) {
  return asSimple(asPull(githubExample('pull-request-review-request'), pull));
}
