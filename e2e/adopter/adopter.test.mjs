// The adopter's path, as README's "Install in your Backstage" tells it: the plugins packed
// as they would be published (`backstage-cli package build`, `yarn pack`), a fresh app
// from the @backstage/create-app of our Backstage release (dependencies from the npm
// registry), the packages installed, one line each in the backend, the frontend plugin
// found by feature discovery, config pointing at the sandbox; then the app started and
// checked in Chromium. Slow (an app's whole install and a dev build): it runs when
// ADOPTER_TEST=1 (`ADOPTER_TEST=1 ./portal test`, or `./portal yarn test:adopter`).
import { after, before, test } from 'node:test';
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { launchBrowser, OUTPUT_DIR, signIn } from '../portal.mjs';

const exec = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
// The create-app of the Backstage release in backstage.json (its `root` version).
const CREATE_APP = '@backstage/create-app@0.9.2';
const APP_URL = 'http://localhost:3000';
const BACKEND_URL = 'http://localhost:7007';
const ARGOCD_MAIN = 'http://127.0.0.1:7091/api/v1/applications';

/** The published packages, by workspace directory. */
const PACKAGES = {
  'plugin-gitops-common': 'plugins/gitops-common',
  'plugin-gitops-node': 'plugins/gitops-node',
  'plugin-gitops-backend': 'plugins/gitops-backend',
  'plugin-scaffolder-backend-module-gitops':
    'plugins/scaffolder-backend-module-gitops',
  'plugin-gitops': 'plugins/gitops',
};

const skip =
  process.env.ADOPTER_TEST !== '1' &&
  'set ADOPTER_TEST=1 to play the adopter (about 15 minutes)';

let work;
let log;
const children = [];

/** Runs a command to its end, its output into the log; throws with its tail on failure. */
async function run(command, args, options = {}) {
  log.write(`\n$ ${command} ${args.join(' ')}  (in ${options.cwd ?? ROOT})\n`);
  try {
    const { stdout, stderr } = await exec(command, args, {
      cwd: ROOT,
      maxBuffer: 256 * 1024 * 1024,
      ...options,
    });
    log.write(stdout + stderr);
    return stdout;
  } catch (error) {
    log.write(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    throw new Error(
      `${command} ${args.join(' ')} failed: ${String(
        error.stderr || error.stdout || error.message,
      ).slice(-3000)}`,
    );
  }
}

/** Starts a long-running command in its own process group, its output into the log. */
function startBackground(command, args, options) {
  const child = spawn(command, args, {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  child.stdout.on('data', d => log.write(d));
  child.stderr.on('data', d => log.write(d));
  children.push(child);
  return child;
}

async function answers(url, child, deadlineMs, headers = {}) {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`exited with ${child.exitCode} before ${url} answered`);
    }
    try {
      if ((await fetch(url, { headers })).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await sleep(1000);
  }
}

/** The app's own Yarn (its committed release), never the one of this repository. */
const appYarn = (app, args, env = {}) =>
  run(
    process.execPath,
    [path.join(app, '.yarn/releases/yarn-4.13.0.cjs'), ...args],
    {
      cwd: app,
      env: { ...process.env, YARN_ENABLE_IMMUTABLE_INSTALLS: 'false', ...env },
    },
  );

/** `backend.add(...)` lines inserted before `backend.start()`. */
function addToBackend(source, packages) {
  const lines = packages.map(p => `backend.add(import('${p}'));\n`).join('');
  if (!source.includes('backend.start();')) {
    throw new Error('packages/backend/src/index.ts has no backend.start()');
  }
  return source.replace('backend.start();', `${lines}\nbackend.start();`);
}

async function editJson(file, edit) {
  const json = JSON.parse(await readFile(file, 'utf8'));
  edit(json);
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
}

/**
 * The @backstage package versions create-app templates (its release's), from its own
 * version table: dist/packages/<name> and dist/plugins/<name> (`@backstage/plugin-<name>`).
 */
async function releaseVersions() {
  const dist = path.join(work, 'tools/node_modules/@backstage/create-app/dist');
  const versions = {};
  for (const [dir, prefix] of [
    ['packages', '@backstage/'],
    ['plugins', '@backstage/plugin-'],
  ]) {
    for (const name of await readdir(path.join(dist, dir))) {
      const source = await readFile(
        path.join(dist, dir, name, 'package.json.cjs.js'),
        'utf8',
      );
      const version = /version = "([^"]+)"/.exec(source)?.[1];
      if (version) versions[`${prefix}${name}`] = version;
    }
  }
  if (versions['@backstage/cli'] === undefined) {
    throw new Error(`create-app's version table is not where it was: ${dist}`);
  }
  return versions;
}

/** What the adopter adds to its app-config.local.yaml: the sandbox's Argo CD and Git. */
const LOCAL_CONFIG = `backend:
  listen:
    host: 127.0.0.1
  reading:
    allow:
      - host: 127.0.0.1:7090
catalog:
  rules:
    - allow: [Component, System, API, Resource, Location, Group, User]
  locations:
    - type: file
      target: ${path.join(ROOT, 'examples/catalog/org.yaml')}
    - type: file
      target: ${path.join(ROOT, 'examples/catalog/checkout.yaml')}
argocd:
  appLocatorMethods:
    - type: config
      instances:
        - name: main
          url: http://127.0.0.1:7091
          token: sandbox-main-token
        - name: prod
          url: http://127.0.0.1:7092
          token: sandbox-prod-token
gitops:
  environments: [dev, staging, prod]
  git:
    credentials:
      - host: 127.0.0.1:7090
        password: sandbox-git-token
`;

let app;
let browser;
let page;

before(async () => {
  if (skip) return;
  await mkdir(OUTPUT_DIR, { recursive: true });
  log = createWriteStream(path.join(OUTPUT_DIR, 'adopter.log'));
  work = await mkdtemp(path.join(os.tmpdir(), 'gitops-adopter-'));
  app = path.join(work, 'adopter');
});

after(async () => {
  await browser?.close();
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await sleep(2000);
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  log?.end();
  if (work) await rm(work, { recursive: true, force: true });
});

test(
  'an app from @backstage/create-app installs the packed plugins with packages and config only',
  { skip, timeout: 60 * 60_000 },
  async t => {
    const packs = path.join(work, 'packs');
    await mkdir(packs);
    await t.test('pack the plugins as they would be published', async () => {
      // backstage-cli package build reads the declarations tsc writes.
      await run('yarn', ['tsc']);
      for (const [name, dir] of Object.entries(PACKAGES)) {
        const pkg = `@gitops-backstage/${name}`;
        await run('yarn', ['workspace', pkg, 'build']);
        await run(
          'yarn',
          ['workspace', pkg, 'pack', '--out', path.join(packs, `${name}.tgz`)],
          {
            cwd: path.join(ROOT, dir),
          },
        );
      }
    });

    await t.test('create the app with create-app', async () => {
      const tools = path.join(work, 'tools');
      await run('npm', [
        'install',
        '--silent',
        '--no-audit',
        '--no-fund',
        '--prefix',
        tools,
        CREATE_APP,
      ]);
      // create-app fetches a yarn.lock seed from GitHub; the proxy refuses it at once on
      // 127.0.0.1 (this test reaches nothing else but the npm registry), and the app keeps
      // the lock file of its template.
      await run(
        process.execPath,
        [
          path.join(
            tools,
            'node_modules/@backstage/create-app/bin/backstage-create-app',
          ),
          '--path',
          app,
          '--skip-install',
        ],
        {
          cwd: work,
          env: {
            ...process.env,
            BACKSTAGE_APP_NAME: 'adopter',
            NODE_USE_ENV_PROXY: '1',
            HTTPS_PROXY: 'http://127.0.0.1:9',
            HTTP_PROXY: 'http://127.0.0.1:9',
          },
        },
      );
    });

    await t.test(
      'install the plugins: a dependency and one line each',
      async () => {
        // The app as create-app made it for our release, as its lock file would keep
        // it: its @backstage packages at the versions create-app templated (without
        // the lock seed it fetches from GitHub, today's newest would mix releases).
        const release = await releaseVersions();
        await editJson(path.join(app, 'package.json'), json => {
          json.resolutions = { ...json.resolutions, ...release };
        });
        const tarball = name => `file:${path.join(packs, `${name}.tgz`)}`;
        // Until they are on the registry, every @gitops-backstage package resolves to its
        // tarball (the published ones depend on each other by version).
        await editJson(path.join(app, 'package.json'), json => {
          json.resolutions = {
            ...json.resolutions,
            ...Object.fromEntries(
              Object.keys(PACKAGES).map(name => [
                `@gitops-backstage/${name}`,
                tarball(name),
              ]),
            ),
          };
        });
        await editJson(
          path.join(app, 'packages/backend/package.json'),
          json => {
            json.dependencies['@gitops-backstage/plugin-gitops-backend'] =
              tarball('plugin-gitops-backend');
            json.dependencies[
              '@gitops-backstage/plugin-scaffolder-backend-module-gitops'
            ] = tarball('plugin-scaffolder-backend-module-gitops');
          },
        );
        await editJson(path.join(app, 'packages/app/package.json'), json => {
          json.dependencies['@gitops-backstage/plugin-gitops'] =
            tarball('plugin-gitops');
        });
        const index = path.join(app, 'packages/backend/src/index.ts');
        await writeFile(
          index,
          addToBackend(await readFile(index, 'utf8'), [
            '@gitops-backstage/plugin-gitops-backend',
            '@gitops-backstage/plugin-scaffolder-backend-module-gitops',
          ]),
        );
        await writeFile(path.join(app, 'app-config.local.yaml'), LOCAL_CONFIG);
        await appYarn(app, ['install']);
        await appYarn(app, ['tsc']);
      },
    );

    await t.test('start it against the sandbox', async () => {
      const sandbox = startBackground('yarn', ['sandbox'], { cwd: ROOT });
      await answers(ARGOCD_MAIN, sandbox, 5 * 60_000, {
        authorization: 'Bearer sandbox-main-token',
      });
      const portal = startBackground(
        process.execPath,
        [path.join(app, '.yarn/releases/yarn-4.13.0.cjs'), 'start'],
        {
          cwd: app,
          env: { ...process.env, BROWSER: 'none', FORCE_COLOR: '0' },
        },
      );
      await answers(`${BACKEND_URL}/api/gitops/health`, portal, 10 * 60_000);
      await answers(APP_URL, portal, 10 * 60_000);
    });

    await t.test(
      "Chromium: service-a's Deployments tab shows its environments; the actions are registered",
      async () => {
        browser = await launchBrowser();
        page = await browser.newPage({
          viewport: { width: 1400, height: 900 },
        });
        page.setDefaultTimeout(180_000);
        await signIn(page, '/catalog/default/component/service-a/deployments');
        for (const env of ['dev', 'staging', 'prod']) {
          const lane = page.getByTestId(`lane-${env}`);
          await lane.getByTestId('sync-status').getByText('Synced').waitFor();
          await lane.getByTestId('running-version').waitFor();
        }
        await page.screenshot({
          path: path.join(OUTPUT_DIR, 'adopter-deployments.png'),
          fullPage: true,
        });
        await signIn(page, '/create/actions');
        for (const action of [
          'argocd:application:create',
          'gitops:values:set',
        ]) {
          await page.getByText(action, { exact: true }).waitFor();
        }
      },
    );
  },
);
