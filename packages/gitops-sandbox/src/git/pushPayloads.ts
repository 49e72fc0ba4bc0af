// GitHub's and GitLab's push webhook requests (payload, headers, signature) for one
// ref update, as those hosts send them.
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { CommitInfo, PushFacts, pushFacts, RepoInfo } from './pushFacts';
import type { RefUpdate, WebhookReceiver } from './webhooks';

const GITHUB_MAX_COMMITS = 2048;
const GITLAB_MAX_COMMITS = 20;

/** A webhook request, ready to post. */
export interface WebhookDelivery {
  headers: Record<string, string>;
  body: string;
}

/** A stable number for a repository, as the hosts' repository and project ids. */
function repoId(name: string) {
  return parseInt(
    createHash('sha1').update(name).digest('hex').slice(0, 7),
    16,
  );
}

/** The URL forms of a sandbox repository, as the hosts name them. */
function repoUrls(repo: RepoInfo) {
  const { host, hostname } = new URL(repo.baseUrl);
  // On the sandbox a repository lives at /git/<name>.git: "git" is its namespace.
  const fullName = `git/${repo.name}`;
  return {
    host,
    fullName,
    html: `${repo.baseUrl}/${fullName}`,
    clone: `${repo.baseUrl}/${fullName}.git`,
    // The sandbox serves no SSH or git://; these are the forms the hosts would give.
    ssh: `git@${hostname}:${fullName}.git`,
    git: `git://${host}/${fullName}.git`,
  };
}

const shortSha = (sha: string) => sha.slice(0, 12);

function githubUser(baseUrl: string, login: string, id: number) {
  const api = `${baseUrl}/api/v3/users/${login}`;
  return {
    name: login,
    email: null,
    login,
    id,
    node_id: Buffer.from(`04:User${id}`).toString('base64'),
    avatar_url: `${baseUrl}/avatars/${login}`,
    gravatar_id: '',
    url: api,
    html_url: `${baseUrl}/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type: 'User' as const,
    site_admin: false,
  };
}

/**
 * GitHub's `push` event payload for one ref update
 * (https://docs.github.com/en/webhooks/webhook-events-and-payloads#push).
 */
function githubPushPayload(facts: PushFacts) {
  const { repo, update } = facts;
  const urls = repoUrls(repo);
  const id = repoId(repo.name);
  const api = `${repo.baseUrl}/api/v3/repos/${urls.fullName}`;
  const now = new Date();
  const commit = (c: CommitInfo) => ({
    id: c.id,
    tree_id: c.tree,
    distinct: facts.distinct.has(c.id),
    message: c.message,
    timestamp: c.committer.date,
    url: `${urls.html}/commit/${c.id}`,
    author: {
      name: c.author.name,
      email: c.author.email,
      date: c.author.date,
    },
    committer: {
      name: c.committer.name,
      email: c.committer.email,
      date: c.committer.date,
    },
    added: c.added,
    removed: c.removed,
    modified: c.modified,
  });
  const owner = {
    ...githubUser(repo.baseUrl, 'git', 1),
    type: 'Organization' as const,
  };
  const sender = githubUser(repo.baseUrl, 'sandbox', 2);
  const commits = facts.commits.slice(-GITHUB_MAX_COMMITS);
  return {
    ref: update.ref,
    before: update.before,
    after: update.after,
    repository: {
      id,
      node_id: Buffer.from(`010:Repository${id}`).toString('base64'),
      name: repo.name,
      full_name: urls.fullName,
      private: true,
      owner,
      html_url: urls.html,
      description: null,
      fork: false,
      url: urls.html,
      forks_url: `${api}/forks`,
      keys_url: `${api}/keys{/key_id}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      teams_url: `${api}/teams`,
      hooks_url: `${api}/hooks`,
      issue_events_url: `${api}/issues/events{/number}`,
      events_url: `${api}/events`,
      assignees_url: `${api}/assignees{/user}`,
      branches_url: `${api}/branches{/branch}`,
      tags_url: `${api}/tags`,
      blobs_url: `${api}/git/blobs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      trees_url: `${api}/git/trees{/sha}`,
      statuses_url: `${api}/statuses/{sha}`,
      languages_url: `${api}/languages`,
      stargazers_url: `${api}/stargazers`,
      contributors_url: `${api}/contributors`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      commits_url: `${api}/commits{/sha}`,
      git_commits_url: `${api}/git/commits{/sha}`,
      comments_url: `${api}/comments{/number}`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      contents_url: `${api}/contents/{+path}`,
      compare_url: `${api}/compare/{base}...{head}`,
      merges_url: `${api}/merges`,
      archive_url: `${api}/{archive_format}{/ref}`,
      downloads_url: `${api}/downloads`,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      labels_url: `${api}/labels{/name}`,
      releases_url: `${api}/releases{/id}`,
      deployments_url: `${api}/deployments`,
      // A push event's repository carries these two as Unix times.
      created_at: facts.createdAt,
      updated_at: now.toISOString().replace(/\.\d+Z$/, 'Z'),
      pushed_at: Math.floor(now.getTime() / 1000),
      git_url: urls.git,
      ssh_url: urls.ssh,
      clone_url: urls.clone,
      svn_url: urls.html,
      homepage: null,
      size: 0,
      stargazers_count: 0,
      watchers_count: 0,
      language: null,
      has_issues: false,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: false,
      disabled: false,
      open_issues_count: 0,
      license: null,
      allow_forking: true,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: 'private' as const,
      forks: 0,
      open_issues: 0,
      watchers: 0,
      default_branch: facts.defaultBranch,
      stargazers: 0,
      master_branch: facts.defaultBranch,
      organization: 'git',
      custom_properties: {},
    },
    pusher: { name: 'sandbox', email: null },
    sender,
    created: facts.created,
    deleted: facts.deleted,
    forced: facts.forced,
    base_ref: null,
    compare: facts.created
      ? `${urls.html}/compare/${update.ref.replace(
          /^refs\/(heads|tags)\//,
          '',
        )}`
      : `${urls.html}/compare/${shortSha(update.before)}...${shortSha(
          update.after,
        )}`,
    commits: commits.map(commit),
    head_commit: facts.head ? commit(facts.head) : null,
  };
}

/**
 * GitLab's push (or tag push) event payload for one ref update
 * (https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events).
 */
function gitlabPushPayload(facts: PushFacts) {
  const { repo, update } = facts;
  const urls = repoUrls(repo);
  const id = repoId(repo.name);
  const kind = facts.isTag ? 'tag_push' : 'push';
  const commits = facts.commits.slice(-GITLAB_MAX_COMMITS).map(c => ({
    id: c.id,
    message: `${c.message}\n`,
    title: c.message.split('\n')[0],
    timestamp: c.author.date,
    url: `${urls.html}/-/commit/${c.id}`,
    author: { name: c.author.name, email: c.author.email },
    added: c.added,
    modified: c.modified,
    removed: c.removed,
  }));
  return {
    object_kind: kind,
    event_name: kind,
    before: update.before,
    after: update.after,
    ref: update.ref,
    ref_protected: update.ref === `refs/heads/${facts.defaultBranch}`,
    checkout_sha: facts.head?.id ?? null,
    message: facts.tagMessage ?? null,
    user_id: 2,
    user_name: 'Sandbox',
    user_username: 'sandbox',
    user_email: '',
    user_avatar: null,
    project_id: id,
    project: {
      id,
      name: repo.name,
      description: null,
      web_url: urls.html,
      avatar_url: null,
      git_ssh_url: urls.ssh,
      git_http_url: urls.clone,
      namespace: 'git',
      visibility_level: 0,
      path_with_namespace: urls.fullName,
      default_branch: facts.defaultBranch,
      ci_config_path: null,
      homepage: urls.html,
      url: urls.ssh,
      ssh_url: urls.ssh,
      http_url: urls.clone,
    },
    commits,
    total_commits_count: facts.commits.length,
    push_options: {},
    repository: {
      name: repo.name,
      url: urls.ssh,
      description: null,
      homepage: urls.html,
      git_http_url: urls.clone,
      git_ssh_url: urls.ssh,
      visibility_level: 0,
    },
  };
}

/** The request a receiver of `kind` gets for one ref update. */
export async function pushDelivery(
  receiver: WebhookReceiver,
  repo: RepoInfo,
  update: RefUpdate,
  hookId: number,
): Promise<WebhookDelivery> {
  const facts = await pushFacts(repo, update);
  if (receiver.kind === 'github') {
    const body = JSON.stringify(githubPushPayload(facts));
    const sign = (algorithm: string) =>
      `${algorithm}=${createHmac(algorithm, receiver.secret!)
        .update(body, 'utf8')
        .digest('hex')}`;
    return {
      body,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/sandbox',
        'x-github-event': 'push',
        'x-github-delivery': randomUUID(),
        'x-github-hook-id': String(hookId),
        'x-github-hook-installation-target-type': 'repository',
        'x-github-hook-installation-target-id': String(repoId(repo.name)),
        ...(receiver.secret && {
          'x-hub-signature': sign('sha1'),
          'x-hub-signature-256': sign('sha256'),
        }),
      },
    };
  }
  const body = JSON.stringify(gitlabPushPayload(facts));
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitLab/sandbox',
      'x-gitlab-event': facts.isTag ? 'Tag Push Hook' : 'Push Hook',
      'x-gitlab-event-uuid': randomUUID(),
      'x-gitlab-webhook-uuid': randomUUID(),
      'x-gitlab-instance': repo.baseUrl,
      ...(receiver.secret && { 'x-gitlab-token': receiver.secret }),
    },
  };
}
