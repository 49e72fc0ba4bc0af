import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git, { HttpClient } from 'isomorphic-git';
import {
  gitHttpClient,
  GitCredentialsResolver,
  GitopsSourceError,
  GitRedirectRefusedError,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';

/** A shallow clone in a temporary directory, and what isomorphic-git needs to use it. */
export interface Clone {
  dir: string;
  /** fs, http (with the timeout), dir and auth, for further isomorphic-git calls. */
  git: {
    fs: typeof fs;
    dir: string;
    http: HttpClient;
    onAuth: () => { username: string; password: string } | { cancel: true };
    /** isomorphic-git's parsed packs, kept with a clone that is kept. */
    cache?: object;
  };
}

interface RemoteOptions {
  credentials: GitCredentialsResolver;
  timeoutMs: number;
  repoURL: string;
  signal?: AbortSignal;
}

async function remote(options: RemoteOptions, dir: string) {
  const auth = await options.credentials.forUrl(options.repoURL);
  return {
    fs,
    dir,
    http: gitHttpClient(options.timeoutMs, options.signal),
    onAuth: () => auth ?? { cancel: true as const },
  };
}

/**
 * Runs `work` on a shallow (depth 1), single-branch clone of `ref` in a temporary
 * directory that is removed afterwards — never a full clone. Git failures come out as
 * GitopsSourceError codes that name the repository.
 */
export async function withShallowClone<T>(
  options: RemoteOptions & { ref: string; checkout: boolean },
  work: (clone: Clone) => Promise<T>,
): Promise<T> {
  const { repoURL, ref } = options;
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'gitops-git-'));
  try {
    const common = await remote(options, dir);
    await git.clone({
      ...common,
      url: repoURL,
      ref: ref === 'HEAD' ? undefined : ref,
      singleBranch: true,
      depth: 1,
      noCheckout: !options.checkout,
    });
    return await work({ dir, git: common });
  } catch (error) {
    throw gitSourceError(error, repoURL, ref);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** How many kept clones at most; beyond, the least recently used is removed. */
const MAX_KEPT = 8;
/** A kept clone unused this long is removed. */
const IDLE_MS = 10 * 60_000;
/** Fetches into one clone before it is cloned afresh (each fetch adds a pack). */
const MAX_FETCHES = 100;

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

interface Kept {
  dir?: string;
  cache: object;
  fetches: number;
  /** Uses of the clone run one after the other, in this chain. */
  queue: Promise<unknown>;
  users: number;
  idle?: NodeJS.Timeout;
}

/**
 * Shallow clones kept between uses, one per repository and branch, without a working
 * tree. The first use clones (depth 1); later ones fetch only what changed since, as a
 * thin pack, so a commit to a big repository does not download and index its whole tree
 * (seconds in isomorphic-git) every time. Uses of one clone run one at a time. A clone
 * is removed when idle, when it has taken MAX_FETCHES fetches, and after a failed fetch.
 */
export class KeptClones {
  private readonly clones = new Map<string, Kept>();

  constructor(
    private readonly options: {
      credentials: GitCredentialsResolver;
      timeoutMs: number;
    },
  ) {}

  /** Runs `work` on the clone of `branch`, brought up to date; `head` is its commit. */
  use<T>(
    location: { repoURL: string; branch: string; signal?: AbortSignal },
    work: (clone: Clone & { head: string }) => Promise<T>,
  ): Promise<T> {
    const key = `${location.branch} ${location.repoURL}`;
    const kept = this.clones.get(key) ?? {
      cache: {},
      fetches: 0,
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
    return this.enqueue(kept, async () => {
      const clone = await this.update(kept, location);
      return work(clone);
    }).finally(() => {
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
    this.enqueue(kept, () => discard(kept)).catch(() => undefined);
  }

  /** Clones the branch, or fetches what changed since the last use. */
  private async update(
    kept: Kept,
    location: { repoURL: string; branch: string; signal?: AbortSignal },
  ): Promise<Clone & { head: string }> {
    const { repoURL, branch } = location;
    try {
      const fresh = !kept.dir || kept.fetches >= MAX_FETCHES;
      if (fresh) {
        await discard(kept);
        kept.dir = await fs.promises.mkdtemp(
          path.join(os.tmpdir(), 'gitops-git-'),
        );
        removeAtExit(kept.dir);
      }
      const common = await remote({ ...this.options, ...location }, kept.dir!);
      const options = {
        ...common,
        cache: kept.cache,
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
        const http = thinPack(common.http);
        ({ fetchHead: head } = await git.fetch({
          ...options,
          http,
          tags: false,
        }));
        kept.fetches++;
      }
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
      return { dir: common.dir, git: { ...common, cache: kept.cache }, head };
    } catch (error) {
      await discard(kept);
      throw gitSourceError(error, repoURL, branch);
    }
  }
}

async function discard(kept: Kept) {
  if (kept.dir) {
    await fs.promises.rm(kept.dir, { recursive: true, force: true });
    keptDirs.delete(kept.dir);
  }
  kept.dir = undefined;
  kept.cache = {};
  kept.fetches = 0;
}

/**
 * Asks git-upload-pack for a thin pack, which isomorphic-git never does. Without one,
 * git sends a shallow clone the branch's whole tree again at every fetch: it leaves out
 * what the client has only through the parents of the commits it sends, and a depth-1
 * fetch sends none. isomorphic-git reads thin packs (it finds the delta bases in the
 * clone); the git CLI asks for them too.
 */
function thinPack(http: HttpClient): HttpClient {
  return {
    async request(request) {
      if (!request.url.endsWith('/git-upload-pack') || !request.body) {
        return http.request(request);
      }
      const chunks: Uint8Array[] = [];
      for await (const chunk of request.body) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      // The first pkt-line is `want <oid> <capabilities>`: one more capability.
      const length = parseInt(body.subarray(0, 4).toString('latin1'), 16);
      const first = body.subarray(4, length).toString('latin1').trimEnd();
      const patched =
        first.startsWith('want ') && !first.includes(' thin-pack')
          ? Buffer.concat([
              pktLine(`${first} thin-pack\n`),
              body.subarray(length),
            ])
          : body;
      return http.request({ ...request, body: once(patched) });
    },
  };
}

/** One pkt-line of the Git protocol: four hex digits of length, then the data. */
export function pktLine(data: string): Buffer {
  const bytes = Buffer.from(data, 'utf8');
  return Buffer.concat([
    Buffer.from((bytes.length + 4).toString(16).padStart(4, '0'), 'latin1'),
    bytes,
  ]);
}

/** A request body for isomorphic-git's HttpClient. */
export async function* once(data: Uint8Array) {
  yield data;
}

/** The push lost a race: someone pushed first (non-fast-forward). */
export class PushRejectedError extends GitopsSourceError {
  constructor(message: string) {
    super('upstream-error', message);
  }
}

/** A Git failure as a GitopsSourceError code, naming the repository. */
export function gitSourceError(
  error: unknown,
  repoURL: string,
  ref: string,
): GitopsSourceError {
  if (error instanceof GitopsSourceError) return error;
  const e = error as {
    code?: string;
    name?: string;
    data?: { statusCode?: number };
  };
  const where = `config repository ${redactUrl(repoURL)}`;
  if (error instanceof GitRedirectRefusedError) {
    return new GitopsSourceError(
      'upstream-error',
      `${where}: ${error.message}`,
    );
  }
  if (e.name === 'TimeoutError') {
    return new GitopsSourceError('timeout', `${where} did not answer in time`);
  }
  const status = e.data?.statusCode;
  if (status === 401) {
    return new GitopsSourceError(
      'unauthorized',
      `${where} refused the credentials (401)`,
    );
  }
  if (status === 403) {
    return new GitopsSourceError('forbidden', `${where} denied access (403)`);
  }
  if (status === 404) {
    return new GitopsSourceError('not-found', `${where} was not found (404)`);
  }
  if (e.code === 'UserCanceledError') {
    return new GitopsSourceError(
      'unauthorized',
      `${where} needs credentials; none are configured for its host`,
    );
  }
  if (e.code === 'NotFoundError' || e.code === 'RemoteBranchNotFoundError') {
    return new GitopsSourceError(
      'not-found',
      `${where} has no branch or tag "${ref}"`,
    );
  }
  if (e.code === 'PushRejectedError') {
    return new PushRejectedError(
      `${where} rejected the push: ${redactUrl((error as Error).message)}`,
    );
  }
  if (status) {
    return new GitopsSourceError(
      'upstream-error',
      `${where} answered ${status}`,
    );
  }
  return new GitopsSourceError('unreachable', `${where} is unreachable`);
}
