import git from 'isomorphic-git';
import {
  ConfigRepoWriter,
  fileEditsOf,
  GitopsSourceError,
  redactUrl,
  ValuesFileChange,
  ValuesFileWriteResult,
  writeResultOf,
} from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from './GitConfigRepoReader';
import { KeptClones } from './keptClones';
import {
  Clone,
  gitSourceError,
  once,
  pktLine,
  PushRejectedError,
} from './shallowClone';

/** Tries of one commit when others push first; between tries, a short random pause. */
const ATTEMPTS = 5;
const PAUSE_MS = 50;

/**
 * Writes values files of config repositories on any Git server over smart HTTP. It keeps
 * a shallow clone of each branch without a working tree (KeptClones): a commit fetches
 * what changed since the last one, reads the file at the head, writes the new blob and
 * only the trees along its path, and pushes those objects with the head as the expected
 * old value. When someone pushed first it starts again from the new head.
 */
export class GitConfigRepoWriter implements ConfigRepoWriter {
  readonly id = 'git';
  /** `clones` is shared with the GitConfigRepoReader: a preview warms the commit. */
  constructor(
    private readonly clones: KeptClones,
    private readonly reader: GitConfigRepoReader,
  ) {}

  supports(repoURL: string) {
    return /^https?:\/\//.test(repoURL);
  }

  read(
    location: { repoURL: string; branch: string; file: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<string> {
    return this.clones.use({ ...location, ...options }, clone =>
      readFile(clone, clone.head, location),
    );
  }

  findCommit(
    location: { repoURL: string; branch: string },
    trailer: string,
    since: Date,
  ): Promise<string | undefined> {
    return this.reader.findCommit(location, trailer, since);
  }

  async commit(
    change: ValuesFileChange,
    options: { signal?: AbortSignal } = {},
  ): Promise<ValuesFileWriteResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.clones.use({ ...change, ...options }, clone =>
          this.attempt(clone, change),
        );
      } catch (error) {
        if (!(error instanceof PushRejectedError) || attempt >= ATTEMPTS)
          throw error;
        // Someone pushed first: start again from the new head. Writers that race
        // each other pause for different times, so they do not collide again.
        await new Promise(r =>
          setTimeout(r, Math.random() * PAUSE_MS * 2 ** attempt),
        );
      }
    }
  }

  private async attempt(
    clone: Clone & { head: string },
    change: ValuesFileChange,
  ): Promise<ValuesFileWriteResult> {
    const { head } = clone;
    const files = [];
    for (const { file, edit } of fileEditsOf(change)) {
      const before = await readFile(clone, head, { ...change, file });
      files.push({ file, before, after: edit(before) });
    }
    const changed = files.filter(f => f.after !== f.before);
    if (!changed.length) return writeResultOf(files);
    try {
      const written: string[] = [];
      let tree = head;
      for (const { file, after } of changed) {
        const blob = await git.writeBlob({
          ...clone.git,
          blob: Buffer.from(after, 'utf8'),
        });
        written.push(blob);
        tree = await replaceInTree(clone, tree, file.split('/'), blob, written);
      }
      const commit = await git.commit({
        ...clone.git,
        message: change.message,
        author: change.author,
        tree,
        parent: [head],
        noUpdateBranch: true,
      });
      await push(clone, change, head, commit, [...written, commit]);
      // Now the branch's head here too: the next fetch says it has it.
      await git.writeRef({
        ...clone.git,
        ref: `refs/heads/${change.branch}`,
        value: commit,
        force: true,
      });
      return writeResultOf(files, commit);
    } catch (error) {
      throw gitSourceError(error, change.repoURL, change.branch);
    }
  }
}

async function readFile(
  clone: Clone,
  commit: string,
  location: { repoURL: string; branch: string; file: string },
) {
  try {
    const { blob } = await git.readBlob({
      ...clone.git,
      oid: commit,
      filepath: location.file,
    });
    return Buffer.from(blob).toString('utf8');
  } catch {
    throw new GitopsSourceError(
      'not-found',
      `${location.file} is not in ${redactUrl(location.repoURL)} at ${
        location.branch
      }`,
    );
  }
}

/**
 * The tree of `oid` (a commit or a tree) with `blob` at `path`, written: only the trees
 * along the path are new (added to `written`); every other entry stays as it was.
 */
async function replaceInTree(
  clone: Clone,
  oid: string,
  [name, ...rest]: string[],
  blob: string,
  written: string[],
): Promise<string> {
  const { tree } = await git.readTree({ ...clone.git, oid });
  const entries = [];
  for (const entry of tree) {
    if (entry.path !== name) entries.push(entry);
    else if (!rest.length) entries.push({ ...entry, oid: blob });
    else {
      const subtree = await replaceInTree(
        clone,
        entry.oid,
        rest,
        blob,
        written,
      );
      entries.push({ ...entry, oid: subtree });
    }
  }
  const newTree = await git.writeTree({ ...clone.git, tree: entries });
  written.push(newTree);
  return newTree;
}

/**
 * Sends `objects` and moves the branch from `parent` to `commit` in one receive-pack
 * request. The server moves it only if it is still at `parent` (compare-and-swap), else
 * answers `ng`: a PushRejectedError. isomorphic-git's push would first walk the whole
 * tree of the commit, several times, to find what to send: seconds on a repository of
 * thousands of files, where the objects are known here.
 */
async function push(
  clone: Clone,
  change: ValuesFileChange,
  parent: string,
  commit: string,
  objects: string[],
) {
  const { packfile } = await git.packObjects({ ...clone.git, oids: objects });
  const ref = `refs/heads/${change.branch}`;
  const auth = clone.git.onAuth();
  const res = await clone.git.http.request({
    url: `${change.repoURL}/git-receive-pack`,
    method: 'POST',
    headers: {
      'content-type': 'application/x-git-receive-pack-request',
      accept: 'application/x-git-receive-pack-result',
      ...('username' in auth && {
        authorization: `Basic ${Buffer.from(
          `${auth.username}:${auth.password}`,
        ).toString('base64')}`,
      }),
    },
    body: once(
      Buffer.concat([
        pktLine(`${parent} ${commit} ${ref}\0report-status\n`),
        Buffer.from('0000'),
        packfile!,
      ]),
    ),
  });
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body ?? []) chunks.push(chunk);
  if (res.statusCode !== 200) {
    throw Object.assign(new Error(`receive-pack answered ${res.statusCode}`), {
      data: { statusCode: res.statusCode },
    });
  }
  // The report: `unpack ok`, then `ok <ref>` or `ng <ref> <reason>`.
  const report = readPktLines(Buffer.concat(chunks));
  const where = `config repository ${redactUrl(change.repoURL)}`;
  if (report[0] === 'unpack ok' && report.includes(`ok ${ref}`)) return;
  const refused = report.find(line => line.startsWith(`ng ${ref} `));
  if (report[0] === 'unpack ok' && refused) {
    throw new PushRejectedError(
      `${where} rejected the push to ${change.branch}: ${refused.slice(
        `ng ${ref} `.length,
      )}`,
    );
  }
  throw new GitopsSourceError(
    'upstream-error',
    `${where} did not take the push: ${report.join('; ') || 'no report'}`,
  );
}

function readPktLines(data: Buffer): string[] {
  const lines: string[] = [];
  for (let at = 0; at + 4 <= data.length; ) {
    const length = parseInt(data.toString('latin1', at, at + 4), 16);
    if (!length) {
      at += 4; // flush
      continue;
    }
    lines.push(data.toString('utf8', at + 4, at + length).replace(/\n$/, ''));
    at += length;
  }
  return lines;
}
