import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import {
  argo,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import {
  component,
  gitIn,
  sandboxBackendConfig,
  sandboxRepos,
  specErrors,
} from './__testUtils__/sandboxBackend';

jest.setTimeout(180_000);

/** A Component of another team, selecting the Applications it created for itself. */
function attackerComponent(name: string, selector: string): Entity {
  const entity = component(name, { 'argocd/app-selector': selector });
  return { ...entity, spec: { ...entity.spec, owner: 'team-x' } };
}

/**
 * Anyone who may create an Application in their own Argo CD project may point its
 * source at any repository; the portal writes with its own Git credentials. So a
 * write goes only to repositories app-config lets the project use
 * (`gitops.projects[].sourceRepos`), as Argo CD's AppProject does.
 */
describe('Source repositories of a project bound writes (sandbox, permission allows all)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  const auditor = mockServices.auditor.mock();

  /** An Application of team-x's own, naming team-x's entity, whose source is service-b's config repository. */
  const hijacking = (
    name: string,
    project: string,
    environment: 'staging' | 'prod',
  ) => ({
    metadata: {
      name: `${name}-${environment}`,
      namespace: 'argocd',
      labels: {
        'app.kubernetes.io/name': name,
        'gitops/environment': environment,
      },
      annotations: {
        'gitops.backstage.io/entity-ref': `component:default/${name}`,
      },
    },
    spec: {
      project,
      source: {
        repoURL: `${sandbox.gitUrl}/git/service-b-config.git`,
        targetRevision: 'main',
        path: 'chart',
        helm: {
          releaseName: name,
          valueFiles: [`values-${environment}.yaml`],
        },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: `team-x-${environment}`,
      },
      syncPolicy: {},
    },
  });

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-repos-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    // team-x creates, in its own projects, Applications on service-b's repository.
    for (const [name, project] of [
      ['attacker', 'team-x'],
      ['unlisted-repos', 'team-x-bare'],
    ]) {
      for (const [instance, environment] of [
        ['main', 'staging'],
        ['prod', 'prod'],
      ] as const) {
        const created = await argo(sandbox, instance, '/api/v1/applications', {
          method: 'POST',
          body: hijacking(name, project, environment),
        });
        if (created.status !== 200) {
          throw new Error(`${name} not created: ${JSON.stringify(created)}`);
        }
      }
    }
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({
          entities: [
            component('service-b', {
              'argocd/app-selector': 'app.kubernetes.io/name=service-b',
            }),
            attackerComponent('attacker', 'app.kubernetes.io/name=attacker'),
            attackerComponent(
              'unlisted-repos',
              'app.kubernetes.io/name=unlisted-repos',
            ),
          ],
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        auditor.factory,
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, {
            projects: [
              {
                name: 'checkout',
                owners: ['group:default/team-checkout'],
                sourceRepos: [sandboxRepos(sandbox)],
              },
              // team-x's project may use team-x's repositories only.
              {
                name: 'team-x',
                owners: ['group:default/team-x'],
                sourceRepos: [`${sandbox.gitUrl}/git/team-x-*`],
              },
              // Listed without sourceRepos: no repository at all.
              { name: 'team-x-bare', owners: ['group:default/team-x'] },
            ],
          }),
        }),
      ],
    });
    server = backend.server;
    stopBackend = () => backend.stop();
    await settled(sandbox);
  });
  afterAll(async () => {
    await stopBackend?.();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  const base = (entity: string) =>
    `/api/gitops/entities/component/default/${entity}`;
  const promote = (entity: string, body: object) =>
    request(server)
      .post(`${base(entity)}/promotions`)
      .send(body);
  const status = async (entity: string) => {
    const res = await request(server).get(`${base(entity)}/status`);
    expect(res.status).toBe(200);
    expect(specErrors('EntityDeploymentStatus', res.body)).toEqual([]);
    return res.body as EntityDeploymentStatus;
  };
  /** What a write into service-b's repository would change, and service-b's prod Application. */
  const snapshot = async () => ({
    head: (
      await gitIn(sandboxDir, 'service-b-config', 'rev-parse', 'main')
    ).trim(),
    log: await gitIn(sandboxDir, 'service-b-config', 'log', '--format=%H %s'),
    prod: (await argo(sandbox, 'prod', '/api/v1/applications/service-b-prod'))
      .body.spec,
  });
  const refusals = () =>
    auditor.createEvent.mock.calls
      .map(([event]) => event)
      .filter(event => event.severityLevel === 'high')
      .map(event => [event.eventId, event.meta?.refused]);

  it("refuses a promotion into service-b-config through team-x's own Application (its project's sourceRepos do not list it), and commits nothing", async () => {
    const repo = `${sandbox.gitUrl}/git/service-b-config.git`;
    const reason = `Application attacker-prod uses repository ${repo}, which its Argo CD project team-x may not use (gitops.projects[].sourceRepos): it is not among the sourceRepos of gitops.projects[team-x] (${sandbox.gitUrl}/git/team-x-*)`;
    const before = await snapshot();
    auditor.createEvent.mockClear();

    for (const dryRun of [true, false]) {
      const res = await promote('attacker', {
        from: 'staging',
        to: 'prod',
        dryRun,
      });
      expect({ dryRun, status: res.status }).toEqual({ dryRun, status: 403 });
      expect(res.body.error.message).toBe(reason);
    }
    const rollback = await request(server)
      .post(`${base('attacker')}/environments/prod/rollback`)
      .send({ id: 0 });
    expect(rollback.status).toBe(403);
    expect(rollback.body.error.message).toBe(reason);

    expect(await snapshot()).toEqual(before);
    expect(refusals()).toEqual([
      ['promotion', reason],
      ['promotion', reason],
      ['application-rollback', reason],
    ]);
  });

  it('shows those Applications (reads are unchanged), not writable, naming the repository and the config key', async () => {
    const view = await status('attacker');
    expect(
      view.environments.map(e => [e.application.name, e.writable]),
    ).toEqual([
      ['attacker-staging', false],
      ['attacker-prod', false],
    ]);
    expect(view.environments[1].notWritableReason).toContain(
      `uses repository ${sandbox.gitUrl}/git/service-b-config.git, which its Argo CD project team-x may not use`,
    );
  });

  it('refuses every repository for a project listed without sourceRepos, saying to add them', async () => {
    const before = await snapshot();
    const res = await promote('unlisted-repos', {
      from: 'staging',
      to: 'prod',
      dryRun: true,
    });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toBe(
      `Application unlisted-repos-prod uses repository ${sandbox.gitUrl}/git/service-b-config.git, which its Argo CD project team-x-bare may not use (gitops.projects[].sourceRepos): gitops.projects[team-x-bare] lists no sourceRepos, so it allows no repository: add sourceRepos to gitops.projects[team-x-bare]`,
    );
    expect(await snapshot()).toEqual(before);
  });

  it("still lets service-b write its own repository (project checkout's sourceRepos list it)", async () => {
    const view = await status('service-b');
    expect(view.environments.map(e => e.writable)).toEqual([true, true, true]);
    const preview = await promote('service-b', {
      from: 'staging',
      to: 'prod',
      dryRun: true,
    });
    expect(preview.status).toBe(200);
  });
});
