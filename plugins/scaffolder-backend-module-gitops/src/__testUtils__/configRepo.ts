import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

const git = (cwd: string, ...args: string[]) =>
  exec(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args],
    { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
  );

/**
 * The sandbox's smart-HTTP Git server on 127.0.0.1 (real `git http-backend`, token
 * auth), standing in for GitHub or GitLab, with helpers to reach into its bare
 * repositories as a hosting service would: hooks, push options, refs.
 */
export class ConfigRepoServer {
  private constructor(
    readonly server: GitServer,
    readonly root: string,
    readonly token: string,
    private readonly work: string,
  ) {}

  static async start(dir: string) {
    const root = path.join(dir, 'repos');
    const token = 'config-repo-token';
    const server = await startGitServer({ root, token });
    const work = path.join(dir, 'work');
    await fs.mkdir(work, { recursive: true });
    return new ConfigRepoServer(server, root, token, work);
  }

  close() {
    return this.server.close();
  }

  url(repo: string) {
    return this.server.repoUrl(repo);
  }

  /** The URL with the token in it, for the test's own clones. */
  private authUrl(repo: string) {
    return this.url(repo).replace('http://', `http://x:${this.token}@`);
  }

  bare(repo: string) {
    return path.join(this.root, `${repo}.git`);
  }

  /** Creates `repo` holding the files of `from` as one commit on main. */
  async create(repo: string, from: string) {
    await this.server.createRepository(repo);
    const dir = await fs.mkdtemp(path.join(this.work, 'seed-'));
    await fs.cp(from, dir, { recursive: true });
    await git(dir, 'init', '--quiet', '--initial-branch=main');
    await git(dir, 'add', '-A');
    await git(dir, 'commit', '--quiet', '-m', 'Initial config');
    await git(dir, 'push', '--quiet', this.authUrl(repo), 'main');
    await fs.rm(dir, { recursive: true, force: true });
  }

  /**
   * What actions/checkout leaves for a later step: a depth-1 clone of main whose
   * `origin` carries the token in an http extraheader (persist-credentials).
   */
  async checkoutLikeActions(repo: string) {
    const dir = await fs.mkdtemp(path.join(this.work, 'checkout-'));
    const basic = Buffer.from(`x-access-token:${this.token}`).toString(
      'base64',
    );
    await git(dir, 'init', '--quiet');
    await git(dir, 'remote', 'add', 'origin', this.url(repo));
    await git(
      dir,
      'config',
      '--local',
      `http.${this.server.url}/.extraheader`,
      // actions/checkout writes "basic"; the sandbox only takes "Basic" (RFC 7235
      // says either), GitHub takes both.
      `AUTHORIZATION: Basic ${basic}`,
    );
    await git(
      dir,
      'fetch',
      '--quiet',
      '--depth=1',
      'origin',
      '+refs/heads/main:refs/remotes/origin/main',
    );
    await git(
      dir,
      'checkout',
      '--quiet',
      '-B',
      'main',
      'refs/remotes/origin/main',
    );
    return dir;
  }

  /** Another writer (a promotion in the portal, another pipeline): one commit on main. */
  async pushChange(
    repo: string,
    file: string,
    change: (old: string) => string,
    message: string,
  ) {
    const dir = await fs.mkdtemp(path.join(this.work, 'writer-'));
    await git(os.tmpdir(), 'clone', '--quiet', this.authUrl(repo), dir);
    const target = path.join(dir, file);
    await fs.writeFile(target, change(await fs.readFile(target, 'utf8')));
    await git(dir, 'commit', '--quiet', '-am', message);
    await git(dir, 'push', '--quiet', 'origin', 'HEAD:main');
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** A file at a ref of the bare repository (undefined when either is missing). */
  async show(repo: string, ref: string, file: string) {
    try {
      return (
        await exec('git', [
          '--git-dir',
          this.bare(repo),
          'show',
          `${ref}:${file}`,
        ])
      ).stdout;
    } catch {
      return undefined;
    }
  }

  /** Subjects of the commits on `ref`, newest first. */
  async log(repo: string, ref = 'main') {
    const { stdout } = await exec('git', [
      '--git-dir',
      this.bare(repo),
      'log',
      '--format=%s',
      ref,
    ]);
    return stdout.trim().split('\n');
  }

  async branches(repo: string) {
    const { stdout } = await exec('git', [
      '--git-dir',
      this.bare(repo),
      'for-each-ref',
      '--format=%(refname:short)',
      'refs/heads',
    ]);
    return stdout.trim().split('\n').sort();
  }

  /** Installs a server-side hook (a shell script) in the bare repository. */
  async hook(repo: string, name: 'pre-receive', script: string) {
    await fs.writeFile(
      path.join(this.bare(repo), 'hooks', name),
      `#!/bin/sh\n${script}\n`,
      { mode: 0o755 },
    );
  }

  /** Makes the server accept `git push -o` (GitLab does; git http-backend needs telling). */
  async acceptPushOptions(repo: string) {
    await exec('git', [
      '--git-dir',
      this.bare(repo),
      'config',
      'receive.advertisePushOptions',
      'true',
    ]);
  }
}
