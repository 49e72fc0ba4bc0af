import { ScmIntegrationRegistry } from '@backstage/integration';
import {
  connectGitlab,
  gitlabStatus,
  GitlabProject,
} from '../Scm/gitlabProject';
import type { RawCommit } from './commitMessages';
import { CommitComparison, CommitSource, directionOf } from './commitSource';

/** An app repository's commits through GitLab's REST API (compare, commits, tags). */
export class GitlabCommits implements CommitSource {
  constructor(
    private readonly integrations: ScmIntegrationRegistry,
    private readonly timeoutMs: number,
  ) {}

  supports(repoURL: string) {
    return Boolean(this.integrations.gitlab.byUrl(repoURL));
  }

  async resolve(
    repoURL: string,
    ref: { commit: string } | { tag: string },
    signal: AbortSignal,
  ) {
    const gl = this.connect(repoURL, signal);
    try {
      if ('commit' in ref) {
        const commit = await gl.api.Commits.show(gl.path, ref.commit);
        return commit.id;
      }
      const tag = await gl.api.Tags.show(gl.path, ref.tag);
      return tag.commit.id;
    } catch (error) {
      if (gitlabStatus(error) === 404) return undefined;
      throw gl.fail(error, '');
    }
  }

  async compare(
    repoURL: string,
    from: string,
    to: string,
    max: number,
    signal: AbortSignal,
  ): Promise<CommitComparison> {
    const gl = this.connect(repoURL, signal);
    try {
      const pullRequestUrl = (n: number) =>
        `${gl.webUrl}/-/merge_requests/${n}`;
      const compareUrl = `${gl.webUrl}/-/compare/${from}...${to}`;
      const ahead = await this.commits(gl, from, to);
      const behind = await this.commits(gl, to, from);
      const direction = directionOf(ahead.length > 0, behind.length > 0);
      const listed = direction === 'behind' ? behind : ahead;
      return {
        direction,
        // GitLab lists the oldest first.
        commits: [...listed].reverse().slice(0, max),
        total: listed.length,
        compareUrl,
        pullRequestUrl,
      };
    } catch (error) {
      throw gl.fail(error, '');
    }
  }

  /** The commits `to` has over `from` (GitLab's compare from their merge base). */
  private async commits(
    gl: GitlabProject,
    from: string,
    to: string,
  ): Promise<RawCommit[]> {
    if (gl.signal?.aborted) throw gl.signal.reason;
    const comparison = await gl.api.Repositories.compare(gl.path, from, to, {
      straight: false,
    });
    return (comparison.commits ?? []).map(c => ({
      sha: String(c.id),
      message: String(c.message ?? c.title ?? ''),
      ...(c.author_name ? { author: String(c.author_name) } : {}),
      // When it landed, not when its author first wrote it.
      ...(c.committed_date ? { date: String(c.committed_date) } : {}),
      ...(c.web_url ? { url: String(c.web_url) } : {}),
    }));
  }

  private connect(repoURL: string, signal: AbortSignal) {
    return connectGitlab(this.integrations, repoURL, {
      timeoutMs: this.timeoutMs,
      signal,
    });
  }
}
