import {
  DefaultGithubCredentialsProvider,
  GithubCredentialsProvider,
  ScmIntegrationRegistry,
} from '@backstage/integration';
import { connectGithub, GithubRepo } from '../Scm/githubRepo';
import type { RawCommit } from './commitMessages';
import { CommitComparison, CommitSource, directionOf } from './commitSource';

const PER_PAGE = 100;

/** An app repository's commits through GitHub's REST API (compare, commits, refs). */
export class GithubCommits implements CommitSource {
  private readonly credentials: GithubCredentialsProvider;

  constructor(
    private readonly integrations: ScmIntegrationRegistry,
    private readonly timeoutMs: number,
  ) {
    this.credentials =
      DefaultGithubCredentialsProvider.fromIntegrations(integrations);
  }

  supports(repoURL: string) {
    return Boolean(this.integrations.github.byUrl(repoURL));
  }

  async resolve(
    repoURL: string,
    ref: { commit: string } | { tag: string },
    signal: AbortSignal,
  ) {
    const gh = await this.connect(repoURL, signal);
    const { owner, repo, octokit } = gh;
    try {
      if ('commit' in ref) {
        const { data } = await octokit.rest.repos.getCommit({
          owner,
          repo,
          ref: ref.commit,
          per_page: 1,
        });
        return data.sha;
      }
      const { data } = await octokit.rest.git.getRef({
        owner,
        repo,
        ref: `tags/${ref.tag}`,
      });
      if (data.object.type !== 'tag') return data.object.sha;
      // An annotated tag: the commit it points at.
      const { data: tag } = await octokit.rest.git.getTag({
        owner,
        repo,
        tag_sha: data.object.sha,
      });
      return tag.object.sha;
    } catch (error) {
      const status = (error as { status?: number }).status;
      // 422: GitHub's answer to a SHA that names no commit.
      if (status === 404 || status === 422) return undefined;
      throw gh.fail(error, '');
    }
  }

  async compare(
    repoURL: string,
    from: string,
    to: string,
    max: number,
    signal: AbortSignal,
  ): Promise<CommitComparison> {
    const gh = await this.connect(repoURL, signal);
    try {
      const first = await this.page(gh, from, to, 1);
      const pullRequestUrl = (n: number) => `${gh.webUrl}/pull/${n}`;
      if (first.status === 'identical') {
        return {
          direction: 'same',
          commits: [],
          total: 0,
          compareUrl: first.html_url,
          pullRequestUrl,
        };
      }
      // Behind: the commits that leave are the ones `from` has over `to`.
      const behind = first.status === 'behind';
      const listed = behind ? await this.page(gh, to, from, 1) : first;
      const total = behind ? first.behind_by : first.ahead_by;
      // GitHub lists the oldest first: the newest `max` are on the last pages.
      const [base, head] = behind ? [to, from] : [from, to];
      const newest: CompareCommit[] = [];
      for (
        let page = Math.ceil(total / PER_PAGE);
        page >= 1 && newest.length < max;
        page--
      ) {
        const { commits } =
          page === 1 ? listed : await this.page(gh, base, head, page);
        newest.push(...[...commits].reverse());
      }
      return {
        direction: directionOf(first.ahead_by > 0, first.behind_by > 0),
        commits: rawCommits(newest, gh).slice(0, max),
        total,
        compareUrl: first.html_url,
        pullRequestUrl,
      };
    } catch (error) {
      throw gh.fail(error, '');
    }
  }

  private async page(gh: GithubRepo, base: string, head: string, page: number) {
    const { data } = await gh.octokit.rest.repos.compareCommitsWithBasehead({
      owner: gh.owner,
      repo: gh.repo,
      basehead: `${base}...${head}`,
      per_page: PER_PAGE,
      page,
    });
    return data;
  }

  private connect(repoURL: string, signal: AbortSignal) {
    return connectGithub(this.integrations, this.credentials, repoURL, {
      timeoutMs: this.timeoutMs,
      signal,
    });
  }
}

type CompareCommit = Awaited<
  ReturnType<GithubCommits['page']>
>['commits'][number];

function rawCommits(commits: CompareCommit[], gh: GithubRepo): RawCommit[] {
  const seen = new Set<string>();
  return commits
    .filter(c => !seen.has(c.sha) && seen.add(c.sha))
    .map(c => ({
      sha: c.sha,
      message: c.commit.message,
      author: c.commit.author?.name ?? c.author?.login,
      // When it landed (a squash merge's time), not when its author first wrote it.
      date: c.commit.committer?.date ?? c.commit.author?.date,
      url: c.html_url || `${gh.webUrl}/commit/${c.sha}`,
    }));
}
