import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Reads committed content straight from a bare repository with the git CLI. */
export class BareRepository {
  constructor(readonly dir: string) {}

  private async git(args: string[]): Promise<string> {
    const { stdout } = await exec('git', ['-C', this.dir, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  }

  /** The commit a branch, tag or SHA names, or undefined when it names none. */
  async resolve(revision: string): Promise<string | undefined> {
    const ref = revision === '' || revision === 'HEAD' ? 'HEAD' : revision;
    try {
      return (
        await this.git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
      ).trim();
    } catch {
      return undefined;
    }
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
