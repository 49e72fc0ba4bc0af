import fs from 'node:fs';
import git from 'isomorphic-git';
import {
  GitCredentialsResolver,
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { KeptClones } from './keptClones';
import {
  gitSourceError,
  remote as remoteOf,
  withShallowClone,
} from './shallowClone';

const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** The files at `commit` of a clone; undefined for those it does not have. */
async function readAt(
  dir: string,
  commit: string,
  paths: string[],
): Promise<ConfigRepoFiles> {
  const files: ConfigRepoFiles['files'] = {};
  for (const file of paths) {
    try {
      const { blob } = await git.readBlob({
        fs,
        dir,
        oid: commit,
        filepath: file,
      });
      files[file] = Buffer.from(blob).toString('utf8');
    } catch {
      files[file] = undefined;
    }
  }
  return { commit, files };
}

/** Files of a config repository at the commit a branch or tag named when read. */
export interface ConfigRepoFiles {
  commit: string;
  /** Contents by path; undefined for a path that is not in the repository. */
  files: Record<string, string | undefined>;
}

/**
 * Reads files of config repositories over Git smart HTTP: a shallow, single-branch
 * fetch of the wanted ref into a temporary directory, never a full clone. Works the
 * same with GitHub, GitLab and any Git server.
 */
export class GitConfigRepoReader {
  /** `clones` is shared with the GitConfigRepoWriter (see readFiles). */
  constructor(
    private readonly credentials: GitCredentialsResolver,
    private readonly timeoutMs: number,
    private readonly clones: KeptClones,
  ) {}

  /**
   * A named branch or tag is read from its kept clone, which later reads and the
   * promotions writing to that branch only bring up to date; `HEAD` and commit SHAs from
   * a throwaway shallow clone.
   */
  readFiles(
    repoURL: string,
    ref: string,
    paths: string[],
    options: { signal?: AbortSignal } = {},
  ): Promise<ConfigRepoFiles> {
    if (ref !== 'HEAD' && !COMMIT_SHA.test(ref)) {
      return this.clones.use(
        { repoURL, branch: ref, signal: options.signal },
        ({ dir, head }) => readAt(dir, head, paths),
      );
    }
    return withShallowClone(
      {
        credentials: this.credentials,
        timeoutMs: this.timeoutMs,
        repoURL,
        ref,
        checkout: false,
        signal: options.signal,
      },
      async ({ dir }) =>
        readAt(dir, await git.resolveRef({ fs, dir, ref: 'HEAD' }), paths),
    );
  }

  /**
   * The YAML files under `dir` (recursively) at the head of a branch, at most `max`:
   * where an app of apps keeps its Application manifests.
   */
  readYamlFilesUnder(
    repoURL: string,
    branch: string,
    dir: string,
    max = 500,
  ): Promise<ConfigRepoFiles> {
    const prefix = dir.replace(/^\/+|\/+$/g, '');
    return this.clones.use({ repoURL, branch }, async clone => {
      const paths = (
        await git.listFiles({ fs, dir: clone.dir, ref: clone.head })
      ).filter(
        file =>
          /\.ya?ml$/.test(file) &&
          (prefix === '' || prefix === '.' || file.startsWith(`${prefix}/`)),
      );
      return readAt(clone.dir, clone.head, paths.slice(0, max));
    });
  }

  /**
   * The commit `ref` (a branch, a tag or `HEAD`) names in the repository now: one small
   * request (protocol v2 `ls-refs` with the ref as prefix), no fetch. Undefined when the
   * repository has no such ref.
   */
  async headOf(repoURL: string, ref: string): Promise<string | undefined> {
    if (COMMIT_SHA.test(ref)) return ref;
    try {
      const common = await remoteOf(
        { credentials: this.credentials, timeoutMs: this.timeoutMs, repoURL },
        '',
      );
      const names =
        ref === 'HEAD' ? ['HEAD'] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
      // A branch first; a tag only when there is no branch of that name (as Argo CD).
      for (const name of names) {
        const refs = await git.listServerRefs({
          http: common.http,
          onAuth: common.onAuth,
          url: repoURL,
          prefix: name,
          peelTags: true,
          protocolVersion: 2,
        });
        const found = refs.find(r => r.ref === name);
        // An annotated tag names a tag object; the commit it peels to is what is read.
        if (found) return found.peeled ?? found.oid;
      }
      return undefined;
    } catch (error) {
      throw gitSourceError(error, repoURL, ref);
    }
  }

  /**
   * One file as it was at an earlier commit of a branch (a deployment Argo CD
   * recorded), when that commit is within `maxDepth` commits of the branch's head.
   */
  async readFileAt(
    location: { repoURL: string; branch: string; file: string },
    revision: string,
    maxDepth = 1000,
  ): Promise<string | undefined> {
    const { repoURL, branch, file } = location;
    const found = await this.deepening(location, maxDepth, async dir => {
      try {
        await git.readCommit({ fs, dir, oid: revision });
      } catch {
        return undefined;
      }
      try {
        const { blob } = await git.readBlob({
          fs,
          dir,
          oid: revision,
          filepath: file,
        });
        return { text: Buffer.from(blob).toString('utf8') };
      } catch {
        return { text: undefined };
      }
    });
    if (!found) {
      throw new GitopsSourceError(
        'not-found',
        `Commit ${revision} is not within ${maxDepth} commits of ${branch} in ${redactUrl(
          repoURL,
        )}`,
      );
    }
    return found.text;
  }

  /**
   * The commit of a branch whose message has the line `trailer` (a promotion's
   * `Promotion-Id: <id>`), looked for among the commits made since `since`, at most
   * `maxDepth` back; undefined when there is none.
   */
  async findCommit(
    location: { repoURL: string; branch: string },
    trailer: string,
    since: Date,
    maxDepth = 256,
  ): Promise<string | undefined> {
    const found = await this.deepening(location, maxDepth, async dir => {
      const commits = await git.log({ fs, dir, ref: 'HEAD' });
      const match = commits.find(c =>
        c.commit.message.split('\n').includes(trailer),
      );
      if (match) return { commit: match.oid };
      const oldest = commits[commits.length - 1];
      // Older than `since` already: deeper history cannot hold it.
      return oldest.commit.committer.timestamp * 1000 < since.getTime()
        ? { commit: undefined }
        : undefined;
    });
    return found?.commit;
  }

  /**
   * Fetches a branch shallow (depth 1), then deeper (×4 each time, up to `maxDepth`)
   * until `look` answers; undefined when it never does. Never a full clone.
   */
  private deepening<T>(
    location: { repoURL: string; branch: string },
    maxDepth: number,
    look: (dir: string) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const { repoURL, branch } = location;
    return withShallowClone(
      {
        credentials: this.credentials,
        timeoutMs: this.timeoutMs,
        repoURL,
        ref: branch,
        checkout: false,
      },
      async ({ dir, git: remote }) => {
        for (let depth = 1; ; depth *= 4) {
          const answer = await look(dir);
          if (answer !== undefined || depth >= maxDepth) return answer;
          const before = (await git.log({ fs, dir, ref: 'HEAD' })).length;
          await git.fetch({
            ...remote,
            ref: branch,
            singleBranch: true,
            depth: Math.min(depth * 4, maxDepth),
            tags: false,
          });
          // The whole history is here: deeper fetches bring nothing more.
          if ((await git.log({ fs, dir, ref: 'HEAD' })).length === before) {
            return undefined;
          }
        }
      },
    );
  }
}
