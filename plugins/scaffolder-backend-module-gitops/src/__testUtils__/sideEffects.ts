import { argo, helmBinary, Sandbox } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * A helm that logs every argument it gets, one per line, then runs the real helm
 * (the portal's `gitops.helm.command` in the tests), and reads the log.
 */
export async function helmWrapper(dir: string) {
  const log = path.join(dir, 'helm-calls.log');
  const command = path.join(dir, 'helm');
  await fs.writeFile(
    command,
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> '${log}'; done\nexec '${await helmBinary()}' "$@"\n`,
    { mode: 0o755 },
  );
  return {
    command,
    log,
    calls: () => fs.readFile(log, 'utf8').catch(() => ''),
  };
}

/**
 * Every file and directory under `dir` except those in `skip` (not walked), with size
 * and change time: a write anywhere shows. Symlinks are listed, not followed.
 */
export async function treeState(dir: string, skip: string[] = []) {
  const state: Record<string, string> = {};
  const walk = async (at: string) => {
    for (const entry of await fs.readdir(at, { withFileTypes: true })) {
      const file = path.join(at, entry.name);
      if (skip.includes(file)) continue;
      const stat = await fs.lstat(file);
      state[path.relative(dir, file)] = `${
        stat.isDirectory() ? 'dir' : stat.size
      }@${stat.mtimeMs}`;
      if (entry.isDirectory()) await walk(file);
    }
  };
  await walk(dir);
  return state;
}

/**
 * The repositories on the sandbox's Git server: the `<name>.git` directories of its
 * repos directory, as the server lists them (it keeps its hooks beside them).
 */
export async function repositories(reposDir: string) {
  return (await fs.readdir(reposDir)).filter(e => e.endsWith('.git')).sort();
}

/**
 * What a write would move in the sandbox: its repositories and every ref of each,
 * and every Argo CD Application and ApplicationSet of every instance (metadata and
 * spec; status moves by itself).
 */
export async function sandboxState(sandbox: Sandbox, reposDir: string) {
  const repos = await repositories(reposDir);
  const refs = await Promise.all(
    repos.map(
      async repo =>
        (
          await exec('git', [
            '-C',
            path.join(reposDir, repo),
            'for-each-ref',
            '--format=%(refname) %(objectname)',
          ])
        ).stdout,
    ),
  );
  const argoObjects: Record<string, unknown> = {};
  for (const instance of sandbox.instances) {
    for (const kind of ['applications', 'applicationsets']) {
      const { status, body } = await argo(
        sandbox,
        instance.name,
        `/api/v1/${kind}`,
      );
      if (status !== 200) {
        throw new Error(`${instance.name} ${kind}: ${status}`);
      }
      for (const item of body.items ?? []) {
        const { name, namespace, labels, annotations } = item.metadata;
        argoObjects[`${instance.name}/${kind}/${namespace}/${name}`] = {
          labels,
          annotations,
          spec: item.spec,
        };
      }
    }
  }
  return { repos, refs, argo: argoObjects };
}
