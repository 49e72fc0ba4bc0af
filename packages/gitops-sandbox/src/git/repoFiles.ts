import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A branch or tag name as git allows it (no `..`, no leading dash, no `@{`). */
const REF_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
const FULL_SHA = /^[0-9a-f]{40}$/;

/** Commits of full SHAs and tag objects already peeled, by repository directory. */
const commitsOfObjects = new Map<string, string>();

/** Reads committed content straight from a bare repository with the git CLI. */
export class BareRepository {
  constructor(readonly dir: string) {}

  private async git(args: string[]): Promise<string> {
    const { stdout } = await exec('git', ['-C', this.dir, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /**
   * The commit a branch, tag or SHA names, or undefined when it names none. Branches
   * and tags are read from the ref files (the sandbox resolves every Application's
   * revision on each reconcile: a git process per Application per tick would cost
   * more than everything else it does); as Argo CD's ls-remote match, a branch wins
   * over a tag of the same name. Anything else (SHAs, `main~1`) asks git.
   */
  async resolve(revision: string): Promise<string | undefined> {
    const ref = revision === '' ? 'HEAD' : revision;
    if (
      REF_NAME.test(ref) &&
      !FULL_SHA.test(ref) &&
      !ref.split('/').includes('..')
    ) {
      const names =
        ref === 'HEAD' || ref.startsWith('refs/')
          ? [ref]
          : [`refs/heads/${ref}`, `refs/tags/${ref}`];
      for (const name of names) {
        const found = await this.readRef(name);
        if (found) return found;
      }
    }
    const known = commitsOfObjects.get(`${this.dir}\0${ref}`);
    if (known) return known;
    try {
      const commit = (
        await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
      ).trim();
      // A full SHA names the same commit forever.
      if (FULL_SHA.test(ref)) {
        commitsOfObjects.set(`${this.dir}\0${ref}`, commit);
      }
      return commit;
    } catch {
      return undefined;
    }
  }

  /** The commit a ref names: a loose ref file, else packed-refs; tags peeled. */
  private async readRef(name: string, depth = 0): Promise<string | undefined> {
    let target: string | undefined;
    let peeled: string | undefined;
    const loose = await fs
      .readFile(path.join(this.dir, name), 'utf8')
      .catch(() => undefined);
    if (loose !== undefined) {
      const text = loose.trim();
      if (text.startsWith('ref: ')) {
        return depth < 5 ? this.readRef(text.slice(5), depth + 1) : undefined;
      }
      if (FULL_SHA.test(text)) target = text;
    } else {
      const packed = (await this.packedRefs()).get(name);
      target = packed?.target;
      peeled = packed?.peeled;
    }
    if (!target) return undefined;
    if (peeled || name.startsWith('refs/heads/') || name === 'HEAD') {
      return peeled ?? target;
    }
    // An annotated tag names a tag object: git peels it once; objects never change.
    return this.resolve(target);
  }

  private async packedRefs() {
    const refs = new Map<string, { target: string; peeled?: string }>();
    const text = await fs
      .readFile(path.join(this.dir, 'packed-refs'), 'utf8')
      .catch(() => '');
    let last: { target: string; peeled?: string } | undefined;
    for (const line of text.split('\n')) {
      const peel = line.match(/^\^([0-9a-f]{40})$/);
      if (peel && last) last.peeled = peel[1];
      const entry = line.match(/^([0-9a-f]{40}) (\S+)$/);
      if (entry) {
        last = { target: entry[1] };
        refs.set(entry[2], last);
      }
    }
    return refs;
  }

  /** Paths of the files under `dir` at `commit`. */
  async listFiles(commit: string, dir: string): Promise<string[]> {
    try {
      const out = await this.git([
        'ls-tree',
        '-r',
        '--name-only',
        commit,
        '--',
        `${dir}/`,
      ]);
      return out.split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  async readFile(commit: string, file: string): Promise<string> {
    return this.git(['show', `${commit}:${file}`]);
  }

  /** Writes the tree at `commit` under `dir` (or the whole tree) into `dest`. */
  async exportTree(commit: string, dest: string): Promise<void> {
    await fs.mkdir(dest, { recursive: true });
    const archive = path.join(dest, '.export.tar');
    await this.git(['archive', '--format=tar', `--output=${archive}`, commit]);
    await exec('tar', ['-xf', archive, '-C', dest]);
    await fs.rm(archive);
  }

  async commitMetadata(commit: string) {
    const out = await this.git([
      'show',
      '--no-patch',
      '--format=%an <%ae>%x00%aI%x00%B',
      commit,
    ]);
    const [author, date, message] = out.split('\0');
    const tags = (await this.git(['tag', '--points-at', commit]))
      .split('\n')
      .filter(Boolean);
    return { author, date, message: message.trim(), tags };
  }
}
