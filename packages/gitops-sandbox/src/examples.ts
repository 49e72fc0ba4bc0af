import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GitServer } from './git/GitServer';

const exec = promisify(execFile);

/** The Git base URL the example Application manifests are written with. */
export const EXAMPLES_GIT_URL = 'http://127.0.0.1:7090';

// The examples as a platform team would set them up: their repositories in the Git
// server, and a root Application (app of apps) per config repository and instance.

/**
 * The app of apps of one config repository on one instance: it deploys, from
 * `argocd/`, the Application manifests of that instance's environments (those
 * `add-instance` adds, `<environment>-<instance>.yaml`, included) and its
 * ApplicationSets (`applicationset-<instance>[-production].yaml`), as the
 * templates lay them out. Pruned: a file removed in Git removes its Application.
 */
export function rootApplication(
  repo: string,
  repoURL: string,
  instance: string,
  environments: string[],
): any {
  const files = [
    ...environments.flatMap(env => [`${env}.yaml`, `${env}-*.yaml`]),
    `applicationset-${instance}.yaml`,
    `applicationset-${instance}-*.yaml`,
  ];
  return {
    metadata: {
      name: `${repo.replace(/-config$/, '')}-apps`,
      namespace: 'argocd',
    },
    spec: {
      project: 'default',
      source: {
        repoURL,
        targetRevision: 'main',
        path: 'argocd',
        directory: { include: `{${files.join(',')}}` },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: 'argocd',
      },
      syncPolicy: { automated: { prune: true, selfHeal: true } },
    },
  };
}

/**
 * Creates `<name>-app` and `<name>-config` for each `services/<name>` of the examples,
 * unless they exist: the app code, and the shared chart with the service's values
 * files and Application manifests (pointed at this Git server). Answers the config
 * repositories' names.
 */
export async function seedExamples(
  examplesDir: string,
  git: GitServer,
  reposDir: string,
): Promise<string[]> {
  const servicesDir = path.join(examplesDir, 'services');
  const configRepos: string[] = [];
  for (const service of (await fs.readdir(servicesDir)).sort()) {
    const app = path.join(servicesDir, service, 'app');
    const config = path.join(servicesDir, service, 'config');
    if (await exists(app)) {
      await seedRepository(git, reposDir, `${service}-app`, [
        { from: app, to: '.' },
      ]);
    }
    if (await exists(config)) {
      await seedRepository(git, reposDir, `${service}-config`, [
        { from: path.join(examplesDir, 'chart'), to: 'chart' },
        { from: config, to: '.' },
      ]);
      configRepos.push(`${service}-config`);
    }
  }
  return configRepos;
}

async function seedRepository(
  gitServer: GitServer,
  reposDir: string,
  name: string,
  layers: Array<{ from: string; to: string }>,
) {
  const bare = path.join(reposDir, `${name}.git`);
  if (await exists(bare)) return;
  const work = await fs.mkdtemp(path.join(os.tmpdir(), `seed-${name}-`));
  try {
    for (const layer of layers) {
      await fs.cp(layer.from, path.join(work, layer.to), {
        recursive: true,
        filter: src => !/(__pycache__|\.pyc$)/.test(src),
      });
    }
    for (const file of await fs
      .readdir(path.join(work, 'argocd'))
      .catch(() => [])) {
      const manifest = path.join(work, 'argocd', file);
      const text = await fs.readFile(manifest, 'utf8');
      await fs.writeFile(
        manifest,
        text.replaceAll(EXAMPLES_GIT_URL, gitServer.url),
      );
    }
    const git = (...args: string[]) =>
      exec('git', [
        '-C',
        work,
        '-c',
        'user.name=Sandbox',
        '-c',
        'user.email=sandbox@example.com',
        ...args,
      ]);
    await git('init', '--quiet', '--initial-branch=main');
    await git('add', '-A');
    await git('commit', '--quiet', '-m', `Initial ${name} from examples`);
    await gitServer.createRepository(name);
    await git('push', '--quiet', bare, 'main');
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function exists(file: string) {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
