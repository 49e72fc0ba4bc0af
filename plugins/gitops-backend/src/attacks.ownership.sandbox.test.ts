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

/** A Component as anyone signed in may register it: its owner and annotations are its own word. */
function ownedBy(
  owner: string,
  name: string,
  annotations: Record<string, string>,
): Entity {
  const entity = component(name, annotations);
  return { ...entity, spec: { ...entity.spec, owner } };
}

const entities = [
  // service-b's own Component: its Applications name it (gitops.backstage.io/entity-ref).
  component('service-b', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
  // Another team's Component claiming service-b's Applications by name.
  ownedBy('team-x', 'attacker', {
    'argocd/app-name': 'service-b-staging,service-b-prod',
  }),
  // A selector matching every Application, from the team app-config hands `checkout` to.
  ownedBy('team-platform', 'match-all', { 'argocd/app-selector': '!x' }),
  // The team app-config hands project `checkout` to, with a selector that pins a label.
  ownedBy('team-platform', 'platform-view', {
    'argocd/app-selector': 'app.kubernetes.io/name=service-b',
  }),
];

/**
 * An entity decides, by its own annotations, which Applications it shows; whether it
 * may write them (sync, refresh, roll back, promote) is the Application's word or
 * app-config's. The permission policy here allows everything, so what holds below is
 * the ownership check alone.
 */
describe('Application ownership for writes (sandbox, permission allows all)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  const auditor = mockServices.auditor.mock();

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-owners-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        auditor.factory,
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, {
            // Project checkout (service-a's and service-b's) is team-platform's, not
            // team-checkout's: service-b may write its Applications because they name it.
            projects: [
              {
                name: 'checkout',
                owners: ['group:default/team-platform'],
                sourceRepos: [sandboxRepos(sandbox)],
              },
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
  const act = (entity: string, env: string, action: string, body = {}) =>
    request(server)
      .post(`${base(entity)}/environments/${env}/${action}`)
      .send(body);
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

  /** What a write would change: the config repositories and the prod Applications. */
  const snapshot = async () => {
    const state: Record<string, unknown> = {};
    for (const service of ['service-a', 'service-b']) {
      const app = (
        await argo(sandbox, 'prod', `/api/v1/applications/${service}-prod`)
      ).body;
      state[service] = {
        head: (
          await gitIn(sandboxDir, `${service}-config`, 'rev-parse', 'main')
        ).trim(),
        annotations: app.metadata.annotations,
        spec: app.spec,
        operationState: app.status.operationState ?? null,
        history: app.status.history,
        revision: app.status.sync.revision,
      };
    }
    return state;
  };

  const highSeverityRefusals = () =>
    auditor.createEvent.mock.calls
      .map(([event]) => event)
      .filter(event => event.severityLevel === 'high');

  it("refuses sync, refresh, rollback and promotion of service-b's prod through another team's Component naming it (argocd/app-name), and changes nothing", async () => {
    const reason =
      'Application service-b-prod names component:default/service-b, not component:default/attacker (annotation gitops.backstage.io/entity-ref) and its project checkout is not handed to group:default/team-x in gitops.projects';
    const before = await snapshot();
    auditor.createEvent.mockClear();

    for (const [action, body] of [
      ['sync', {}],
      ['refresh', {}],
      ['rollback', { id: 0 }],
    ] as const) {
      const res = await act('attacker', 'prod', action, body);
      expect({ action, status: res.status }).toEqual({ action, status: 403 });
      expect(res.body.error.message).toBe(reason);
    }
    for (const dryRun of [false, true]) {
      const res = await promote('attacker', {
        from: 'staging',
        to: 'prod',
        dryRun,
      });
      expect({ dryRun, status: res.status }).toEqual({ dryRun, status: 403 });
      expect(res.body.error.message).toBe(reason);
    }

    expect(await snapshot()).toEqual(before);
    // Every refused attempt is an auditor event of severity high, with the reason.
    expect(
      highSeverityRefusals().map(e => [e.eventId, e.meta?.refused]),
    ).toEqual([
      ['application-sync', reason],
      ['application-refresh', reason],
      ['application-rollback', reason],
      ['promotion', reason],
      ['promotion', reason],
    ]);
    expect(highSeverityRefusals()[0].meta).toMatchObject({
      entityRef: 'component:default/attacker',
      environment: 'prod',
      instance: 'prod',
      application: 'service-b-prod',
    });
  });

  it('still shows the claimed Applications (reads follow the annotations), with the buttons disabled and why', async () => {
    const view = await status('attacker');
    expect(
      view.environments.map(e => [
        e.environment,
        e.application.name,
        e.writable,
      ]),
    ).toEqual([
      ['staging', 'service-b-staging', false],
      ['prod', 'service-b-prod', false],
    ]);
    expect(view.environments[1].notWritableReason).toContain(
      'names component:default/service-b, not component:default/attacker',
    );
  });

  it('refuses writes through a match-all selector (!x) even from the owner of the project, and still answers reads', async () => {
    const before = await snapshot();
    auditor.createEvent.mockClear();
    const reason =
      'argocd/app-selector "!x" of component:default/match-all pins no label (it needs a key=value or key in (...) term), so it matches Applications nobody chose: they are shown, not changed from here';

    const view = await status('match-all');
    expect(view.environments.length).toBeGreaterThanOrEqual(6);
    expect(view.environments.every(e => !e.writable)).toBe(true);
    expect(view.environments[0].notWritableReason).toBe(reason);

    const sync = await act('match-all', 'prod', 'sync');
    expect(sync.status).toBe(403);
    expect(sync.body.error.message).toBe(reason);
    const promotion = await promote('match-all', {
      from: 'staging',
      to: 'prod',
      dryRun: true,
    });
    expect(promotion.status).toBe(403);
    expect(promotion.body.error.message).toBe(reason);

    expect(await snapshot()).toEqual(before);
    expect(highSeverityRefusals().map(e => e.meta?.refused)).toEqual([
      reason,
      reason,
    ]);
  });

  it('lets an entity its Applications name write them (service-b)', async () => {
    const view = await status('service-b');
    expect(view.environments.map(e => e.writable)).toEqual([true, true, true]);
    expect(view.environments[0].notWritableReason).toBeUndefined();

    const preview = await promote('service-b', {
      from: 'staging',
      to: 'prod',
      dryRun: true,
    });
    expect(preview.status).toBe(200);
    const refresh = await act('service-b', 'prod', 'refresh');
    expect(refresh.status).toBe(200);
    const sync = await act('service-b', 'prod', 'sync');
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({
      instance: 'prod',
      application: { name: 'service-b-prod' },
    });
  });

  it('lets the owner app-config hands the project to write Applications that do not name its entity', async () => {
    const view = await status('platform-view');
    expect(view.environments.map(e => e.writable)).toEqual([true, true, true]);

    const refresh = await act('platform-view', 'prod', 'refresh');
    expect(refresh.status).toBe(200);
    const preview = await promote('platform-view', {
      from: 'staging',
      to: 'prod',
      dryRun: true,
    });
    expect(preview.status).toBe(200);
  });
});
