import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
  ScmIntegrations,
} from '@backstage/integration';
import {
  ConfigRepoWriter,
  fileEditsOf,
  GitopsSourceError,
  PullRequestDetails,
  PullRequestState,
  ValuesFileChange,
  ValuesFileWriteResult,
  writeResultOf,
} from '@gitops-backstage/plugin-gitops-node';
import { connectGithub, GithubRepo } from '../Scm/githubRepo';

const ATTEMPTS = 3;
/** Pages of 100 commits an interrupted promotion's commit is looked for in. */
const MAX_COMMIT_PAGES = 10;

interface Options {
  timeoutMs: number;
  logger?: LoggerService;
}

type Repo = GithubRepo;

/**
 * Writes values files through GitHub's contents API: no clone, and the blob sha sent
 * with each write makes GitHub refuse it when someone wrote first. Credentials come
 * from Backstage's GitHub integrations (tokens or GitHub Apps).
 */
export class GithubConfigRepoWriter implements ConfigRepoWriter {
  readonly id = 'github';
  private readonly credentials: GithubCredentialsProvider;

  static fromConfig(config: Config, options: Options) {
    return new GithubConfigRepoWriter(
      ScmIntegrations.fromConfig(config),
      options,
    );
  }

  constructor(
    private readonly integrations: ScmIntegrationRegistry,
    private readonly options: Options,
  ) {
    this.credentials =
      DefaultGithubCredentialsProvider.fromIntegrations(integrations);
  }

  supports(repoURL: string) {
    return Boolean(this.integrations.github.byUrl(repoURL));
  }

  async read(
    location: { repoURL: string; branch: string; file: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const gh = await this.connect(location.repoURL, options.signal);
    try {
      return (await this.readFile(gh, location.branch, location.file)).text;
    } catch (error) {
      throw gh.fail(error, location.file);
    }
  }

  async commit(
    change: ValuesFileChange,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    const gh = await this.connect(change.repoURL, options.signal);
    try {
      return await this.commitOn(gh, change);
    } catch (error) {
      throw gh.fail(error, change.file);
    }
  }

  async openPullRequest(
    change: ValuesFileChange,
    pullRequest: PullRequestDetails,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    const gh = await this.connect(change.repoURL, options.signal);
    const { owner, repo } = gh;
    try {
      const { data: head } = await gh.octokit.rest.git.getRef({
        owner,
        repo,
        ref: `heads/${change.branch}`,
      });
      // Read at the very commit the branch will start from, to create nothing when
      // the files already read as wanted.
      const files = await this.editedAt(gh, head.object.sha, change);
      if (files.every(f => f.after === f.before)) return writeResultOf(files);
      await gh.octokit.rest.git.createRef({
        owner,
        repo,
        ref: `refs/heads/${pullRequest.branch}`,
        sha: head.object.sha,
      });
      const result = await this.commitOn(gh, {
        ...change,
        branch: pullRequest.branch,
      });
      const { data: pull } = await gh.octokit.rest.pulls.create({
        owner,
        repo,
        head: pullRequest.branch,
        base: change.branch,
        title: pullRequest.title,
        body: pullRequest.body,
      });
      await this.requestReviewers(gh, pull.number, pullRequest.reviewers);
      return { ...result, pullRequestUrl: pull.html_url };
    } catch (error) {
      throw gh.fail(error, change.file);
    }
  }

  /** The newest pull request from `branch` to any base: merged, open or closed. */
  async pullRequestState(
    pullRequest: { repoURL: string; branch: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<PullRequestState> {
    const gh = await this.connect(pullRequest.repoURL, options.signal);
    try {
      const { data: pulls } = await gh.octokit.rest.pulls.list({
        owner: gh.owner,
        repo: gh.repo,
        head: `${gh.owner}:${pullRequest.branch}`,
        state: 'all',
      });
      const [pull] = pulls;
      if (!pull) return { state: 'none' };
      if (pull.merged_at && pull.merge_commit_sha) {
        return {
          state: 'merged',
          url: pull.html_url,
          commit: pull.merge_commit_sha,
        };
      }
      return {
        state: pull.state === 'open' ? 'open' : 'closed',
        url: pull.html_url,
      };
    } catch (error) {
      throw gh.fail(error, '');
    }
  }

  async findCommit(
    location: { repoURL: string; branch: string },
    trailer: string,
    since: Date,
  ): Promise<string | undefined> {
    const gh = await this.connect(location.repoURL);
    try {
      let pages = 0;
      for await (const { data } of gh.octokit.paginate.iterator(
        'GET /repos/{owner}/{repo}/commits',
        {
          owner: gh.owner,
          repo: gh.repo,
          sha: location.branch,
          since: since.toISOString(),
          per_page: 100,
        },
      )) {
        const found = data.find(c =>
          c.commit.message.split('\n').includes(trailer),
        );
        if (found) return found.sha;
        if (++pages >= MAX_COMMIT_PAGES) break;
      }
      return undefined;
    } catch (error) {
      throw gh.fail(error, '');
    }
  }

  /** The change committed to `change.branch`, re-read and re-applied on conflicts. */
  private async commitOn(
    gh: Repo,
    change: ValuesFileChange,
  ): Promise<ValuesFileWriteResult> {
    if (change.alsoEdit?.length) return this.commitTreeOn(gh, change);
    for (let attempt = 1; ; attempt++) {
      const { text: before, sha } = await this.readFile(
        gh,
        change.branch,
        change.file,
      );
      const after = change.edit(before);
      if (after === before) return { before, after };
      try {
        const { data } = await gh.octokit.rest.repos.createOrUpdateFileContents(
          {
            owner: gh.owner,
            repo: gh.repo,
            path: change.file,
            branch: change.branch,
            message: change.message,
            content: Buffer.from(after, 'utf8').toString('base64'),
            sha,
            committer: change.author,
            author: change.author,
          },
        );
        return { before, after, commit: data.commit.sha };
      } catch (error) {
        // 409/422: the blob sha is stale, someone wrote first. Start again from theirs.
        const status = (error as { status?: number }).status;
        if (status !== 409 && status !== 422) throw error;
        if (attempt >= ATTEMPTS) {
          throw new GitopsSourceError(
            'upstream-error',
            `${change.file} in ${gh.owner}/${gh.repo} kept changing (conflict ${ATTEMPTS} times); try again`,
          );
        }
      }
    }
  }

  /**
   * Several files in one commit (the contents API writes one): a tree on the head's,
   * a commit on the head, and the branch moved to it only as a fast forward, so a
   * branch someone moved meanwhile refuses (422) and the edits start again from theirs.
   */
  private async commitTreeOn(
    gh: Repo,
    change: ValuesFileChange,
  ): Promise<ValuesFileWriteResult> {
    const { owner, repo } = gh;
    const ref = `heads/${change.branch}`;
    for (let attempt = 1; ; attempt++) {
      const { data: head } = await gh.octokit.rest.git.getRef({
        owner,
        repo,
        ref,
      });
      const files = await this.editedAt(gh, head.object.sha, change);
      const changed = files.filter(f => f.after !== f.before);
      if (!changed.length) return writeResultOf(files);
      const { data: parent } = await gh.octokit.rest.git.getCommit({
        owner,
        repo,
        commit_sha: head.object.sha,
      });
      const { data: tree } = await gh.octokit.rest.git.createTree({
        owner,
        repo,
        base_tree: parent.tree.sha,
        tree: changed.map(f => ({
          path: f.file,
          mode: '100644' as const,
          type: 'blob' as const,
          content: f.after,
        })),
      });
      const { data: commit } = await gh.octokit.rest.git.createCommit({
        owner,
        repo,
        message: change.message,
        tree: tree.sha,
        parents: [head.object.sha],
        author: change.author,
        committer: change.author,
      });
      try {
        await gh.octokit.rest.git.updateRef({
          owner,
          repo,
          ref,
          sha: commit.sha,
          force: false,
        });
        return writeResultOf(files, commit.sha);
      } catch (error) {
        // 422 "Update is not a fast forward": someone wrote first.
        if ((error as { status?: number }).status !== 422) throw error;
        if (attempt >= ATTEMPTS) {
          throw new GitopsSourceError(
            'upstream-error',
            `${change.file} in ${owner}/${repo} kept changing (conflict ${ATTEMPTS} times); try again`,
          );
        }
      }
    }
  }

  /** Every file of the change at commit `sha`, before and after its edit. */
  private editedAt(gh: Repo, sha: string, change: ValuesFileChange) {
    return Promise.all(
      fileEditsOf(change).map(async ({ file, edit }) => {
        const { text } = await this.readFile(gh, sha, file);
        return { file, before: text, after: edit(text) };
      }),
    );
  }

  private async readFile(gh: Repo, ref: string, file: string) {
    const { data } = await gh.octokit.rest.repos.getContent({
      owner: gh.owner,
      repo: gh.repo,
      path: file,
      ref,
    });
    if (Array.isArray(data) || data.type !== 'file' || !('content' in data)) {
      throw new GitopsSourceError(
        'not-found',
        `${file} is not a file in ${gh.owner}/${gh.repo}`,
      );
    }
    return {
      text: Buffer.from(data.content, 'base64').toString('utf8'),
      sha: data.sha,
    };
  }

  private async requestReviewers(
    gh: Repo,
    pullNumber: number,
    reviewers: PullRequestDetails['reviewers'],
  ) {
    if (!reviewers.users.length && !reviewers.teams.length) return;
    try {
      await gh.octokit.rest.pulls.requestReviewers({
        owner: gh.owner,
        repo: gh.repo,
        pull_number: pullNumber,
        reviewers: reviewers.users,
        // GitHub wants team slugs; owners often write `org/team`.
        team_reviewers: reviewers.teams.map(team => team.split('/').pop()!),
      });
    } catch (error) {
      // The pull request is open; a reviewer GitHub refuses (the author, an unknown
      // team) must not fail the promotion.
      this.options.logger?.warn(
        `Could not request reviewers on ${gh.owner}/${gh.repo}#${pullNumber}: ${
          gh.fail(error, '').message
        }`,
      );
    }
  }

  private connect(repoURL: string, signal?: AbortSignal) {
    return connectGithub(this.integrations, this.credentials, repoURL, {
      timeoutMs: this.options.timeoutMs,
      signal,
    });
  }
}
