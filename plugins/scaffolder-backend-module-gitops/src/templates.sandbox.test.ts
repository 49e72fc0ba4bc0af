import {
  argo,
  eventually,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { parse } from 'yaml';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { helmTemplate } from './__testUtils__/chart';
import {
  cloneSandboxRepo,
  expectCompleted,
  sandboxRepoValues,
  startScaffolderBackend,
} from './__testUtils__/scaffolderBackend';

const exec = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');

// A whole scaffold (Git, helm per environment, the sandbox syncing) on a loaded 2-core machine.
jest.setTimeout(900_000);

/**
 * The templates run through the real scaffolder and catalog backends with this module,
 * against the sandbox: real Git, the Argo CD stand-in, real helm.
 */
describe('templates through the scaffolder, against the sandbox', () => {
  let sandbox: Sandbox;
  let dir: string;
  let server: any;
  let stop: () => Promise<void>;
  let run: Awaited<ReturnType<typeof startScaffolderBackend>>['run'];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-templates-'));
    sandbox = await startTestSandbox({ dir });
    const backend = await startScaffolderBackend(sandbox);
    server = backend.server;
    run = backend.run;
    stop = backend.stop;
  });
  afterAll(async () => {
    await stop?.();
    await sandbox?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const gitRepoValues = () => sandboxRepoValues(sandbox);
  const clone = (repo: string) => cloneSandboxRepo(sandbox, dir, repo);

  /**
   * A new service's lanes as its Deployments tab shows them right after scaffolding: no
   * version yet in every environment, nothing running, no error, no drift; dev and
   * staging Synced and Healthy (their first sync made the namespace, Service and
   * ServiceAccount and pulled no image), production waiting for its manual sync.
   */
  async function expectNoVersionYet(name: string, repository: string) {
    const lanes: EnvironmentStatus[] = await eventually(async () => {
      const res = await request(server).get(
        `/api/gitops/entities/component/default/${name}/status`,
      );
      const envs: EnvironmentStatus[] = res.body.environments ?? [];
      const automated = envs.filter(e => e.live.automatedSync);
      return envs.length === 3 &&
        automated.length === 2 &&
        automated.every(
          e =>
            e.live.syncStatus === 'Synced' &&
            e.live.health.status === 'Healthy',
        )
        ? envs
        : undefined;
    }, `${name}'s lanes: dev and staging Synced and Healthy`);
    expect(
      lanes.map(e => [
        e.environment,
        e.desired?.noVersionYet,
        e.desired?.valuesFile,
        e.desired?.error,
        e.live.images,
        e.drift,
      ]),
    ).toEqual(
      ['dev', 'staging', 'prod'].map(env => [
        env,
        { repository },
        `chart/values-${env}.yaml`,
        undefined,
        [],
        false,
      ]),
    );
  }

  const applications = async (instance: string, service: string) =>
    (
      await argo(
        sandbox,
        instance,
        `/api/v1/applications?selector=app.kubernetes.io/name=${service}`,
      )
    ).body.items ?? [];

  it.each([
    ['service-c', 'rolling', 'typescript'],
    ['service-d', 'canary', 'python'],
    ['service-e', 'blueGreen', 'typescript'],
  ])(
    'gitops-service creates %s (%s, %s): both repositories, Applications Synced and Healthy with no version yet, the component in the catalog',
    async (name, rollout, language) => {
      const { status, log } = await run('gitops-service', {
        name,
        owner: 'group:default/team-checkout',
        language,
        port: 8080,
        environments: [
          { name: 'dev', instance: 'main' },
          { name: 'staging', instance: 'main' },
          { name: 'prod', instance: 'prod' },
        ],
        namespacePattern: '{service}-{environment}',
        project: 'default',
        rollout,
        ingressHostPattern: '{service}.{environment}.example.com',
        imageRegistry: 'registry.example.com',
        imageRepository: `checkout/${name}`,
        ...gitRepoValues(),
      });
      expectCompleted(status, log);
      // The chart passed helm lint, helm template and the schemas in every environment.
      for (const env of ['dev', 'staging', 'prod']) {
        expect(log).toMatch(
          new RegExp(
            `environment ${env} \\(values-${env}.yaml\\): helm lint passed, \\d+ objects rendered`,
          ),
        );
      }

      const app = await clone(name);
      const config = await clone(`${name}-config`);
      // The service's own tests pass (what its CI and its image's test stage run).
      if (language === 'python') {
        await exec('python3', ['-m', 'unittest', '-q'], { cwd: app });
      } else {
        await exec(process.execPath, [
          require.resolve('typescript/bin/tsc'),
          '-p',
          app,
          '--typeRoots',
          path.join(ROOT, 'node_modules', '@types'),
          '--types',
          'node',
        ]);
        await exec(process.execPath, ['--test', 'dist/**/*.test.js'], {
          cwd: app,
        });
      }
      const appFiles = await fs.readdir(app);
      expect(appFiles).toEqual(
        expect.arrayContaining([
          'Dockerfile',
          'catalog-info.yaml',
          '.github',
          '.gitlab-ci.yml',
          'README.md',
        ]),
      );
      // CI: GitHub Actions and GitLab CI, multi-arch, tagged with the short SHA.
      const workflow = parse(
        await fs.readFile(
          path.join(app, '.github', 'workflows', 'ci.yaml'),
          'utf8',
        ),
      );
      expect(Object.keys(workflow.jobs)).toEqual(
        expect.arrayContaining(['test', 'image']),
      );
      expect(JSON.stringify(workflow)).toContain('linux/amd64,linux/arm64');
      const gitlab = parse(
        await fs.readFile(path.join(app, '.gitlab-ci.yml'), 'utf8'),
        { merge: true },
      );
      expect(gitlab.stages).toEqual(['test', 'build', 'deploy']);
      expect(gitlab.variables.IMAGE).toBe(
        `registry.example.com/checkout/${name}`,
      );
      expect(gitlab['build-image'].script.join('\n')).toContain(
        '--platform linux/amd64,linux/arm64',
      );
      const catalogInfo = parse(
        await fs.readFile(path.join(app, 'catalog-info.yaml'), 'utf8'),
      );
      expect(catalogInfo.metadata.annotations).toEqual({
        'argocd/app-selector': `app.kubernetes.io/name=${name}`,
        // The app repository itself, where the change log between versions is read.
        'gitops/app-repository': `${sandbox.gitUrl}/git/${name}.git`,
        'gitops/environments': 'dev,staging,prod',
      });
      const values = await fs.readFile(
        path.join(config, 'chart', 'values.yaml'),
        'utf8',
      );
      expect(parse(values).image.repository).toBe(
        `registry.example.com/checkout/${name}`,
      );
      expect(parse(values).rollout).toMatchObject({
        enabled: rollout !== 'rolling',
        strategy: rollout === 'blueGreen' ? 'blueGreen' : 'canary',
      });
      const prodApp = parse(
        await fs.readFile(path.join(config, 'argocd', 'prod.yaml'), 'utf8'),
      );
      // Not automated; the namespace is created by the first sync, as on a cluster.
      expect(prodApp.spec.syncPolicy).toEqual({
        syncOptions: ['CreateNamespace=true'],
      });
      // The file declares the Application the action created, annotation included.
      expect(prodApp.metadata.annotations).toEqual({
        'gitops.backstage.io/entity-ref': `component:default/${name}`,
      });
      const devApp = parse(
        await fs.readFile(path.join(config, 'argocd', 'dev.yaml'), 'utf8'),
      );
      expect(devApp.spec.syncPolicy).toEqual({
        automated: { prune: true, selfHeal: true },
        syncOptions: ['CreateNamespace=true'],
      });
      // A root Application (app of apps) per instance deploys argocd/.
      for (const [instance, files] of [
        ['main', 'dev.yaml,dev-*.yaml,staging.yaml,staging-*.yaml'],
        ['prod', 'prod.yaml,prod-*.yaml'],
      ]) {
        const root = await argo(
          sandbox,
          instance,
          `/api/v1/applications/${name}-apps`,
        );
        expect(root.status).toBe(200);
        expect(root.body.spec.source).toMatchObject({
          path: 'argocd',
          directory: {
            include: `{${files},applicationset-${instance}.yaml,applicationset-${instance}-*.yaml}`,
          },
        });
      }

      // Argo CD has the Applications; the automated ones deploy by themselves.
      await eventually(async () => {
        const apps = await applications('main', name);
        const ok = apps.filter(
          (a: any) =>
            a.status?.sync?.status === 'Synced' &&
            a.status?.health?.status === 'Healthy',
        );
        return ok.length === 2 ? ok : undefined;
      }, `${name}'s dev and staging to be Synced and Healthy`);
      expect(
        (await applications('prod', name)).map((a: any) => a.metadata.name),
      ).toEqual([`${name}-prod`]);

      const component = await eventually(async () => {
        const res = await request(server).get(
          `/api/catalog/entities/by-name/component/default/${name}`,
        );
        return res.status === 200 ? res.body : undefined;
      }, `${name} in the catalog`);
      expect(component.spec.owner).toBe('group:default/team-checkout');
      await expectNoVersionYet(name, `registry.example.com/checkout/${name}`);
    },
  );

  it('gitops-service with argocdLayout applicationSet: one ApplicationSet per instance (production apart) generates the Applications', async () => {
    const { status, log } = await run('gitops-service', {
      name: 'service-f',
      owner: 'group:default/team-checkout',
      language: 'python',
      port: 8080,
      environments: [
        { name: 'dev', instance: 'main' },
        { name: 'staging', instance: 'main' },
        { name: 'prod', instance: 'prod' },
      ],
      namespacePattern: '{service}-{environment}',
      project: 'default',
      rollout: 'rolling',
      ingressHostPattern: '{service}.{environment}.example.com',
      imageRegistry: 'registry.example.com',
      argocdLayout: 'applicationSet',
      ...gitRepoValues(),
    });
    expectCompleted(status, log);
    expect(log).toContain(
      'has ApplicationSet argocd/service-f, generating service-f-dev, service-f-staging',
    );

    // The config repository declares the sets, not one Application per environment.
    const config = await clone('service-f-config');
    expect((await fs.readdir(path.join(config, 'argocd'))).sort()).toEqual([
      'applicationset-main.yaml',
      'applicationset-prod-production.yaml',
    ]);
    const file = async (name: string) =>
      parse(await fs.readFile(path.join(config, 'argocd', name), 'utf8'));
    const mainFile = await file('applicationset-main.yaml');
    expect(mainFile.spec.generators[0].list.elements).toEqual([
      {
        environment: 'dev',
        namespace: 'service-f-dev',
        cluster: 'https://kubernetes.default.svc',
      },
      {
        environment: 'staging',
        namespace: 'service-f-staging',
        cluster: 'https://kubernetes.default.svc',
      },
    ]);

    // The sets exist on their instances, and what the action posted is what the file says.
    const main = await argo(
      sandbox,
      'main',
      '/api/v1/applicationsets/service-f',
    );
    expect(main.status).toBe(200);
    expect(main.body.spec).toEqual(mainFile.spec);
    const prod = await argo(
      sandbox,
      'prod',
      '/api/v1/applicationsets/service-f-production',
    );
    expect(prod.status).toBe(200);
    expect(prod.body.spec).toEqual(
      (await file('applicationset-prod-production.yaml')).spec,
    );
    // Not automated; the first sync creates the namespace.
    expect(prod.body.spec.template.spec.syncPolicy).toEqual({
      syncOptions: ['CreateNamespace=true'],
    });

    const deployed = await eventually(async () => {
      const apps = await applications('main', 'service-f');
      return apps.length === 2 &&
        apps.every(
          (a: any) =>
            a.status?.sync?.status === 'Synced' &&
            a.status?.health?.status === 'Healthy',
        )
        ? apps
        : undefined;
    }, "service-f's dev and staging to be Synced and Healthy");
    expect(
      deployed.map((a: any) => [
        a.metadata.name,
        a.metadata.labels['gitops/environment'],
        a.metadata.ownerReferences[0].kind,
      ]),
    ).toEqual([
      ['service-f-dev', 'dev', 'ApplicationSet'],
      ['service-f-staging', 'staging', 'ApplicationSet'],
    ]);
    const [prodApp] = await applications('prod', 'service-f');
    expect(prodApp.metadata.name).toBe('service-f-prod');
    expect(prodApp.metadata.ownerReferences[0].name).toBe(
      'service-f-production',
    );
  });

  it('gitops-cronjob creates a scheduled ETL job: dev and staging Synced with no version yet, so no CronJob before the first build', async () => {
    const { status, log } = await run('gitops-cronjob', {
      name: 'nightly-etl',
      owner: 'group:default/team-checkout',
      language: 'python',
      schedule: '0 3 * * *',
      concurrencyPolicy: 'Forbid',
      environments: [
        { name: 'dev', instance: 'main' },
        { name: 'staging', instance: 'main' },
        { name: 'prod', instance: 'prod' },
      ],
      namespacePattern: '{service}-{environment}',
      project: 'default',
      imageRegistry: 'registry.example.com',
      ...gitRepoValues(),
    });
    expectCompleted(status, log);
    const config = await clone('nightly-etl-config');
    const values = parse(
      await fs.readFile(path.join(config, 'chart', 'values.yaml'), 'utf8'),
    );
    expect(values).toMatchObject({
      schedule: '0 3 * * *',
      concurrencyPolicy: 'Forbid',
    });
    const app = await clone('nightly-etl');
    // The job's own tests pass (the same that run in the image's test stage).
    await exec('python3', ['-m', 'unittest', '-q'], { cwd: app });
    await eventually(async () => {
      const apps = await applications('main', 'nightly-etl');
      return apps.length === 2 &&
        apps.every((a: any) => a.status?.sync?.status === 'Synced')
        ? apps
        : undefined;
    }, 'the job to be Synced in dev and staging');
    // No CronJob until CI's first build of main: nothing to pull yet.
    await expectNoVersionYet('nightly-etl', 'registry.example.com/nightly-etl');
  });

  it('gitops-add-instance proposes a pinned instance of service-c on a branch of its config repository', async () => {
    const values = {
      service: 'service-c',
      environment: 'dev',
      instance: 'sensor-7',
      namespace: 'edge',
      node: 'node-7',
      env: { SENSOR_ID: '7' },
      repoHost: 'git',
      configRepoUrl: sandbox.repoUrl('service-c-config'),
    };
    const { status, log } = await run('gitops-add-instance', values);
    expectCompleted(status, log);
    const config = await clone('service-c-config');
    await exec('git', ['checkout', '--quiet', 'add-dev-sensor-7'], {
      cwd: config,
    });
    const application = parse(
      await fs.readFile(
        path.join(config, 'argocd', 'dev-sensor-7.yaml'),
        'utf8',
      ),
    );
    expect(application.spec.source.helm.valueFiles).toEqual([
      'values-dev.yaml',
      'values-dev-sensor-7.yaml',
    ]);
    // Rendered by real helm with the environment's values and the instance's, and the
    // tag CI's first build of main will set (no version yet renders no Deployment).
    const { objects } = await helmTemplate(
      path.join(config, 'chart'),
      application.spec.source.helm.valueFiles,
      { releaseName: 'service-c-sensor-7', set: ['image.tag=abc1234'] },
    );
    const deployment = objects.find(o => o.kind === 'Deployment');
    expect(deployment.spec.template.spec.nodeSelector).toEqual({
      'kubernetes.io/hostname': 'node-7',
    });
    expect(deployment.spec.template.spec.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'INSTANCE', value: 'sensor-7' },
        { name: 'SENSOR_ID', value: '7' },
      ]),
    );

    // Nothing deploys it before the branch is merged; the root Application does after.
    const appName = application.metadata.name;
    expect(
      (await argo(sandbox, 'main', `/api/v1/applications/${appName}`)).status,
    ).toBe(404);
    await exec('git', ['push', '--quiet', 'origin', 'add-dev-sensor-7:main'], {
      cwd: config,
    });
    await eventually(async () => {
      const deployed = await argo(
        sandbox,
        'main',
        `/api/v1/applications/${appName}`,
      );
      return deployed.status === 200 &&
        deployed.body.status?.health?.status === 'Healthy'
        ? deployed
        : undefined;
    }, `${appName} to be deployed by the root Application once merged`);

    // An environment the service does not have is refused, naming the missing file.
    const unknown = await run('gitops-add-instance', {
      ...values,
      environment: 'qa',
    });
    expect(unknown.status).toBe('failed');
    expect(unknown.log).toContain('has no chart/values-qa.yaml on main');
    // The same instance again is refused: its branch is there.
    const again = await run('gitops-add-instance', values);
    expect(again.status).toBe('failed');
    expect(again.log).toContain('already has a branch add-dev-sensor-7');
  });

  it('refuses an invalid name before anything is created', async () => {
    const { created } = await run('gitops-service', {
      name: 'Service_C',
      owner: 'group:default/team-checkout',
      language: 'python',
      environments: [{ name: 'dev', instance: 'main' }],
      rollout: 'rolling',
      ...gitRepoValues(),
    });
    expect(created.status).toBe(400);
    expect(JSON.stringify(created.body)).toContain('name');
    const repos = await fetch(`${sandbox.gitUrl}/api/repos`, {
      headers: { authorization: `Bearer ${sandbox.gitToken}` },
    }).then(r => r.json());
    expect(repos.repositories).not.toContain('Service_C');
  });

  it('fails a task naming an unknown Argo CD instance, creating no repository', async () => {
    const { status, log } = await run('gitops-service', {
      name: 'service-x',
      owner: 'group:default/team-checkout',
      language: 'python',
      environments: [{ name: 'dev', instance: 'nowhere' }],
      rollout: 'rolling',
      ...gitRepoValues(),
    });
    expect(status).toBe('failed');
    expect(log).toContain(
      'Argo CD instance "nowhere" of dev is not configured; the portal knows main, prod',
    );
    const repos = await fetch(`${sandbox.gitUrl}/api/repos`, {
      headers: { authorization: `Bearer ${sandbox.gitToken}` },
    }).then(r => r.json());
    expect(repos.repositories).not.toContain('service-x');
  });
});
