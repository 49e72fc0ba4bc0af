import {
  ChangeLog,
  GitopsError,
  VersionCommit,
} from '@gitops-backstage/plugin-gitops-common';
import {
  GitCredentialsResolver,
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { readCommits } from './commitMessages';
import type { CommitSource } from './commitSource';
import { ImageRegistryConfig, imageRevision } from './imageRevision';
import { LRUCache } from 'lru-cache';

const COMMIT_SHA = /^[0-9a-f]{7,40}$/;

export interface ChangeLogRequest {
  /** The app repository's clone URL (appRepositoryOf). */
  repository: string;
  /** The image repository the versions are tags (or digests) of. */
  image: string;
  from: string;
  to: string;
}

/**
 * The app-repository commits between two image versions: each version's commit from
 * its image's revision label, its tag being a commit SHA, or a release tag; then the
 * commits between from the repository's host. A version's commit never changes, nor
 * do the commits between two commits: both are cached.
 */
export class ChangeLogService {
  private readonly commits = new LRUCache<string, VersionCommit>({
    max: 10_000,
  });
  private readonly logs = new LRUCache<string, ChangeLog>({ max: 1_000 });

  constructor(
    private readonly options: {
      /** First match serves a repository: GitHub's API, GitLab's, then plain Git. */
      sources: CommitSource[];
      registries: ImageRegistryConfig[];
      credentials: GitCredentialsResolver;
      maxCommits: number;
      timeoutMs: number;
    },
  ) {}

  /**
   * Whether the backend may read `repository`: a host with a Backstage integration or
   * `gitops.git.credentials`. Never one only a catalog author vouches for.
   */
  async mayRead(repository: string) {
    const [github, gitlab] = this.options.sources;
    return Boolean(
      github?.supports(repository) ||
        gitlab?.supports(repository) ||
        (await this.options.credentials.forUrl(repository)),
    );
  }

  async changeLog(request: ChangeLogRequest): Promise<ChangeLog> {
    const key = JSON.stringify(request);
    const cached = this.logs.get(key);
    if (cached) return cached;
    const repository = redactUrl(request.repository);
    const from: VersionCommit = { version: request.from };
    const to: VersionCommit = { version: request.to };
    const failed = (error: GitopsError): ChangeLog => ({
      repository,
      from,
      to,
      direction: 'unknown',
      commits: [],
      total: 0,
      pullRequests: [],
      issueKeys: [],
      error,
    });
    try {
      if (!(await this.mayRead(request.repository))) {
        return failed({
          code: 'forbidden',
          message: `${repository} is on a host with no Backstage integration or gitops.git.credentials entry: the backend does not read it`,
        });
      }
      const signal = AbortSignal.timeout(this.options.timeoutMs * 4);
      const source = this.source(request.repository);
      const [fromCommit, toCommit] = await Promise.all([
        this.versionCommit(source, request, request.from, signal),
        this.versionCommit(source, request, request.to, signal),
      ]);
      const missing = [fromCommit, toCommit].find(c => !c.sha);
      if (missing) {
        return failed({
          code: 'not-found',
          message: `No commit of ${repository} is known for version "${
            missing.version
          }": its image has no ${'org.opencontainers.image.revision'} label, it is not a commit SHA of the repository, nor one of its tags`,
        });
      }
      const comparison = await source.compare(
        request.repository,
        fromCommit.sha!,
        toCommit.sha!,
        this.options.maxCommits,
        signal,
      );
      const read = readCommits(comparison.commits, {
        url: comparison.pullRequestUrl,
      });
      const log: ChangeLog = {
        repository,
        from: fromCommit,
        to: toCommit,
        direction: comparison.direction,
        commits: read.commits,
        total: comparison.total,
        pullRequests: read.pullRequests,
        issueKeys: read.issueKeys,
        ...(comparison.compareUrl && { compareUrl: comparison.compareUrl }),
      };
      this.logs.set(key, log);
      return log;
    } catch (error) {
      if (error instanceof GitopsSourceError) {
        return failed({ code: error.code, message: error.message });
      }
      const timedOut = (error as Error)?.name === 'TimeoutError';
      return failed({
        code: timedOut ? 'timeout' : 'upstream-error',
        message: timedOut
          ? `${repository} did not answer in time`
          : `Reading the commits of ${repository} failed: ${redactUrl(
              String((error as Error)?.message ?? error),
            )}`,
      });
    }
  }

  private source(repository: string) {
    const source = this.options.sources.find(s => s.supports(repository));
    if (!source) {
      throw new GitopsSourceError(
        'not-found',
        `No commit source reads ${redactUrl(repository)}`,
      );
    }
    return source;
  }

  /** In order: the image's revision label, the tag as a commit SHA, a release tag. */
  private async versionCommit(
    source: CommitSource,
    request: ChangeLogRequest,
    version: string,
    signal: AbortSignal,
  ): Promise<VersionCommit> {
    const key = JSON.stringify([request.repository, request.image, version]);
    const cached = this.commits.get(key);
    if (cached) return cached;
    const found = async (): Promise<VersionCommit> => {
      const label = await imageRevision(
        this.options.registries,
        { repository: request.image, reference: version },
        signal,
      );
      if (label && COMMIT_SHA.test(label)) {
        const sha = await source.resolve(
          request.repository,
          { commit: label },
          signal,
        );
        if (sha) return { version, sha, origin: 'image-label' };
      }
      if (COMMIT_SHA.test(version)) {
        const sha = await source.resolve(
          request.repository,
          { commit: version },
          signal,
        );
        if (sha) return { version, sha, origin: 'commit-tag' };
      }
      if (!version.startsWith('sha256:')) {
        const sha = await source.resolve(
          request.repository,
          { tag: version },
          signal,
        );
        if (sha) return { version, sha, origin: 'release-tag' };
      }
      return { version };
    };
    const commit = await found();
    // Only a found commit is kept: a version built later may still get one.
    if (commit.sha) this.commits.set(key, commit);
    return commit;
  }
}
