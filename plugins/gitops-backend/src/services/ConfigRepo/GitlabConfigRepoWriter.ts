import { LoggerService } from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import {
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
import {
  connectGitlab,
  gitlabStatus as status,
  GitlabProject,
} from '../Scm/gitlabProject';

const ATTEMPTS = 3;
/** Pages of 100 commits an interrupted promotion's commit is looked for in. */
const MAX_COMMIT_PAGES = 10;

interface Options {
  timeoutMs: number;
  logger?: LoggerService;
}

type Project = GitlabProject;

/**
 * Writes values files through GitLab's files and commits APIs: no clone, and the
 * file's `last_commit_id` sent with each commit makes GitLab refuse it (400) when
 * someone wrote first. The token comes from Backstage's GitLab integrations.
 */
export class GitlabConfigRepoWriter implements ConfigRepoWriter {
  readonly id = 'gitlab';

  static fromConfig(config: Config, options: Options) {
    return new GitlabConfigRepoWriter(
      ScmIntegrations.fromConfig(config),
      options,
    );
  }

  constructor(
    private readonly integrations: ScmIntegrationRegistry,
    private readonly options: Options,
  ) {}

  supports(repoURL: string) {
    return Boolean(this.integrations.gitlab.byUrl(repoURL));
  }

  async read(
    location: { repoURL: string; branch: string; file: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    const gl = this.connect(location.repoURL, options.signal);
    try {
      return (await this.readFile(gl, location.branch, location.file)).text;
    } catch (error) {
      throw gl.fail(error, location.file);
    }
  }

  async commit(
    change: ValuesFileChange,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    const gl = this.connect(change.repoURL, options.signal);
    try {
      return await this.commitOn(gl, change);
    } catch (error) {
      throw gl.fail(error, change.file);
    }
  }

  async openPullRequest(
    change: ValuesFileChange,
    pullRequest: PullRequestDetails,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    const gl = this.connect(change.repoURL, options.signal);
    try {
      const base = await this.edited(gl, change.branch, change);
      // Start the branch at the commit just read, so the edits apply to that text.
      if (!base.changed.length) return writeResultOf(base.files);
      gl.signal?.throwIfAborted();
      await gl.api.Branches.create(gl.path, pullRequest.branch, base.commit);
      const result = await this.commitOn(gl, {
        ...change,
        branch: pullRequest.branch,
      });
      const reviewerIds = await this.userIds(gl, pullRequest.reviewers.users);
      gl.signal?.throwIfAborted();
      const mr = await gl.api.MergeRequests.create(
        gl.path,
        pullRequest.branch,
        change.branch,
        pullRequest.title,
        {
          description: pullRequest.body,
          removeSourceBranch: true,
          // GitLab has no team reviewers; teams are left to CODEOWNERS.
          ...(reviewerIds.length ? { reviewerIds } : {}),
        },
      );
      return { ...result, pullRequestUrl: mr.web_url };
    } catch (error) {
      throw gl.fail(error, change.file);
    }
  }

  /** The newest merge request from `branch`: merged, open or closed. */
  async pullRequestState(
    pullRequest: { repoURL: string; branch: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<PullRequestState> {
    const gl = this.connect(pullRequest.repoURL, options.signal);
    try {
      gl.signal?.throwIfAborted();
      const [mr] = await gl.api.MergeRequests.all({
        projectId: gl.path,
        sourceBranch: pullRequest.branch,
        orderBy: 'created_at',
        perPage: 1,
        maxPages: 1,
      });
      if (!mr) return { state: 'none' };
      const url = mr.web_url;
      if (mr.state === 'merged') {
        // A fast-forward merge has no merge commit: the branch's head landed as it is.
        const commit = mr.merge_commit_sha ?? mr.squash_commit_sha ?? mr.sha;
        return { state: 'merged', url, commit };
      }
      // `locked` is a merge request being merged: still open.
      return { state: mr.state === 'closed' ? 'closed' : 'open', url };
    } catch (error) {
      throw gl.fail(error, '');
    }
  }

  async findCommit(
    location: { repoURL: string; branch: string },
    trailer: string,
    since: Date,
  ): Promise<string | undefined> {
    const gl = this.connect(location.repoURL);
    try {
      const commits = await gl.api.Commits.all(gl.path, {
        refName: location.branch,
        since: since.toISOString(),
        perPage: 100,
        maxPages: MAX_COMMIT_PAGES,
      });
      return commits.find(c => c.message.split('\n').includes(trailer))?.id;
    } catch (error) {
      throw gl.fail(error, '');
    }
  }

  /** The change committed to `change.branch`, re-read and re-applied on conflicts. */
  private async commitOn(
    gl: Project,
    change: ValuesFileChange,
  ): Promise<ValuesFileWriteResult> {
    for (let attempt = 1; ; attempt++) {
      const { files, changed } = await this.edited(gl, change.branch, change);
      if (!changed.length) return writeResultOf(files);
      gl.signal?.throwIfAborted();
      try {
        const commit = await gl.api.Commits.create(
          gl.path,
          change.branch,
          change.message,
          changed.map(f => ({
            action: 'update' as const,
            filePath: f.file,
            content: f.after,
            lastCommitId: f.lastCommitId,
          })),
          { authorName: change.author.name, authorEmail: change.author.email },
        );
        return writeResultOf(files, commit.id);
      } catch (error) {
        // 400: a file changed since its `lastCommitId`, someone wrote first. Start
        // again from theirs.
        if (status(error) !== 400) throw error;
        if (attempt >= ATTEMPTS) {
          throw new GitopsSourceError(
            'upstream-error',
            `${change.file} in ${gl.path} kept changing (conflict ${ATTEMPTS} times); try again`,
          );
        }
      }
    }
  }

  /**
   * Every file of the change at `ref`, edited: the others read at the commit the values
   * file was read at, so all edits apply to one commit's text.
   */
  private async edited(gl: Project, ref: string, change: ValuesFileChange) {
    const [first, ...rest] = fileEditsOf(change);
    const base = await this.readFile(gl, ref, first.file);
    const read = [
      { ...first, ...base },
      ...(await Promise.all(
        rest.map(async e => ({
          ...e,
          ...(await this.readFile(gl, base.commit, e.file)),
        })),
      )),
    ];
    const files = read.map(f => ({
      file: f.file,
      before: f.text,
      after: f.edit(f.text),
      lastCommitId: f.lastCommitId,
    }));
    return {
      commit: base.commit,
      files: files.map(({ file, before, after }) => ({ file, before, after })),
      changed: files.filter(f => f.after !== f.before),
    };
  }

  private async readFile(gl: Project, ref: string, file: string) {
    gl.signal?.throwIfAborted();
    const data = await gl.api.RepositoryFiles.show(gl.path, file, ref);
    return {
      text: Buffer.from(data.content, 'base64').toString('utf8'),
      lastCommitId: data.last_commit_id,
      commit: data.commit_id,
    };
  }

  /** GitLab user ids of the reviewers' usernames; unknown users are skipped. */
  private async userIds(gl: Project, usernames: string[]) {
    const ids: number[] = [];
    for (const username of usernames) {
      try {
        const [user] = await gl.api.Users.all({ username });
        if (user) ids.push(user.id);
      } catch (error) {
        // A reviewer lookup must not fail the promotion.
        this.options.logger?.warn(gl.fail(error, '').message);
      }
    }
    return ids;
  }

  private connect(repoURL: string, signal?: AbortSignal): Project {
    return connectGitlab(this.integrations, repoURL, {
      timeoutMs: this.options.timeoutMs,
      signal,
    });
  }
}
