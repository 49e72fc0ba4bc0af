import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  ArgoContracts,
  eventually,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createArgoCdApplicationCreateAction } from './argocdApplicationCreate';

jest.setTimeout(60_000);

const contracts = ArgoContracts.load();
const IMAGE = 'registry.example.com/checkout/service-a';

describe('argocd:application:create against the sandbox', () => {
  let sandbox: Sandbox;
  let config: ConfigReader;
  const fetchSpy = jest.spyOn(globalThis, 'fetch');

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const [main, prod] = sandbox.instances;
    config = new ConfigReader({
      argocd: {
        // prod has no token: the action logs in with these.
        username: 'admin',
        password: 'sandbox',
        appLocatorMethods: [
          {
            type: 'config',
            instances: [
              { name: main.name, url: main.url, token: main.token },
              {
                name: prod.name,
                url: prod.url,
                frontendUrl: 'https://argocd-prod.example.com/',
              },
            ],
          },
        ],
      },
    });
  });
  afterAll(() => sandbox?.stop());
  beforeEach(() => fetchSpy.mockClear());

  const input = (name: string, more: Record<string, unknown> = {}) => ({
    instance: 'main',
    name,
    project: 'checkout',
    labels: {
      'app.kubernetes.io/name': 'service-a',
      'gitops/environment': 'dev',
    },
    source: {
      repoURL: sandbox.repoUrl('service-a-config'),
      targetRevision: 'main',
      path: 'chart',
      helm: { releaseName: 'service-a', valueFiles: ['values-dev.yaml'] },
    },
    destination: {
      server: 'https://kubernetes.default.svc',
      namespace: `checkout-${name}`,
    },
    automated: true,
    ...more,
  });

  /** Runs the action; `checkpoints` stands in for the task's stored checkpoints. */
  async function run(
    values: Record<string, unknown>,
    options: {
      dryRun?: boolean;
      checkpoints?: Map<string, any>;
      timeoutMs?: number;
      config?: ConfigReader;
    } = {},
  ) {
    const logger = mockServices.logger.mock();
    const ctx = {
      ...createMockActionContext({ input: values as any, logger }),
      isDryRun: options.dryRun ?? false,
    };
    if (options.checkpoints) {
      const store = options.checkpoints;
      ctx.checkpoint = (async ({ key, fn }: any) => {
        if (!store.has(key)) store.set(key, await fn());
        return store.get(key);
      }) as typeof ctx.checkpoint;
    }
    const action = createArgoCdApplicationCreateAction({
      config: options.config ?? config,
      logger: mockServices.logger.mock(),
      timeoutMs: options.timeoutMs,
    });
    await action.handler(ctx as any);
    const outputs = Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls as [string, unknown][],
    );
    const logs = logger.info.mock.calls.map(call => String(call[0]));
    return { outputs, logs };
  }

  async function get(instance: string, name: string) {
    const target = sandbox.instances.find(i => i.name === instance)!;
    const res = await fetch(`${target.url}/api/v1/applications/${name}`, {
      headers: { authorization: `Bearer ${target.token}` },
    });
    return { status: res.status, body: await res.json() };
  }

  /** The Application bodies the action sent. */
  const sentApplications = () =>
    fetchSpy.mock.calls
      .filter(([url]) => String(url).includes('/api/v1/applications'))
      .map(([, init]) => JSON.parse(String(init?.body)));

  it('creates the Application, which the instance deploys', async () => {
    const { outputs, logs } = await run(input('service-a-review'));
    const main = sandbox.instances[0];
    expect(outputs).toEqual({
      name: 'service-a-review',
      namespace: 'argocd',
      instance: 'main',
      url: `${main.url}/applications/argocd/service-a-review`,
    });

    const [sent] = sentApplications();
    expect(sent).toMatchObject({
      metadata: { name: 'service-a-review', namespace: 'argocd' },
      spec: { syncPolicy: { automated: { prune: true, selfHeal: true } } },
    });
    expect(
      contracts?.definitionErrors('v1alpha1Application', sent) ?? [],
    ).toEqual([]);
    expect(contracts?.applicationErrors(sent) ?? []).toEqual([]);

    const deployed = await eventually(async () => {
      const { body } = await get('main', 'service-a-review');
      return body.status.sync.status === 'Synced' &&
        body.status.health.status === 'Healthy'
        ? body
        : undefined;
    }, 'service-a-review Synced and Healthy');
    expect(deployed.status.summary.images).toEqual([`${IMAGE}:4c5d6e7`]);
    expect(deployed.metadata.labels['gitops/environment']).toBe('dev');
    expect(logs.join('\n')).not.toContain(main.token);
  });

  it('logs in with username and password, and a retried task does not create again', async () => {
    const checkpoints = new Map();
    const values = input('service-a-retry', {
      instance: 'prod',
      automated: false,
    });
    const first = await run(values, { checkpoints });
    expect(first.outputs.url).toBe(
      'https://argocd-prod.example.com/applications/argocd/service-a-retry',
    );
    expect([...checkpoints.keys()]).toEqual([
      'argocd-application-prod-service-a-retry',
    ]);
    expect((await get('prod', 'service-a-retry')).status).toBe(200);

    const requests = sandbox.requestCount('prod');
    const again = await run(values, { checkpoints });
    expect(sandbox.requestCount('prod')).toBe(requests);
    expect(again.outputs).toEqual(first.outputs);
    // The log-in password went nowhere near the log.
    expect([...first.logs, ...again.logs].join('\n')).not.toContain('sandbox');
  });

  it('replaces a different Application only with upsert', async () => {
    const staging = input('service-a-review', {
      source: {
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: 'service-a', valueFiles: ['values-staging.yaml'] },
      },
    });
    await expect(run({ ...staging, upsert: false })).rejects.toThrow(
      'Argo CD instance "main" (http://127.0.0.1:' +
        `${new URL(sandbox.instances[0].url).port}) refused to create ` +
        'Application "service-a-review" (400): existing application spec is different, use upsert flag to force update',
    );
    const before = await get('main', 'service-a-review');
    expect(before.body.spec.source.helm.valueFiles).toEqual([
      'values-dev.yaml',
    ]);

    await run(staging);
    const after = await get('main', 'service-a-review');
    expect(after.body.spec.source.helm.valueFiles).toEqual([
      'values-staging.yaml',
    ]);
    expect(after.body.metadata.uid).toBe(before.body.metadata.uid);
  });

  it('dry run: calls nothing, logs the manifest, outputs the same fields', async () => {
    const { outputs, logs } = await run(input('service-a-dry'), {
      dryRun: true,
    });
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(outputs).toEqual({
      name: 'service-a-dry',
      namespace: 'argocd',
      instance: 'main',
      url: `${sandbox.instances[0].url}/applications/argocd/service-a-dry`,
    });
    expect(logs.join('\n')).toMatch(
      /kind: Application\n[\s\S]*name: service-a-dry[\s\S]*valueFiles:\n\s+- values-dev.yaml/,
    );
    expect((await get('main', 'service-a-dry')).status).toBe(404);
  });

  it('refuses bad input before calling Argo CD', async () => {
    await expect(run(input('Service_A'))).rejects.toThrow(
      'Invalid name "Service_A"',
    );
    await expect(
      run(input('service-a-x', { instance: 'staging' })),
    ).rejects.toThrow(
      'Unknown Argo CD instance "staging"; configured: "main", "prod"',
    );
    await expect(
      run(input('service-a-x', { sources: [{ repoURL: 'x' }] })),
    ).rejects.toThrow('Give either source or sources');
    await expect(
      run(
        input('service-a-x', {
          destination: { server: 'https://a', name: 'b', namespace: 'c' },
        }),
      ),
    ).rejects.toThrow('not both');
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("passes on Argo CD's refusals", async () => {
    const badRepo = input('service-a-norepo', {
      source: { repoURL: sandbox.repoUrl('nope'), path: 'chart' },
    });
    await expect(run(badRepo)).rejects.toThrow(
      /\(400\): application spec for service-a-norepo is invalid/,
    );
    const wrongToken = new ConfigReader({
      argocd: {
        appLocatorMethods: [
          {
            type: 'config',
            instances: [
              { name: 'main', url: sandbox.instances[0].url, token: 'wrong' },
            ],
          },
        ],
      },
    });
    await expect(
      run(input('service-a-x'), { config: wrongToken }),
    ).rejects.toThrow(/refused to create Application "service-a-x" \(401\)/);
  });

  it('names the instance when it is down or does not answer', async () => {
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise(resolve => closed.close(resolve));
    const down = new ConfigReader({
      argocd: {
        appLocatorMethods: [
          {
            type: 'config',
            instances: [
              { name: 'gone', url: `http://127.0.0.1:${port}`, token: 't' },
            ],
          },
        ],
      },
    });
    await expect(
      run(input('service-a-x', { instance: 'gone' }), { config: down }),
    ).rejects.toThrow(
      `Argo CD instance "gone" (http://127.0.0.1:${port}) is unreachable (ECONNREFUSED)`,
    );

    await sandbox.setInstanceFault('prod', 'hang');
    try {
      await expect(
        run(input('service-a-x', { instance: 'prod' }), { timeoutMs: 300 }),
      ).rejects.toThrow(
        /Argo CD instance "prod" .* did not answer within 0.3 s/,
      );
    } finally {
      await sandbox.setInstanceFault('prod', undefined);
    }
  });
});
