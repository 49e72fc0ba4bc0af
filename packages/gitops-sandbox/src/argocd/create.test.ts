import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { EXAMPLES_GIT_URL, Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  EXAMPLES_DIR,
  pushChange,
  setTag,
  startTestSandbox,
  pastAutoSyncDelay,
} from '../testing/testSandbox';

// Each case waits for real helm renders and several reconciliation rounds.
// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

const IMAGE = 'registry.example.com/checkout/service-a';

describe('Applications created through the Argo CD API', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox?.stop());

  /** service-a's dev Application from the examples, renamed, as a client sends it. */
  function exampleApplication(name: string) {
    const file = path.join(
      EXAMPLES_DIR,
      'services/service-a/config/argocd/dev.yaml',
    );
    const { metadata, spec } = parse(
      fs
        .readFileSync(file, 'utf8')
        .replaceAll(EXAMPLES_GIT_URL, sandbox.gitUrl),
    );
    return {
      metadata: { ...metadata, name },
      spec: {
        ...spec,
        destination: { ...spec.destination, namespace: `checkout-${name}` },
      },
    };
  }

  /** Calls the API; checks the request body and the answer against the contracts. */
  async function call(
    swaggerRoute: string,
    url: string,
    init: Parameters<typeof argo>[3] & { instance?: string } = {},
  ) {
    const method = init.method ?? 'GET';
    if (method === 'PUT') {
      expect(
        contractErrors(c =>
          c.definitionErrors('v1alpha1Application', init.body),
        ),
      ).toEqual([]);
    }
    const answer = await argo(sandbox, init.instance ?? 'main', url, init);
    expect(
      contractErrors(c =>
        c.responseErrors(swaggerRoute, method, answer.status, answer.body),
      ),
    ).toEqual([]);
    if (answer.status === 200 && answer.body?.spec) {
      expect(contractErrors(c => c.applicationErrors(answer.body))).toEqual([]);
    }
    return answer;
  }

  const create = (body: unknown, query = '', token?: string | null) => {
    expect(
      contractErrors(c => c.definitionErrors('v1alpha1Application', body)),
    ).toEqual([]);
    return call('/api/v1/applications', `/api/v1/applications${query}`, {
      method: 'POST',
      body,
      token,
    });
  };

  const get = (name: string) =>
    call('/api/v1/applications/{name}', `/api/v1/applications/${name}`);

  const settled = (name: string, historyLength: number, image: string) =>
    eventually(async () => {
      const { body } = await get(name);
      const { sync, health, history, summary } = body.status;
      return sync.status === 'Synced' &&
        health.status === 'Healthy' &&
        history.length === historyLength &&
        summary.images.includes(image)
        ? body
        : undefined;
    }, `${name} Synced and Healthy with ${image}, ${historyLength} deployments`);

  it('creates an Application that reconciles from Git like a discovered one', async () => {
    const created = await create(exampleApplication('service-a-preview'));
    expect(created.status).toBe(200);
    expect(created.body.metadata).toMatchObject({
      name: 'service-a-preview',
      namespace: 'argocd',
      labels: { 'gitops/environment': 'dev' },
    });
    expect(created.body.metadata.uid).toBeDefined();

    const listed = await call(
      '/api/v1/applications',
      '/api/v1/applications?selector=app.kubernetes.io/name=service-a',
    );
    expect(listed.body.items.map((a: any) => a.metadata.name)).toContain(
      'service-a-preview',
    );

    const synced = await settled('service-a-preview', 1, `${IMAGE}:4c5d6e7`);
    expect(synced.status.summary.images).toEqual([`${IMAGE}:4c5d6e7`]);
    expect(synced.status.history[0].initiatedBy).toEqual({ automated: true });

    // A discovery pass does not remove it; a push to its values file deploys.
    await sandbox.reconcile();
    // CI pushes the image before it bumps the tag.
    await sandbox.registry.pushImage(`${IMAGE}:c0ffee1`);
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-dev.yaml': setTag('c0ffee1') },
      'ci: bump dev',
    );
    await settled('service-a-preview', 2, `${IMAGE}:c0ffee1`);
  });

  it('answers an identical Application as it is, and needs upsert for a different one', async () => {
    const body = exampleApplication('service-a-preview');
    const { body: before } = await get('service-a-preview');

    const same = await create(body);
    expect(same.status).toBe(200);
    expect(same.body.metadata.uid).toBe(before.metadata.uid);

    const staging = structuredClone(body);
    staging.spec.source.helm.valueFiles = ['values-staging.yaml'];
    staging.metadata.labels = { team: 'checkout' };
    const refused = await create(staging);
    expect(refused).toEqual({
      status: 400,
      body: expect.objectContaining({
        code: 3,
        message:
          'existing application spec is different, use upsert flag to force update',
      }),
    });
    expect(
      (await get('service-a-preview')).body.spec.source.helm.valueFiles,
    ).toEqual(['values-dev.yaml']);

    const upserted = await create(staging, '?upsert=true');
    expect(upserted.status).toBe(200);
    expect(upserted.body.metadata.uid).toBe(before.metadata.uid);
    // Upsert merges labels, as Argo CD's does.
    expect(upserted.body.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'service-a',
      'gitops/environment': 'dev',
      team: 'checkout',
    });
    // An update, not a new Application: its history goes on.
    await settled('service-a-preview', 3, `${IMAGE}:1a2b3c4`);
  });

  it('an Application its root deploys: the root self-heals an upsert away, and re-creates it deleted', async () => {
    const body = exampleApplication('service-a-dev');
    body.spec.destination.namespace = 'checkout-dev';
    body.spec.source.helm.valueFiles = ['values-staging.yaml'];
    expect((await create(body)).status).toBe(400);
    expect((await create(body, '?upsert=true')).status).toBe(200);
    const upserted = (await get('service-a-dev')).body;
    expect(upserted.spec.source.helm.valueFiles).toEqual([
      'values-staging.yaml',
    ]);
    // Its root applied it too: it carries the root's tracking annotation.
    expect(
      upserted.metadata.annotations['argocd.argoproj.io/tracking-id'],
    ).toBe('service-a-apps:argoproj.io/Application:argocd/service-a-dev');
    // The root Application (self-heal on) sees its child differ from Git and syncs.
    await eventually(async () => {
      const app = await get('service-a-dev');
      return app.body.spec.source.helm.valueFiles[0] === 'values-dev.yaml'
        ? app
        : undefined;
    }, 'the root Application to put service-a-dev back as Git has it');

    const deleted = await call(
      '/api/v1/applications/{name}',
      '/api/v1/applications/service-a-dev',
      { method: 'DELETE' },
    );
    expect(deleted).toEqual({ status: 200, body: {} });
    const back = await eventually(async () => {
      const app = await get('service-a-dev');
      return app.status === 200 ? app : undefined;
    }, 'the root Application to re-create service-a-dev');
    expect(back.body.spec.source.helm.valueFiles).toEqual(['values-dev.yaml']);
    expect(back.body.status.history).toEqual([]);
  });

  it('updates with PUT, 404 for a missing one, and deletes', async () => {
    const missing = await call(
      '/api/v1/applications/{application.metadata.name}',
      '/api/v1/applications/nope',
      { method: 'PUT', body: exampleApplication('nope') },
    );
    expect(missing).toEqual({
      status: 404,
      body: expect.objectContaining({
        code: 5,
        message: 'applications.argoproj.io "nope" not found',
      }),
    });

    const manual = exampleApplication('service-a-preview');
    delete (manual.spec as any).syncPolicy;
    const updated = await call(
      '/api/v1/applications/{application.metadata.name}',
      '/api/v1/applications/service-a-preview',
      { method: 'PUT', body: manual },
    );
    expect(updated.status).toBe(200);
    expect(updated.body.spec.syncPolicy).toBeUndefined();
    // Not automated any more: a manual Application is not synced to values-dev.
    await pastAutoSyncDelay(sandbox);
    expect((await get('service-a-preview')).body.status.sync.status).toBe(
      'OutOfSync',
    );

    const deleted = await call(
      '/api/v1/applications/{name}',
      '/api/v1/applications/service-a-preview',
      { method: 'DELETE' },
    );
    expect(deleted.status).toBe(200);
    await sandbox.reconcile();
    expect((await get('service-a-preview')).status).toBe(404);
  });

  it('refuses invalid Applications with Argo CD messages, and creates none', async () => {
    const badName = await create(exampleApplication('Service_A'));
    expect(badName.status).toBe(400);
    expect(badName.body.code).toBe(3);
    expect(badName.body.message).toContain(
      'metadata.name: Invalid value: "Service_A"',
    );

    const badRepo = exampleApplication('service-a-norepo');
    badRepo.spec.source.repoURL = `${sandbox.gitUrl}/git/nope.git`;
    const refused = await create(badRepo);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(
      /^application spec for service-a-norepo is invalid: InvalidSpecError: /,
    );

    const nowhere = exampleApplication('service-a-nowhere');
    nowhere.spec.destination = { namespace: 'x' };
    expect((await create(nowhere)).body.message).toContain(
      'Destination server missing from app spec',
    );

    const badFlag = await create(exampleApplication('x'), '?upsert=maybe');
    expect(badFlag.body).toMatchObject({
      code: 3,
      message:
        'parsing field "upsert": strconv.ParseBool: parsing "maybe": invalid syntax',
    });

    const { body } = await call('/api/v1/applications', '/api/v1/applications');
    expect(body.items.map((a: any) => a.metadata.name)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/norepo|nowhere|^x$/)]),
    );
  });

  it('needs a token or a session like every other route', async () => {
    const body = exampleApplication('service-a-session');
    const anonymous = await create(body, '', null);
    expect(anonymous).toEqual({
      status: 401,
      body: expect.objectContaining({ code: 16 }),
    });
    expect((await create(body, '', 'wrong')).status).toBe(401);

    const session = await argo(sandbox, 'main', '/api/v1/session', {
      method: 'POST',
      body: { username: 'admin', password: 'sandbox' },
      token: null,
    });
    expect((await create(body, '', session.body.token)).status).toBe(200);
    // It lives on the instance that was asked, not on the others.
    expect(
      (await argo(sandbox, 'prod', '/api/v1/applications/service-a-session'))
        .status,
    ).toBe(404);
  });
});
