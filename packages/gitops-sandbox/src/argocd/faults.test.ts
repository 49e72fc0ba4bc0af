import { Sandbox, startSandbox } from '../sandbox';
import {
  argo,
  eventually,
  pushChange,
  setTag,
  startTestSandbox,
  contractErrors,
} from '../testing/testSandbox';

// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('fault controls', () => {
  let sandbox: Sandbox;
  const url = (instance: string) =>
    `${
      sandbox.instances.find(i => i.name === instance)!.url
    }/api/v1/applications`;
  const headers = (instance: string) => ({
    authorization: `Bearer ${
      sandbox.instances.find(i => i.name === instance)!.token
    }`,
  });

  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterEach(async () => {
    await sandbox.setInstanceFault('main', undefined);
  });
  afterAll(() => sandbox?.stop());

  /** The other instance answers as usual whatever happens to `main`. */
  async function expectProdUnaffected() {
    const res = await fetch(url('prod'), { headers: headers('prod') });
    expect(res.status).toBe(200);
    // service-a-prod and service-b-prod, and the root Application deploying each.
    expect(
      (await res.json()).items.map((a: any) => a.metadata.name).sort(),
    ).toEqual([
      'service-a-apps',
      'service-a-prod',
      'service-b-apps',
      'service-b-prod',
    ]);
  }

  it('refuses connections', async () => {
    await sandbox.setInstanceFault('main', 'refuse');
    await expect(
      fetch(url('main'), { headers: headers('main') }),
    ).rejects.toMatchObject({
      cause: { code: 'ECONNREFUSED' },
    });
    await expectProdUnaffected();
    await sandbox.setInstanceFault('main', undefined);
    expect(
      (await fetch(url('main'), { headers: headers('main') })).status,
    ).toBe(200);
  });

  it('hangs', async () => {
    await sandbox.setInstanceFault('main', 'hang');
    await expect(
      fetch(url('main'), {
        headers: headers('main'),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    await expectProdUnaffected();
  });

  it.each([
    ['unauthorized', 401, { code: 16 }],
    ['rate-limited', 429, { code: 8 }],
    ['error', 500, { code: 13 }],
  ] as const)(
    'answers %s with %i in Argo CD error shape',
    async (fault, status, body) => {
      await sandbox.setInstanceFault('main', fault);
      const res = await fetch(url('main'), { headers: headers('main') });
      expect(res.status).toBe(status);
      const json = await res.json();
      expect(json).toMatchObject(body);
      expect(
        contractErrors(c =>
          c.responseErrors('/api/v1/applications', 'GET', status, json),
        ),
      ).toEqual([]);
      expect(res.headers.get('retry-after')).toBe(
        fault === 'rate-limited' ? '1' : null,
      );
      await expectProdUnaffected();
    },
  );

  it('answers malformed JSON', async () => {
    await sandbox.setInstanceFault('main', 'malformed');
    const res = await fetch(url('main'), { headers: headers('main') });
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toMatchObject({ name: 'SyntaxError' });
    await expectProdUnaffected();
  });

  it('refuses an unknown fault and an unknown instance through the control API', async () => {
    const control = (path: string, body: unknown) =>
      fetch(`${sandbox.gitUrl}/api/sandbox/instances/${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${sandbox.gitToken}` },
        body: JSON.stringify(body),
      });
    const unknownFault = await control('main/fault', { fault: 'explode' });
    expect(unknownFault.status).toBe(400);
    expect((await unknownFault.json()).error).toContain(
      'unknown fault "explode"',
    );
    expect((await control('nope/fault', { fault: 'hang' })).status).toBe(404);

    // The control API sets faults as the library call does.
    expect((await control('main/fault', { fault: 'error' })).status).toBe(200);
    expect(
      (await fetch(url('main'), { headers: headers('main') })).status,
    ).toBe(500);
  });

  it("fails an Application's sync, and turns its health Degraded", async () => {
    sandbox.setApplicationFaults('main', 'service-a-staging', {
      syncFails: true,
    });
    await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-staging.yaml': setTag('badbad1') },
      'staging: a tag that will not apply',
    );
    const failed = await eventually(async () => {
      const { body } = await argo(
        sandbox,
        'main',
        '/api/v1/applications/service-a-staging?refresh=normal',
      );
      return body.status.operationState?.phase === 'Failed' ? body : undefined;
    }, 'the sync to fail');
    expect(failed.status.operationState.message).toContain('sandbox fault');
    expect(failed.status.sync.status).toBe('OutOfSync');
    expect(failed.status.summary.images).toEqual([
      'registry.example.com/checkout/service-a:1a2b3c4',
    ]);

    sandbox.setApplicationFaults('main', 'service-a-dev', { degraded: true });
    const degraded = await eventually(async () => {
      const { body } = await argo(
        sandbox,
        'main',
        '/api/v1/applications/service-a-dev',
      );
      return body.status.health.status === 'Degraded' ? body : undefined;
    }, 'health to turn Degraded');
    expect(degraded.status.health.message).toBe(
      'Deployment "service-a" exceeded its progress deadline',
    );
    sandbox.setApplicationFaults('main', 'service-a-dev', {});
    await eventually(async () => {
      const { body } = await argo(
        sandbox,
        'main',
        '/api/v1/applications/service-a-dev',
      );
      return body.status.health.status === 'Healthy' ? true : undefined;
    }, 'health to recover');
  });

  it('expires session tokens with 401, as Argo CD does', async () => {
    const short = await startSandbox({ sessionTtlMs: 1, initialSync: false });
    try {
      const { body } = await argo(short, 'main', '/api/v1/session', {
        method: 'POST',
        body: { username: 'admin', password: 'sandbox' },
        token: null,
      });
      await new Promise(resolve => setTimeout(resolve, 10));
      const expired = await argo(short, 'main', '/api/v1/applications', {
        token: body.token,
      });
      expect(expired.status).toBe(401);
      expect(expired.body.message).toContain('token is expired');
    } finally {
      await short.stop();
    }
  });
});

describe('scale mode', () => {
  it('serves 3,000 generated Applications over two instances', async () => {
    const sandbox = await startSandbox({ scaleServices: 1000 });
    try {
      const main = await argo(
        sandbox,
        'main',
        '/api/v1/applications?fields=metadata.name,status.sync.status',
      );
      const prod = await argo(sandbox, 'prod', '/api/v1/applications');
      expect(main.body.items).toHaveLength(2000);
      expect(prod.body.items).toHaveLength(1000);
      const one = await argo(
        sandbox,
        'prod',
        '/api/v1/applications?selector=app.kubernetes.io/name=fleet-0007',
      );
      expect(one.body.items.map((a: any) => a.metadata.name)).toEqual([
        'fleet-0007-prod',
      ]);
      expect(one.body.items[0].status.sync.status).toBe('OutOfSync');
      expect(
        contractErrors(c =>
          c.responseErrors('/api/v1/applications', 'GET', 200, one.body),
        ),
      ).toEqual([]);
      expect(
        contractErrors(c => c.applicationErrors(one.body.items[0])),
      ).toEqual([]);
    } finally {
      await sandbox.stop();
    }
  });
});
