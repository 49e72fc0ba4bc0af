import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import {
  GitCredentialsResolver,
  GitopsSourceError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { Clone, gitSourceError, remote, thinPack } from './shallowClone';

/** How many kept clones at most; beyond, the least recently used is removed. */
const MAX_KEPT = 8;
/** A kept clone unused this long is removed. */
const IDLE_MS = 10 * 60_000;
/** Fetches into one clone before it is cloned afresh (each adds loose objects). */
const MAX_FETCHES = 100;
/**
 * A use of a clone (a fetch and the work on it: a few Git requests) is given this many
 * Git timeouts at most. Each request has its own timeout; this bounds what they do not,
 * so that one use that never ends cannot hold up every later use of the repository.
 */
const USE_DEADLINE_TIMEOUTS = 6;

/** Directories of kept clones, removed when the process exits without closing them. */
const keptDirs = new Set<string>();
let exitHook = false;

function removeAtExit(dir: string) {
  keptDirs.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const kept of keptDirs) {
      fs.rmSync(kept, { recursive: true, force: true });
    }
  });
}

/** One clone's directory, and what isomorphic-git knows of it. */
interface Checkout {
  dir: string;
  cache: object;
  fetches: number;
}

interface Kept {
  checkout?: Checkout;
  /** Uses of the clone run one after the other, in this chain. */
  queue: Promise<unknown>;
  users: number;
  idle?: NodeJS.Timeout;
}

type Location = { repoURL: string; branch: string; signal?: AbortSignal };

/**
 * Shallow clones kept between uses, one per repository and branch, without a working
 * tree. The first use clones (depth 1); later ones fetch only what changed since, as a
 * thin pack, so a commit to a big repository does not download and index its whole tree
 * (seconds in isomorphic-git) every time. Uses of one clone run one at a time. A clone
 * is removed when idle, when it has taken MAX_FETCHES fetches, after a failed fetch, and
 * when a use of it outlives its deadline (the next use clones afresh beside it).
 */
export class KeptClones {
  private readonly clones = new Map<string, Kept>();

  constructor(
    private readonly options: {
      credentials: GitCredentialsResolver;
      timeoutMs: number;
      /** How long one use may take; USE_DEADLINE_TIMEOUTS Git timeouts by default. */
      useDeadlineMs?: number;
    },
  ) {}

  /** Runs `work` on the clone of `branch`, brought up to date; `head` is its commit. */
  use<T>(
    location: Location,
    work: (clone: Clone & { head: string }) => Promise<T>,
  ): Promise<T> {
    const key = `${location.branch} ${location.repoURL}`;
    const kept = this.clones.get(key) ?? {
      queue: Promise.resolve(),
      users: 0,
    };
    // Map order is use order: the first entries are the least recently used.
    this.clones.delete(key);
    this.clones.set(key, kept);
    for (const [oldKey, old] of this.clones) {
      if (this.clones.size <= MAX_KEPT) break;
      this.remove(oldKey, old);
    }
    kept.users++;
    clearTimeout(kept.idle);
    return this.enqueue(kept, () =>
      this.withDeadline(kept, location, async checkout =>
        work(await this.update(kept, checkout, location)),
      ),
    ).finally(() => {
      if (--kept.users === 0) {
        kept.idle = setTimeout(() => this.remove(key, kept), IDLE_MS);
        kept.idle.unref();
      }
    });
  }

  /** Removes every kept clone (at shutdown, and in tests). */
  async close() {
    const all = [...this.clones];
    for (const [key, kept] of all) this.remove(key, kept);
    await Promise.all(all.map(([, kept]) => kept.queue));
  }

  private enqueue<T>(kept: Kept, task: () => Promise<T>): Promise<T> {
    const run = kept.queue.then(task);
    kept.queue = run.catch(() => undefined);
    return run;
  }

  private remove(key: string, kept: Kept) {
    clearTimeout(kept.idle);
    if (this.clones.get(key) === kept) this.clones.delete(key);
    this.enqueue(kept, () => this.discard(kept, kept.checkout)).catch(
      () => undefined,
    );
  }

  /**
   * Runs `task` on the kept clone's directory (a new one when it has none, or has taken
   * MAX_FETCHES fetches), failing with a timeout when it outlives its deadline. The
   * queue then moves on: the stuck task keeps its directory, removed once it ends,
   * and the next use clones into a new one.
   */
  private async withDeadline<T>(
    kept: Kept,
    location: Location,
    task: (checkout: Checkout) => Promise<T>,
  ): Promise<T> {
    if (kept.checkout && kept.checkout.fetches >= MAX_FETCHES) {
      await this.discard(kept, kept.checkout);
    }
    kept.checkout ??= await newCheckout();
    const checkout = kept.checkout;
    const running = task(checkout);
    const deadlineMs =
      this.options.useDeadlineMs ??
      this.options.timeoutMs * USE_DEADLINE_TIMEOUTS;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (kept.checkout === checkout) kept.checkout = undefined;
        running.catch(() => undefined).then(() => this.discard(kept, checkout));
        reject(
          new GitopsSourceError(
            'timeout',
            `config repository ${redactUrl(
              location.repoURL,
            )}: the Git work on ${location.branch} did not end within ${
              deadlineMs / 1000
            } s`,
          ),
        );
      }, deadlineMs);
    });
    try {
      return await Promise.race([running, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Clones the branch into a new checkout, or fetches what changed since its last use. */
  private async update(
    kept: Kept,
    checkout: Checkout,
    location: Location,
  ): Promise<Clone & { head: string }> {
    const { repoURL, branch } = location;
    try {
      const fresh = checkout.fetches === 0;
      const common = await remote(
        { ...this.options, ...location },
        checkout.dir,
      );
      const options = {
        ...common,
        cache: checkout.cache,
        url: repoURL,
        ref: branch,
        singleBranch: true,
        depth: 1,
      };
      let head: string | null;
      if (fresh) {
        // Tags too: a tag can be the ref (only those on the fetched commit come).
        await git.clone({ ...options, noCheckout: true });
        head = await git.resolveRef({ ...common, ref: 'HEAD' });
      } else {
        const before = new Set(await packIndexes(common.dir));
        const http = thinPack(common.http);
        ({ fetchHead: head } = await git.fetch({
          ...options,
          http,
          tags: false,
        }));
        for (const index of await packIndexes(common.dir)) {
          if (!before.has(index)) await unpack(common, checkout, index);
        }
      }
      checkout.fetches++;
      if (!head) {
        throw new GitopsSourceError(
          'not-found',
          `config repository ${redactUrl(repoURL)} has no branch "${branch}"`,
        );
      }
      // An annotated tag names a tag object; its commit is what was read.
      const object = await git.readObject({ ...common, oid: head });
      if (object.type === 'tag') {
        head = (await git.readTag({ ...common, oid: head })).tag.object;
      }
      // The local branch is what the next fetch says it has.
      await git.writeRef({
        ...common,
        ref: `refs/heads/${branch}`,
        value: head,
        force: true,
      });
      return {
        dir: common.dir,
        git: { ...common, cache: checkout.cache },
        head,
      };
    } catch (error) {
      await this.discard(kept, checkout);
      throw gitSourceError(error, repoURL, branch);
    }
  }

  /** Removes a checkout's directory; the kept clone no longer has it. */
  private async discard(kept: Kept, checkout?: Checkout) {
    if (kept.checkout === checkout) kept.checkout = undefined;
    if (!checkout) return;
    await fs.promises.rm(checkout.dir, { recursive: true, force: true });
    keptDirs.delete(checkout.dir);
  }
}

/**
 * Writes the objects of a fetched thin pack as loose objects and removes the pack, as
 * git's unpack-objects does with small fetches. Kept, a thin pack's deltas name bases
 * in other packs: a file that goes back and forth (promote, roll back) leaves v2 as a
 * delta on v1 in one pack and v1 on v2 in the next, and isomorphic-git, which searches
 * packs in directory order, could read v1 → v2 → v1 … without end. Loose objects are
 * whole and searched first, and the clone's own pack needs nothing outside it.
 */
async function unpack(
  common: { fs: typeof fs; dir: string },
  checkout: Checkout,
  index: string,
) {
  for (const oid of packIndexOids(await fs.promises.readFile(index))) {
    const { type, object } = await git.readObject({
      ...common,
      cache: checkout.cache,
      oid,
      format: 'content',
    });
    await git.writeObject({
      ...common,
      type: type as 'blob' | 'tree' | 'commit' | 'tag',
      object: object as Uint8Array,
      format: 'content',
    });
  }
  await fs.promises.rm(index);
  await fs.promises.rm(index.replace(/\.idx$/, '.pack'));
}

/** The pack indexes of a clone, by path. */
async function packIndexes(dir: string): Promise<string[]> {
  const packs = path.join(dir, '.git', 'objects', 'pack');
  return (await fs.promises.readdir(packs))
    .filter(file => file.endsWith('.idx'))
    .map(file => path.join(packs, file));
}

/** The object ids a pack index (version 2) lists: after its header and fan-out table. */
function packIndexOids(idx: Buffer): string[] {
  if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) {
    throw new Error('not a version 2 pack index');
  }
  const count = idx.readUInt32BE(8 + 255 * 4);
  const start = 8 + 256 * 4;
  return Array.from({ length: count }, (_, i) =>
    idx.toString('hex', start + i * 20, start + (i + 1) * 20),
  );
}

async function newCheckout(): Promise<Checkout> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'gitops-git-'));
  removeAtExit(dir);
  return { dir, cache: {}, fetches: 0 };
}
