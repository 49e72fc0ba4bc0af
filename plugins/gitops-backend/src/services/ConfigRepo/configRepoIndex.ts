import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { GitopsError } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { Cached, FAILURE_TTL_MS } from '../UpstreamCache';
import { ConfigRepoFiles, GitConfigRepoReader } from './GitConfigRepoReader';

/** How many repository refs the index holds at most; the least recently used go first. */
const MAX_REFS = 5000;
/** Ref checks running at once (one small request each). */
const REF_CHECKS_AT_ONCE = 4;

/** What the index holds of one ref of a config repository. */
interface Entry {
  repoURL: string;
  ref: string;
  /** Every path asked for so far: a read brings all of them. */
  wanted: Set<string>;
  /** The last read: the commit and the contents of the paths then wanted. */
  held?: { commit: string; files: Map<string, string | undefined>; at: number };
  /** The last read's failure, kept for FAILURE_TTL_MS. */
  failed?: { error: GitopsError; at: number };
  /** The read under way, and the paths it reads. */
  current?: { done: Promise<void>; paths: Set<string> };
  /** A read queued after the current one: it reads what is wanted when it starts. */
  next?: Promise<void>;
}

/**
 * The files of config repositories that the desired state needs, in memory, per
 * repository and ref. A view reads them here, with no Git request; Git is read when a
 * path is first asked for, when a push webhook or a ref check ({@link checkRefs}) says
 * the ref moved, for an action (`fresh`), and, without ref checks, when the entry is
 * older than `maxAgeMs`.
 */
export class ConfigRepoIndex {
  private readonly entries = new LRUCache<string, Entry>({ max: MAX_REFS });

  constructor(
    private readonly reader: GitConfigRepoReader,
    private readonly options: { maxAgeMs: number },
  ) {}

  /** The files from memory, or read from Git (with every other path held) when needed. */
  async files(
    repoURL: string,
    ref: string,
    paths: string[],
    options: { fresh?: boolean } = {},
  ): Promise<Cached<ConfigRepoFiles>> {
    const entry = this.entryOf(repoURL, ref);
    for (const path of paths) entry.wanted.add(path);
    if (options.fresh) {
      await this.readAfterNow(entry);
    } else if (!this.answers(entry, paths)) {
      const current = entry.current;
      if (current && paths.every(p => current.paths.has(p))) {
        await current.done;
      }
      if (!this.answers(entry, paths)) await this.readAfterNow(entry);
    }
    return this.answerOf(entry, paths);
  }

  /** The files if memory holds them all now and they are current; never reads Git. */
  peek(repoURL: string, ref: string, paths: string[]) {
    const entry = this.entries.get(key(repoURL, ref));
    if (!entry?.held || !this.answers(entry, paths)) return undefined;
    return this.answerOf(entry, paths);
  }

  /** Whether memory has an answer for these paths, however old (files or a failure). */
  knows(repoURL: string, ref: string, paths: string[]): boolean {
    const entry = this.entries.peek(key(repoURL, ref));
    return (
      !!entry && (!!entry.failed || paths.every(p => entry.held?.files.has(p)))
    );
  }

  /** Reads the ref again now; whether its commit changed. */
  private async refresh(repoURL: string, ref: string): Promise<boolean> {
    const entry = this.entries.get(key(repoURL, ref));
    if (!entry) return false;
    const before = entry.held?.commit;
    await this.readAfterNow(entry);
    return entry.held?.commit !== before;
  }

  /**
   * Asks each repository which commit each held ref names now (one small request per
   * ref) and reads the refs that moved. Answers the refs whose commit changed; a
   * repository that cannot be asked is skipped until the next check.
   */
  async checkRefs(): Promise<Array<[string, string]>> {
    const limit = pLimit(REF_CHECKS_AT_ONCE);
    const moved = await Promise.all(
      [...this.entries.values()].map(entry =>
        limit(async () => {
          if (!entry.held) return [];
          let head: string | undefined;
          try {
            head = await this.reader.headOf(entry.repoURL, entry.ref);
          } catch (error) {
            if (error instanceof GitopsSourceError) return [];
            throw error;
          }
          if (head === entry.held.commit) return [];
          const changed = await this.refresh(entry.repoURL, entry.ref);
          return changed
            ? [[entry.repoURL, entry.ref] as [string, string]]
            : [];
        }),
      ),
    );
    return moved.flat();
  }

  private entryOf(repoURL: string, ref: string): Entry {
    const k = key(repoURL, ref);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = { repoURL, ref, wanted: new Set() };
      this.entries.set(k, entry);
    }
    return entry;
  }

  /** Whether memory answers for these paths now: held and current, or a recent failure. */
  private answers(entry: Entry, paths: string[]): boolean {
    const now = Date.now();
    if (entry.failed) return now - entry.failed.at < FAILURE_TTL_MS;
    const held = entry.held;
    return (
      !!held &&
      now - held.at < this.options.maxAgeMs &&
      paths.every(p => held.files.has(p))
    );
  }

  private answerOf(entry: Entry, paths: string[]): Cached<ConfigRepoFiles> {
    if (entry.failed) return { error: entry.failed.error };
    const held = entry.held!;
    return {
      value: {
        commit: held.commit,
        files: Object.fromEntries(paths.map(p => [p, held.files.get(p)])),
      },
    };
  }

  /** Waits for a read that starts after this call (one queued read serves all callers). */
  private readAfterNow(entry: Entry): Promise<void> {
    const previous = entry.current?.done.catch(() => undefined);
    entry.next ??= (previous ?? Promise.resolve()).then(() => {
      entry.next = undefined;
      const paths = new Set(entry.wanted);
      const done = this.read(entry, paths).finally(() => {
        if (entry.current?.done === done) entry.current = undefined;
      });
      entry.current = { done, paths };
      return done;
    });
    return entry.next;
  }

  private async read(entry: Entry, paths: Set<string>) {
    try {
      const read = await this.reader.readFiles(entry.repoURL, entry.ref, [
        ...paths,
      ]);
      entry.held = {
        commit: read.commit,
        files: new Map(Object.entries(read.files)),
        at: Date.now(),
      };
      entry.failed = undefined;
    } catch (error) {
      if (!(error instanceof GitopsSourceError)) throw error;
      entry.failed = {
        error: { code: error.code, message: error.message },
        at: Date.now(),
      };
    }
  }
}

function key(repoURL: string, ref: string) {
  return `${ref} ${repoURL}`;
}
