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

export interface RemoteOptions {
  credentials: GitCredentialsResolver;
  timeoutMs: number;
  repoURL: string;
  signal?: AbortSignal;
}

export async function remote(options: RemoteOptions, dir: string) {
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

/**
 * Asks git-upload-pack for a thin pack, which isomorphic-git never does. Without one,
 * git sends a shallow clone the branch's whole tree again at every fetch: it leaves out
 * what the client has only through the parents of the commits it sends, and a depth-1
 * fetch sends none. isomorphic-git reads thin packs (it finds the delta bases in the
 * clone); the git CLI asks for them too.
 */
export function thinPack(http: HttpClient): HttpClient {
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
  what = 'config repository',
): GitopsSourceError {
  if (error instanceof GitopsSourceError) return error;
  const e = error as {
    code?: string;
    name?: string;
    data?: { statusCode?: number };
  };
  const where = `${what} ${redactUrl(repoURL)}`;
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
