import {
  argo,
  eventually,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { assertTools, describeWithTools } from './__testUtils__/ciScripts';
import {
  GITLAB_CI_LOCAL_TOOLS,
  jobLog,
  runGitlabCiLocal,
} from './__testUtils__/gitlabCiLocal';
import {
  cloneSandboxRepo,
  expectCompleted,
  sandboxRepoValues,
  startScaffolderBackend,
} from './__testUtils__/scaffolderBackend';

const exec = promisify(execFile);

// A scaffold (up to 10 minutes on a loaded machine), two pipeline runs and Argo CD's
// sync: 3-5 minutes here, 5x that and more on a loaded 2-core machine.
jest.setTimeout(3_600_000);

const TOOLS = [...GITLAB_CI_LOCAL_TOOLS, 'python3'];

const git = (cwd: string, ...args: string[]) =>
  exec(
    'git',
    ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args],
    {
      cwd,
    },
  ).then(r => r.stdout.trim());

/** An edit of a file of the app: `find` replaced by `replace`, which must be there. */
interface Edit {
  file: string;
  find: string;
  replace: string;
}

/**
 * A developer's change to an app, test first (the pipeline must fail on it), then the
 * code (the pipeline must pass): a new route `/ready` for the service, readings without
 * a value skipped for the job.
 */
const CHANGES: Record<
  string,
  { test: Edit; code: Edit; failed: RegExp; passed: RegExp }
> = {
  'gitops-service/python': {
    test: {
      file: 'test_app.py',
      find: '    def test_unknown(self):',
      replace: [
        '    def test_ready(self):',
        '        self.assertEqual(route("/ready"), (200, {"status": "ready"}))',
        '',
        '    def test_unknown(self):',
      ].join('\n'),
    },
    code: {
      file: 'app.py',
      find: '    if path == "/health":',
      replace: [
        '    if path == "/ready":',
        '        return 200, {"status": "ready"}',
        '    if path == "/health":',
      ].join('\n'),
    },
    // unittest -v names each test.
    failed:
      /test_ready \(test_app\.RouteTest\.test_ready\) \.\.\. FAIL[\s\S]*FAILED \(failures=1\)/,
    passed:
      /test_ready \(test_app\.RouteTest\.test_ready\) \.\.\. ok[\s\S]*Ran 5 tests[\s\S]*OK/,
  },
  'gitops-cronjob/python': {
    test: {
      file: 'test_etl.py',
      find: '    def test_nothing_in_nothing_out(self):',
      replace: [
        '    def test_skips_records_without_a_reading(self):',
        '        self.assertEqual(transform([{"sensor": "a", "celsius": None}]), [])',
        '',
        '    def test_nothing_in_nothing_out(self):',
      ].join('\n'),
    },
    code: {
      file: 'etl.py',
      find: '    for r in records:\n',
      replace: [
        '    for r in records:',
        '        if r.get("celsius") is None:',
        '            continue',
        '',
      ].join('\n'),
    },
    // float(None) raises: unittest counts an error, not a failure.
    failed:
      /test_skips_records_without_a_reading \(test_etl\.TransformTest\.test_skips_records_without_a_reading\) \.\.\. ERROR[\s\S]*FAILED \(errors=1\)/,
    passed:
      /test_skips_records_without_a_reading \(test_etl\.TransformTest\.test_skips_records_without_a_reading\) \.\.\. ok[\s\S]*Ran 3 tests[\s\S]*OK/,
  },
};

async function commitEdit(app: string, edit: Edit, message: string) {
  const file = path.join(app, edit.file);
  const text = await fs.readFile(file, 'utf8');
  if (!text.includes(edit.find)) {
    throw new Error(`${edit.file} no longer has ${JSON.stringify(edit.find)}`);
  }
  await fs.writeFile(file, text.replace(edit.find, edit.replace));
  await git(app, 'commit', '--quiet', '-am', message);
  return git(app, 'rev-parse', 'HEAD');
}

/**
 * The generated GitLab pipeline, unmodified, run by gitlab-ci-local (every job in shell
 * mode, docker and apk stand-ins) on a clone of a service's app repository scaffolded
 * into the sandbox: the test job runs the app's tests, the image job pushes a multi-arch
 * image to the sandbox's registry, the bump job commits its tag to dev's values file,
 * and the sandbox's Argo CD deploys it.
 */
describeWithTools(TOOLS)(
  'the generated GitLab pipeline, run by gitlab-ci-local',
  () => {
    let sandbox: Sandbox;
    let dir: string;
    let backend: Awaited<ReturnType<typeof startScaffolderBackend>>;

    beforeAll(async () => {
      assertTools(TOOLS);
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-gitlab-ci-local-'));
      sandbox = await startTestSandbox({ dir });
      backend = await startScaffolderBackend(sandbox);
    });
    afterAll(async () => {
      await backend?.stop();
      await sandbox?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });

    const application = async (instance: string, name: string) => {
      const { status, body } = await argo(
        sandbox,
        instance,
        `/api/v1/applications/${name}`,
      );
      return status === 200 ? body : undefined;
    };

    // Each template once (python: its tests need nothing from the npm registry).
    it.each([
      [
        'gitops-service',
        'python',
        'shop-py',
        {
          port: 8080,
          rollout: 'rolling',
          ingressHostPattern: '{service}.{environment}.example.com',
        },
      ],
      [
        'gitops-cronjob',
        'python',
        'etl-py',
        { schedule: '0 3 * * *', concurrencyPolicy: 'Forbid' },
      ],
    ])(
      '%s (%s): a failing test stops the pipeline; then the image is pushed, dev bumped and Argo CD runs it',
      async (template, language, name, templateValues) => {
        const change = CHANGES[`${template}/${language}`];
        const registry = sandbox.registry;
        const image = `${registry.host}/checkout/${name}`;
        const scaffold = await backend.run(template, {
          name,
          owner: 'group:default/team-checkout',
          language,
          ...templateValues,
          environments: [
            { name: 'dev', instance: 'main' },
            { name: 'staging', instance: 'main' },
            { name: 'prod', instance: 'prod' },
          ],
          namespacePattern: '{service}-{environment}',
          project: 'default',
          imageRegistry: registry.host,
          imageRepository: `checkout/${name}`,
          ...sandboxRepoValues(sandbox),
        });
        expectCompleted(scaffold.status, scaffold.log);
        const configRepo = `${name}-config`;
        const config = await cloneSandboxRepo(sandbox, dir, configRepo);
        const configMain = await git(config, 'rev-parse', 'HEAD');
        const readValues = (env: string) =>
          fs.readFile(path.join(config, 'chart', `values-${env}.yaml`), 'utf8');
        const before = Object.fromEntries(
          await Promise.all(
            ['dev', 'staging', 'prod'].map(
              async env => [env, await readValues(env)] as const,
            ),
          ),
        );
        // dev starts with no version: Synced and Healthy, running no workload.
        expect(before.dev).toMatch(/^ {2}tag: ''$/m);
        const first = await eventually(
          async () => {
            const dev = await application('main', `${name}-dev`);
            return dev?.status?.sync?.status === 'Synced' &&
              dev.status.health?.status === 'Healthy'
              ? dev
              : undefined;
          },
          `${name}-dev to be Synced and Healthy with no version`,
          300_000,
        );
        expect(first.status.summary.images ?? []).toEqual([]);
        // What staging and prod run once their first syncs have ended.
        await settled(sandbox, 300_000);
        const staging = await application('main', `${name}-staging`);
        const prod = await application('prod', `${name}-prod`);

        const app = await cloneSandboxRepo(sandbox, dir, name);
        const home = path.join(dir, `${name}-ci`);
        const variables = {
          CONFIG_REPO_TOKEN: sandbox.gitToken,
          REGISTRY_USERNAME: registry.credentials.username,
          REGISTRY_PASSWORD: registry.credentials.password,
        };

        // The test first: the pipeline stops at its test job; nothing is built or bumped.
        const broken = await commitEdit(app, change.test, 'Test /ready');
        const failed = await runGitlabCiLocal({ cwd: app, home, variables });
        expect(failed.code).not.toBe(0);
        expect(failed.output).toMatch(/FAIL\s+test\b/);
        expect(jobLog(failed.output, 'test')).toMatch(change.failed);
        expect(failed.output).not.toMatch(/^build-image\s+starting/m);
        expect(
          registry.resolve(`${image}:${broken.slice(0, 8)}`),
        ).toBeUndefined();
        expect(await git(config, 'ls-remote', 'origin', 'main')).toMatch(
          new RegExp(`^${configMain}\\s`),
        );

        // Then the route: every job passes.
        const revision = await commitEdit(app, change.code, 'Answer /ready');
        const tag = revision.slice(0, 8); // CI_COMMIT_SHORT_SHA
        const passed = await runGitlabCiLocal({ cwd: app, home, variables });
        if (passed.code !== 0) {
          throw new Error(`pipeline failed:\n${passed.output.slice(-4000)}`);
        }
        for (const job of ['test', 'build-image', 'bump']) {
          expect(passed.output).toMatch(new RegExp(`PASS\\s+${job}\\b`));
        }
        expect(passed.output).not.toMatch(/\b(FAIL|SKIP)\b\s+release/);
        expect(jobLog(passed.output, 'test')).toMatch(change.passed);

        // The registry holds IMAGE:<short sha>, an index of amd64 and arm64 images
        // labelled with the commit, pushed over its HTTP API.
        expect(registry.resolve(`${image}:${tag}`)?.platforms.sort()).toEqual([
          'linux/amd64',
          'linux/arm64',
        ]);
        const inspected = JSON.parse(
          (
            await exec('skopeo', [
              'inspect',
              '--tls-verify=false',
              '--creds',
              `${registry.credentials.username}:${registry.credentials.password}`,
              `docker://${image}:${tag}`,
            ])
          ).stdout,
        );
        expect(inspected.Labels).toEqual({
          'org.opencontainers.image.revision': revision,
        });

        // The config repository's main has the bump: image.tag of dev, nothing else.
        await git(config, 'pull', '--quiet', '--ff-only');
        expect(
          await git(config, 'log', '--format=%s', `${configMain}..HEAD`),
        ).toBe(`ci: dev runs ${tag}`);
        expect(
          await git(config, 'diff', '--name-only', `${configMain}..HEAD`),
        ).toBe('chart/values-dev.yaml');
        expect(await readValues('dev')).toBe(
          before.dev.replace(/^( {2}tag:) .*$/m, `$1 '${tag}'`),
        );
        expect(await readValues('dev')).not.toBe(before.dev);
        expect(await readValues('staging')).toBe(before.staging);
        expect(await readValues('prod')).toBe(before.prod);

        // Argo CD syncs dev by itself, pulls the image from the registry and runs it.
        const configHead = await git(config, 'rev-parse', 'HEAD');
        const dev = await eventually(
          async () => {
            const found = await application('main', `${name}-dev`);
            return found?.status?.sync?.status === 'Synced' &&
              found.status.sync.revision === configHead &&
              found.status.health?.status === 'Healthy'
              ? found
              : undefined;
          },
          `${name}-dev to run ${tag}, Synced and Healthy`,
          300_000,
        );
        expect(dev.status.summary.images).toContain(`${image}:${tag}`);
        // staging and prod run what they ran (staging follows main too: a new revision
        // of it, the same manifests).
        await settled(sandbox, 300_000);
        for (const [instance, was] of [
          ['main', staging],
          ['prod', prod],
        ]) {
          const now = await application(instance, was.metadata.name);
          expect(now.status.summary.images ?? []).toEqual(
            was.status.summary.images ?? [],
          );
          expect(now.status.health.status).toBe(was.status.health.status);
        }
      },
    );
  },
);
