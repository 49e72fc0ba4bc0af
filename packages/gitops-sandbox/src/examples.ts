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
 * The app repositories' history after their first commit, oldest first: merged pull
 * requests (GitHub's merge and squash subjects), issue keys, and a release tag, so the
 * change log between the examples' versions has something to show.
 */
const APP_HISTORY: Array<{ message: string; tag?: string }> = [
  { message: 'Add /version endpoint (#3)' },
  { message: 'CHK-101 Log request ids' },
  {
    message:
      'Merge pull request #5 from team-checkout/timeouts\n\nSet timeouts on outgoing calls',
    tag: 'v1.4.0',
  },
  { message: 'Bump Flask to 3.0.3 (#7)' },
  { message: 'Fix /ping when the cache is cold\n\nFixes #8' },
  {
    message:
      'Merge pull request #9 from team-checkout/metrics\n\nExpose Prometheus metrics',
  },
  { message: 'CHK-117 Retry the database connection' },
  { message: 'Tidy the Dockerfile (#11)' },
  {
    message:
      'Merge pull request #12 from team-checkout/readiness\n\nAdd a readiness probe endpoint',
  },
  { message: "Return the build's commit in /version (#14)" },
];

/**
 * The app-repository commit each example environment's image was built from (its
 * revision label): dev runs main, staging four commits behind, prod the release.
 */
export const EXAMPLE_BUILT_FROM: Record<string, string> = {
  dev: 'main',
  staging: 'main~4',
  prod: 'v1.4.0',
};

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
      await seedRepository(
        git,
        reposDir,
        `${service}-app`,
        [{ from: app, to: '.' }],
        APP_HISTORY,
      );
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
  history: typeof APP_HISTORY = [],
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
    const git = (args: string[], env: Record<string, string> = {}) =>
      exec(
        'git',
        [
          '-C',
          work,
          '-c',
          'user.name=Sandbox',
          '-c',
          'user.email=sandbox@example.com',
          ...args,
        ],
        { env: { ...process.env, ...env } },
      );
    // Commits a few hours apart, ending now: lead times of the examples look real.
    const commit = (message: string, hours: number) => {
      const date = new Date(Date.now() - hours * 3600_000).toISOString();
      return git(['commit', '--quiet', '--allow-empty', '-m', message], {
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      });
    };
    await git(['init', '--quiet', '--initial-branch=main']);
    await git(['add', '-A']);
    await commit(`Initial ${name} from examples`, (history.length + 1) * 6);
    for (const [i, step] of history.entries()) {
      await commit(step.message, (history.length - i) * 6);
      if (step.tag) await git(['tag', step.tag]);
    }
    await gitServer.createRepository(name);
    await git(['push', '--quiet', bare, 'main', '--tags']);
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
