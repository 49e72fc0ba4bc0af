import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import {
  GitCredentialsResolver,
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { gitSourceError, remote } from '../ConfigRepo/shallowClone';
import type { RawCommit } from './commitMessages';
import { CommitComparison, CommitSource, directionOf } from './commitSource';

/** A fetched copy is reused this long: the lanes ask for several pairs at once. */
const REUSE_MS = 30_000;

interface Fetched {
  dir: string;
  cache: object;
}

/**
 * An app repository's commits over plain Git smart HTTP (any Git server): the
 * default branch and its tags fetched to a bounded depth into a temporary directory,
 * never a full clone; a commit older than that depth is reported as not found.
 */
export class GitCommits implements CommitSource {
  private readonly copies = new Map<
    string,
    { at: number; ready: Promise<Fetched> }
  >();

  constructor(
    private readonly options: {
      credentials: GitCredentialsResolver;
      timeoutMs: number;
      /** Commits of history fetched (`gitops.changeLog.fetchDepth`). */
      depth: number;
    },
  ) {}

  supports() {
    return true;
  }

  async resolve(
    repoURL: string,
    ref: { commit: string } | { tag: string },
    signal: AbortSignal,
  ): Promise<string | undefined> {
    if ('tag' in ref) {
      // The fetched copy has the tags; one made since is asked of the server.
      const copy = await this.fetched(repoURL, signal);
      return (
        (await this.tagIn(copy, ref.tag)) ??
        this.resolveTag(repoURL, ref.tag, signal)
      );
    }
    const found = await this.expand(
      await this.fetched(repoURL, signal),
      repoURL,
      ref.commit,
    );
    if (found) return found;
    // A reused copy may predate the commit: fetch again, once.
    this.copies.delete(repoURL);
    return this.expand(
      await this.fetched(repoURL, signal),
      repoURL,
      ref.commit,
    );
  }

  /** A tag in a fetched copy (peeled when annotated), undefined when it has none. */
  private async tagIn(copy: Fetched, tag: string) {
    const common = { fs, dir: copy.dir, cache: copy.cache };
    try {
      const oid = await git.resolveRef({ ...common, ref: `refs/tags/${tag}` });
      const { type, object } = await git.readObject({ ...common, oid });
      return type === 'tag' ? (object as { object: string }).object : oid;
    } catch {
      return undefined;
    }
  }

  /** A tag from the server's refs, fresh and without a fetch (peeled when annotated). */
  private async resolveTag(repoURL: string, tag: string, signal: AbortSignal) {
    const name = `refs/tags/${tag}`;
    try {
      const { http, onAuth } = await remote(
        {
          credentials: this.options.credentials,
          timeoutMs: this.options.timeoutMs,
          repoURL,
          signal,
        },
        '',
      );
      const refs = await git.listServerRefs({
        http,
        onAuth,
        url: repoURL,
        prefix: name,
        peelTags: true,
      });
      const found = refs.find(r => r.ref === name);
      return found?.peeled ?? found?.oid;
    } catch (error) {
      throw gitSourceError(error, repoURL, tag, 'app repository');
    }
  }

  private async expand(copy: Fetched, repoURL: string, commit: string) {
    try {
      return await git.expandOid({
        fs,
        dir: copy.dir,
        cache: copy.cache,
        oid: commit,
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'NotFoundError')
        return undefined;
      throw gitSourceError(error, repoURL, commit, 'app repository');
    }
  }

  async compare(
    repoURL: string,
    from: string,
    to: string,
    max: number,
    signal: AbortSignal,
  ): Promise<CommitComparison> {
    const copy = await this.fetched(repoURL, signal);
    const fromSide = await this.history(copy, from);
    const toSide = await this.history(copy, to);
    for (const [sha, side] of [
      [from, fromSide],
      [to, toSide],
    ] as const) {
      if (!side.has(sha)) {
        throw new GitopsSourceError(
          'not-found',
          `app repository ${redactUrl(repoURL)} has no commit ${sha.slice(
            0,
            12,
          )} within the last ${
            this.options.depth
          } commits of its default branch and tags`,
        );
      }
    }
    const ahead = [...toSide.values()].filter(c => !fromSide.has(c.sha));
    const behind = [...fromSide.values()].filter(c => !toSide.has(c.sha));
    const direction = directionOf(ahead.length > 0, behind.length > 0);
    const listed = direction === 'behind' ? behind : ahead;
    return {
      direction,
      commits: listed.slice(0, max).map(c => c.raw),
      total: listed.length,
    };
  }

  /** `start` and its ancestors as far as the fetched depth, newest first. */
  private async history(copy: Fetched, start: string) {
    const seen = new Map<
      string,
      { sha: string; time: number; raw: RawCommit }
    >();
    const queue = [start];
    while (queue.length) {
      const oid = queue.shift()!;
      if (seen.has(oid)) continue;
      let commit;
      try {
        ({ commit } = await git.readCommit({
          fs,
          dir: copy.dir,
          oid,
          cache: copy.cache,
        }));
      } catch {
        // Past the fetched depth (a shallow boundary's parent), or not fetched.
        continue;
      }
      seen.set(oid, {
        sha: oid,
        time: commit.committer.timestamp,
        raw: {
          sha: oid,
          message: commit.message.trimEnd(),
          author: commit.author.name,
          date: new Date(commit.committer.timestamp * 1000).toISOString(),
        },
      });
      queue.push(...commit.parent);
    }
    // Newest first, as git log; breadth-first order breaks ties.
    return new Map([...seen.entries()].sort(([, a], [, b]) => b.time - a.time));
  }

  private fetched(repoURL: string, signal: AbortSignal): Promise<Fetched> {
    const now = Date.now();
    const copy = this.copies.get(repoURL);
    if (copy && now - copy.at < REUSE_MS) return copy.ready;
    const ready = this.fetch(repoURL, signal);
    this.copies.set(repoURL, { at: now, ready });
    ready.catch(() => this.copies.delete(repoURL));
    // Removed once no longer reused.
    setTimeout(() => {
      if (this.copies.get(repoURL)?.ready === ready)
        this.copies.delete(repoURL);
      ready
        .then(f => fs.promises.rm(f.dir, { recursive: true, force: true }))
        .catch(() => undefined);
    }, REUSE_MS * 2).unref();
    return ready;
  }

  private async fetch(repoURL: string, signal: AbortSignal): Promise<Fetched> {
    const dir = await fs.promises.mkdtemp(
      path.join(os.tmpdir(), 'gitops-app-'),
    );
    const cache = {};
    try {
      const common = await remote(
        {
          credentials: this.options.credentials,
          timeoutMs: this.options.timeoutMs,
          repoURL,
          signal,
        },
        dir,
      );
      await git.clone({
        ...common,
        cache,
        url: repoURL,
        singleBranch: true,
        depth: this.options.depth,
        noCheckout: true,
      });
      return { dir, cache };
    } catch (error) {
      await fs.promises.rm(dir, { recursive: true, force: true });
      throw gitSourceError(error, repoURL, 'HEAD', 'app repository');
    }
  }

  /** Removes every fetched copy (at shutdown). */
  async close() {
    const copies = [...this.copies.values()];
    this.copies.clear();
    await Promise.all(
      copies.map(c =>
        c.ready
          .then(f => fs.promises.rm(f.dir, { recursive: true, force: true }))
          .catch(() => undefined),
      ),
    );
  }
}
