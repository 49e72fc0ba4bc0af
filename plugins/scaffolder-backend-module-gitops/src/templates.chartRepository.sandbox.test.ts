import {
  argo,
  eventually,
  helmBinary,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import {
  assertTools,
  describeWithTools,
  fakeCommand,
  githubStepScript,
  gitlabJobScript,
  parseCi,
  runCiScript,
} from './__testUtils__/ciScripts';
import {
  cloneSandboxRepo,
  expectCompleted,
  sandboxRepoValues,
  startScaffolderBackend,
} from './__testUtils__/scaffolderBackend';

const exec = promisify(execFile);

// A whole scaffold (Git, helm per environment, the sandbox syncing), then the chart CI
// twice and Argo CD deploying each version, on a loaded 2-core machine.
jest.setTimeout(1_800_000);

const NAME = 'service-h';
const ENVIRONMENTS = ['dev', 'staging', 'prod'];
/** What the CI scripts run with: bash (GitHub), BusyBox (GitLab in Alpine), git, curl. */
const TOOLS = ['bash', 'busybox', 'git', 'curl'];

/**
 * gitops-service with "chart in a chart repository", through the real scaffolder
 * against the sandbox: the chart in the app repository, its first version in the
 * sandbox's chart repository, multi-source Applications (the chart at a pinned version,
 * the values from the config repository) deployed by real helm; then the app's chart
 * CI, its scripts taken from the scaffolded files and run as GitHub and GitLab run them,
 * releasing new chart versions that Argo CD deploys in dev.
 */
describeWithTools(TOOLS)(
  'gitops-service with the chart in a chart repository, against the sandbox',
  () => {
    let sandbox: Sandbox;
    let dir: string;
    let stop: () => Promise<void>;
    let run: Awaited<ReturnType<typeof startScaffolderBackend>>['run'];
    let chartRepository: string;
    let configRepoUrl: string;
    /** Where `helm` is, for the CI scripts (the runners' images have it). */
    let bin: string;

    beforeAll(async () => {
      assertTools(TOOLS);
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-chart-repo-'));
      sandbox = await startTestSandbox({ dir: path.join(dir, 'sandbox') });
      const backend = await startScaffolderBackend(sandbox);
      run = backend.run;
      stop = backend.stop;
      chartRepository = sandbox.charts.repoUrl('dev');
      configRepoUrl = sandbox.repoUrl(`${NAME}-config`);
      bin = await fs.mkdtemp(path.join(dir, 'bin-'));
      await fs.symlink(await helmBinary(), path.join(bin, 'helm'));
    });
    afterAll(async () => {
      await stop?.();
      await sandbox?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });

    const clone = (repo: string) => cloneSandboxRepo(sandbox, dir, repo);
    const instanceOf = (env: string) => (env === 'prod' ? 'prod' : 'main');
    const application = async (env: string) =>
      (
        await argo(
          sandbox,
          instanceOf(env),
          `/api/v1/applications/${NAME}-${env}`,
        )
      ).body;
    /** The file on the config repository's main, as Argo CD reads it. */
    const configFile = (file: string) =>
      fetch(`${sandbox.gitUrl}/raw/${NAME}-config/main/${file}`).then(r =>
        r.text(),
      );
    /** The `helm.sh/chart` label of the Service the chart deployed in `env`. */
    const deployedChart = async (env: string) => {
      const { status, body } = await argo(
        sandbox,
        instanceOf(env),
        `/api/v1/applications/${NAME}-${env}/resource?kind=Service&resourceName=${NAME}&namespace=${NAME}-${env}&version=v1`,
      );
      return status === 200
        ? JSON.parse(body.manifest).metadata.labels['helm.sh/chart']
        : undefined;
    };
    /**
     * The root Application (app of apps over argocd/) applies the Application file CI
     * bumped, as Argo CD's sync of it does, also over the Application created through
     * the API at scaffolding.
     */
    const rootApplies = (env: string, version: string) =>
      eventually(
        async () => {
          const res = await argo(
            sandbox,
            instanceOf(env),
            `/api/v1/applications/${NAME}-apps/resource?kind=Application&resourceName=${NAME}-${env}&namespace=argocd&group=argoproj.io`,
          );
          const live =
            res.status === 200 ? JSON.parse(res.body.manifest) : undefined;
          return live?.spec?.sources?.[0]?.targetRevision === version
            ? live
            : undefined;
        },
        `the root Application to apply ${env}'s file pinning ${version}`,
        600_000,
      );
    /** dev once it runs chart `version`: its Application pins it, Synced and Healthy. */
    const devRuns = (version: string) =>
      eventually(
        async () => {
          const app = await application('dev');
          return app.spec.sources?.[0]?.targetRevision === version &&
            app.status?.sync?.status === 'Synced' &&
            app.status?.health?.status === 'Healthy' &&
            (await deployedChart('dev')) === `${NAME}-${version}`
            ? app
            : undefined;
        },
        `dev to run chart ${version}`,
        600_000,
      );

    it('creates the service: the chart in the app repository, 0.1.0 in the chart repository, multi-source Applications Synced and Healthy from it', async () => {
      const { status, log } = await run('gitops-service', {
        name: NAME,
        owner: 'group:default/team-checkout',
        language: 'python',
        port: 8080,
        environments: ENVIRONMENTS.map(name => ({
          name,
          instance: instanceOf(name),
        })),
        namespacePattern: '{service}-{environment}',
        project: 'default',
        rollout: 'rolling',
        ingressHostPattern: '{service}.{environment}.example.com',
        imageRegistry: 'registry.example.com',
        imageRepository: `checkout/${NAME}`,
        chartSource: 'chartRepository',
        chartRepository,
        ...sandboxRepoValues(sandbox),
      });
      expectCompleted(status, log);
      // gitops:chart:validate ran on the chart (now in the app repository) with the
      // config repository's values files.
      for (const env of ENVIRONMENTS) {
        expect(log).toMatch(
          new RegExp(
            `environment ${env} \\(\\.\\./\\.\\./config/chart/values-${env}\\.yaml\\): helm lint passed, \\d+ objects rendered`,
          ),
        );
      }
      expect(log).toContain(`Published ${NAME} 0.1.0 to ${chartRepository}`);
      expect(await sandbox.charts.versions('dev', NAME)).toEqual(['0.1.0']);

      const app = await clone(NAME);
      const config = await clone(`${NAME}-config`);
      expect(
        parse(await fs.readFile(path.join(app, 'chart', 'Chart.yaml'), 'utf8')),
      ).toMatchObject({ name: NAME, version: '0.1.0' });
      expect(
        (await fs.readdir(path.join(app, 'chart', 'templates'))).length,
      ).toBeGreaterThan(3);
      // The config repository keeps the values files only.
      expect((await fs.readdir(path.join(config, 'chart'))).sort()).toEqual(
        ENVIRONMENTS.map(env => `values-${env}.yaml`).sort(),
      );

      for (const env of ENVIRONMENTS) {
        const text = await fs.readFile(
          path.join(config, 'argocd', `${env}.yaml`),
          'utf8',
        );
        // One document per file: the promotion edits the file in place.
        const docs = parseAllDocuments(text);
        expect(docs).toHaveLength(1);
        const file = docs[0].toJS();
        expect(file.spec.source).toBeUndefined();
        expect(file.spec.sources).toEqual([
          {
            repoURL: chartRepository,
            chart: NAME,
            targetRevision: '0.1.0',
            helm: {
              releaseName: NAME,
              valueFiles: [`$values/chart/values-${env}.yaml`],
            },
          },
          { repoURL: configRepoUrl, targetRevision: 'main', ref: 'values' },
        ]);
        // What argocd:application:create sent is what the file declares (Argo CD, and
        // the root Application deploying the file, see no difference).
        const created = await application(env);
        expect(created.spec).toEqual(file.spec);
        expect(created.metadata.labels).toEqual(file.metadata.labels);
        expect(created.metadata.annotations).toMatchObject(
          file.metadata.annotations,
        );
      }

      // dev and staging deploy the chart's 0.1.0 from the chart repository with their
      // values from Git; prod waits for its manual sync.
      for (const env of ['dev', 'staging']) {
        const deployed = await eventually(
          async () => {
            const current = await application(env);
            return current.status?.sync?.status === 'Synced' &&
              current.status?.health?.status === 'Healthy'
              ? current
              : undefined;
          },
          `${env} to be Synced and Healthy`,
          600_000,
        );
        expect(deployed.status.sync.revisions?.[0]).toBe('0.1.0');
        expect(await deployedChart(env)).toBe(`${NAME}-0.1.0`);
      }
      // The root Application deploys argocd/ (what promotions and CI edit).
      const root = await argo(
        sandbox,
        'main',
        `/api/v1/applications/${NAME}-apps`,
      );
      expect(root.body.spec.source.path).toBe('argocd');
    });

    /** A change of the chart in the app clone, committed at `date` (its version's stamp). */
    async function commitChartChange(app: string, line: string, date: string) {
      await fs.appendFile(path.join(app, 'chart', 'values.yaml'), `${line}\n`);
      await exec(
        'git',
        [
          '-c',
          'user.name=Dev',
          '-c',
          'user.email=dev@example.com',
          'commit',
          '--quiet',
          '-am',
          'Change the chart',
        ],
        {
          cwd: app,
          env: {
            ...process.env,
            GIT_AUTHOR_DATE: date,
            GIT_COMMITTER_DATE: date,
          },
        },
      );
      await exec('git', ['push', '--quiet', 'origin', 'HEAD:main'], {
        cwd: app,
      });
      return (
        await exec('git', ['rev-parse', 'HEAD'], { cwd: app })
      ).stdout.trim();
    }

    const indexVersions = async () =>
      (
        parse(await fetch(`${chartRepository}/index.yaml`).then(r => r.text()))
          .entries[NAME] as Array<{ version: string }>
      ).map(e => e.version);

    it("the app's chart CI (GitHub, then GitLab) lints, packages and pushes a version per commit, pins it in dev, and Argo CD deploys it", async () => {
      const app = await clone(NAME);
      const workflow = parseCi(
        await fs.readFile(path.join(app, '.github/workflows/ci.yaml'), 'utf8'),
      );
      const pipeline = parseCi(
        await fs.readFile(path.join(app, '.gitlab-ci.yml'), 'utf8'),
      );
      const credentials = {
        CHART_REPOSITORY_USERNAME: 'sandbox',
        CHART_REPOSITORY_PASSWORD: sandbox.gitToken,
      };
      const devFile = await configFile('argocd/dev.yaml');

      // GitHub: the chart job's steps in the checkout of the pushed commit.
      const sha = await commitChartChange(
        app,
        '# changed for the first CI run',
        '2030-01-02T03:04:05Z',
      );
      const version = `0.1.1-20300102030405.g${sha.slice(0, 7)}`;
      const runnerTemp = await fs.mkdtemp(path.join(dir, 'runner-temp-'));
      const output = path.join(runnerTemp, 'github-output');
      await fs.writeFile(output, '');
      const githubEnv = {
        ...workflow.env,
        ...credentials,
        GITHUB_SHA: sha,
        GITHUB_REF: 'refs/heads/main',
        RUNNER_TEMP: runnerTemp,
        GITHUB_OUTPUT: output,
      };
      const lint = await runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'chart', 'Lint the chart'),
        cwd: app,
        env: githubEnv,
        bin: [bin],
      });
      expect(lint).toMatchObject({ code: 0 });
      expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      const push = await runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'chart', 'package'),
        cwd: app,
        env: githubEnv,
        bin: [bin],
      });
      expect({ code: push.code, stderr: push.stderr }).toEqual({
        code: 0,
        stderr: '',
      });
      expect(push.stdout).toContain(
        `pushed ${NAME} ${version} to ${chartRepository}`,
      );
      expect(await fs.readFile(output, 'utf8')).toBe(
        `chart=${NAME}\nversion=${version}\n`,
      );
      // In the repository's index.yaml (written by the real helm repo index).
      expect(await indexVersions()).toEqual(
        expect.arrayContaining(['0.1.0', version]),
      );

      // A re-run of the same commit keeps the version it pushed before.
      const again = await runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'chart', 'package'),
        cwd: app,
        env: { ...githubEnv, GITHUB_OUTPUT: path.join(runnerTemp, 'again') },
        bin: [bin],
      });
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(
        `already has ${NAME} ${version} (a re-run of this commit): keeping it`,
      );

      // chart-bump: in a checkout of the config repository, with the job's outputs.
      const config = await clone(`${NAME}-config`);
      const bump = await runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'chart-bump', 'Commit the chart'),
        cwd: config,
        env: { ...workflow.env, CHART: NAME, VERSION: version },
      });
      expect({ code: bump.code, stderr: bump.stderr }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      expect(bump.stdout).toContain(
        `pushed "ci: dev runs chart ${NAME} ${version}" (attempt 1)`,
      );
      // Only the chart source's targetRevision changed; comments and layout stay.
      expect(await configFile('argocd/dev.yaml')).toBe(
        devFile.replace(/^( {6}targetRevision:) 0\.1\.0$/m, `$1 ${version}`),
      );
      expect(
        parse(await configFile('argocd/staging.yaml')).spec.sources[0],
      ).toMatchObject({ targetRevision: '0.1.0' });
      // The root Application applies the file; dev syncs the new chart version.
      await rootApplies('dev', version);
      await devRuns(version);
      expect(await deployedChart('staging')).toBe(`${NAME}-0.1.0`);

      // GitLab: the chart job (alpine/helm with git and curl) on the next commit, its
      // dotenv report handed to chart-bump, which clones the config repository itself.
      await exec('git', ['pull', '--quiet', '--rebase', 'origin', 'main'], {
        cwd: app,
      });
      const sha2 = await commitChartChange(
        app,
        '# changed for the second CI run',
        '2030-01-02T04:05:06Z',
      );
      const version2 = `0.1.1-20300102040506.g${sha2.slice(0, 8)}`;
      const gitlabBin = await fs.mkdtemp(path.join(dir, 'gitlab-bin-'));
      const apk = await fakeCommand(gitlabBin, 'apk');
      const gitlabEnv = {
        ...pipeline.variables,
        CI_COMMIT_SHORT_SHA: sha2.slice(0, 8),
        CI_COMMIT_BRANCH: 'main',
        CI_DEFAULT_BRANCH: 'main',
        GITLAB_CI: 'true',
      };
      const chartJob = await runCiScript({
        shell: 'gitlab',
        script: gitlabJobScript(pipeline, 'chart'),
        cwd: app,
        bin: [gitlabBin, bin],
        env: { ...gitlabEnv, ...credentials },
      });
      expect({ code: chartJob.code, stdout: chartJob.stdout }).toEqual({
        code: 0,
        stdout: expect.stringContaining(
          `pushed ${NAME} ${version2} to ${chartRepository}`,
        ),
      });
      expect(await apk.calls()).toEqual([['add', '--no-cache', 'git', 'curl']]);
      const dotenv = await fs.readFile(path.join(app, 'chart.env'), 'utf8');
      expect(dotenv).toBe(`CHART_NAME=${NAME}\nCHART_VERSION=${version2}\n`);
      // Newer than the first: the next patch, ordered by commit time.
      expect(await indexVersions()).toEqual(
        expect.arrayContaining(['0.1.0', version, version2]),
      );
      expect(version2 > version).toBe(true);

      const build = await fs.mkdtemp(path.join(dir, 'build-'));
      const chartBump = await runCiScript({
        shell: 'gitlab',
        script: gitlabJobScript(pipeline, 'chart-bump'),
        cwd: build,
        bin: [gitlabBin],
        env: {
          ...gitlabEnv,
          CONFIG_REPO_URL: configRepoUrl,
          CONFIG_REPO_TOKEN: sandbox.gitToken,
          CHART_NAME: NAME,
          CHART_VERSION: version2,
        },
      });
      expect({ code: chartBump.code, stdout: chartBump.stdout }).toEqual({
        code: 0,
        stdout: expect.stringContaining(
          `pushed "ci: dev runs chart ${NAME} ${version2}" (attempt 1)`,
        ),
      });
      await rootApplies('dev', version2);
      await devRuns(version2);
      expect(
        parse(await configFile('argocd/prod.yaml')).spec.sources[0]
          .targetRevision,
      ).toBe('0.1.0');
    });
  },
);
