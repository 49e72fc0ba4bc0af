import { mockServices } from '@backstage/backend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  ArgoContracts,
  eventually,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { http as mswHttp, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createArgoCdApplicationCreateAction } from './argocdApplicationCreate';

// Real Git and the sandbox on a loaded 2-core machine.
jest.setTimeout(180_000);

const contracts = ArgoContracts.load();
const IMAGE = 'registry.example.com/checkout/service-a';
const IN_CLUSTER = 'https://kubernetes.default.svc';

/** What the action needs besides config: the user runs as a member of team-checkout. */
const services = () => ({
  permissions: mockServices.permissions({ result: AuthorizeResult.ALLOW }),
  userInfo: mockServices.userInfo({
    ownershipEntityRefs: ['user:default/mock', 'group:default/team-checkout'],
  }),
  auditor: mockServices.auditor.mock(),
});

/**
 * gitops.projects: checkout (and default) handed to team-checkout, from any
 * repository (which ones is argocdApplicationCreate.attacks.test.ts's concern).
 */
const projects = [
  {
    name: 'checkout',
    owners: ['group:default/team-checkout'],
    destinations: [
      { server: IN_CLUSTER, namespace: 'checkout-*' },
      { server: IN_CLUSTER, namespace: 'service-a-*' },
    ],
    sourceRepos: ['*'],
  },
  {
    name: 'default',
    owners: ['group:default/team-checkout'],
    destinations: [{ server: IN_CLUSTER, namespace: 'checkout-*' }],
    sourceRepos: ['*'],
  },
];

describe('argocd:application:create against the sandbox', () => {
  let sandbox: Sandbox;
  let config: ConfigReader;
  const fetchSpy = jest.spyOn(globalThis, 'fetch');

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const [main, prod] = sandbox.instances;
    config = new ConfigReader({
      gitops: { projects },
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
    entityRef: 'component:default/service-a',
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
    // The sandbox, as a cluster, has no namespace for a new Application.
    syncPolicy: { syncOptions: ['CreateNamespace=true'] },
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
      ...services(),
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

  /** The bodies the action sent to a route: Applications, or ApplicationSets. */
  const sent = (route = '/api/v1/applications') =>
    fetchSpy.mock.calls
      .filter(([url]) => new URL(String(url)).pathname === route)
      .map(([, init]) => JSON.parse(String(init?.body)));

  it('creates the Application, which the instance deploys', async () => {
    const { outputs, logs } = await run(input('service-a-review'));
    const main = sandbox.instances[0];
    expect(outputs).toEqual({
      name: 'service-a-review',
      namespace: 'argocd',
      instance: 'main',
      url: `${main.url}/applications/argocd/service-a-review`,
      applications: ['service-a-review'],
    });

    const [application] = sent();
    expect(application).toMatchObject({
      metadata: { name: 'service-a-review', namespace: 'argocd' },
      spec: { syncPolicy: { automated: { prune: true, selfHeal: true } } },
    });
    expect(
      contracts?.definitionErrors('v1alpha1Application', application) ?? [],
    ).toEqual([]);
    expect(contracts?.applicationErrors(application) ?? []).toEqual([]);

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

  it('replaces its own different Application only with upsert', async () => {
    const staging = input('service-a-review', {
      source: {
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: 'service-a', valueFiles: ['values-staging.yaml'] },
      },
    });
    // upsert is off by default.
    await expect(run(staging)).rejects.toThrow(
      'Argo CD instance "main" (http://127.0.0.1:' +
        `${new URL(sandbox.instances[0].url).port}) refused to create ` +
        'Application "service-a-review" (400: existing application spec is different, use upsert flag to force update)',
    );
    const before = await get('main', 'service-a-review');
    expect(before.body.spec.source.helm.valueFiles).toEqual([
      'values-dev.yaml',
    ]);

    await run({ ...staging, upsert: true });
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
      applications: ['service-a-dry'],
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
      /\(400: application spec for service-a-norepo is invalid/,
    );
    const wrongToken = new ConfigReader({
      gitops: { projects },
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
    ).rejects.toThrow(/refused to create Application "service-a-x" \(401\b/);
  });

  it('names the instance when it is down or does not answer', async () => {
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise(resolve => closed.close(resolve));
    const down = new ConfigReader({
      gitops: { projects },
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
  /** An ApplicationSet of service-a's chart, one Application per environment. */
  const setInput = (
    name: string,
    environments: string[],
    more: Record<string, unknown> = {},
  ) =>
    input(name, {
      labels: {
        'app.kubernetes.io/name': name,
        'gitops/environment': '{{environment}}',
      },
      source: {
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        path: 'chart',
        helm: {
          releaseName: 'service-a',
          valueFiles: ['values-{{environment}}.yaml'],
        },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: '{{namespace}}',
      },
      applicationSet: {
        applicationName: `${name}-{{environment}}`,
        elements: environments.map(environment => ({
          environment,
          namespace: `${name}-${environment}`,
        })),
      },
      syncPolicy: { syncOptions: ['CreateNamespace=true'] },
      ...more,
    });

  it('creates an ApplicationSet whose Applications deploy, and outputs their names', async () => {
    const checkpoints = new Map();
    const { outputs, logs } = await run(
      setInput('service-a-set', ['dev', 'staging']),
      { checkpoints },
    );
    const main = sandbox.instances[0];
    expect(outputs).toEqual({
      name: 'service-a-set',
      namespace: 'argocd',
      instance: 'main',
      url: `${main.url}/applicationsets/argocd/service-a-set`,
      applications: ['service-a-set-dev', 'service-a-set-staging'],
    });
    expect([...checkpoints.keys()]).toEqual([
      'argocd-applicationset-main-service-a-set',
    ]);
    expect(logs.join('\n')).toContain(
      'has ApplicationSet argocd/service-a-set, generating service-a-set-dev, service-a-set-staging',
    );

    const [appSet] = sent('/api/v1/applicationsets');
    expect(
      fetchSpy.mock.calls
        .map(([url]) => String(url))
        .filter(url => url.includes('/api/v1/applicationsets?')),
    ).toEqual([expect.stringMatching(/\?upsert=false$/)]);
    expect(appSet.spec).toMatchObject({
      generators: [
        {
          list: {
            elements: [
              { environment: 'dev', namespace: 'service-a-set-dev' },
              { environment: 'staging', namespace: 'service-a-set-staging' },
            ],
          },
        },
      ],
      template: {
        metadata: { name: 'service-a-set-{{environment}}' },
        spec: {
          destination: { namespace: '{{namespace}}' },
          syncPolicy: { automated: { prune: true, selfHeal: true } },
        },
      },
    });
    expect(
      contracts?.definitionErrors('v1alpha1ApplicationSet', appSet) ?? [],
    ).toEqual([]);
    expect(contracts?.applicationSetErrors(appSet) ?? []).toEqual([]);

    for (const [environment, tag] of [
      ['dev', '4c5d6e7'],
      ['staging', '1a2b3c4'],
    ]) {
      const deployed = await eventually(async () => {
        const { body } = await get('main', `service-a-set-${environment}`);
        return body.status?.sync.status === 'Synced' &&
          body.status?.health.status === 'Healthy'
          ? body
          : undefined;
      }, `service-a-set-${environment} Synced and Healthy`);
      expect(deployed.status.summary.images).toEqual([`${IMAGE}:${tag}`]);
      expect(deployed.metadata.labels).toEqual({
        'app.kubernetes.io/name': 'service-a-set',
        'gitops/environment': environment,
      });
      expect(deployed.spec.destination.namespace).toBe(
        `service-a-set-${environment}`,
      );
    }
  });

  it('updates its own ApplicationSet with upsert: an element removed takes its Application away', async () => {
    await expect(run(setInput('service-a-set', ['dev']))).rejects.toThrow(
      /refused to create ApplicationSet "service-a-set" \(400: existing ApplicationSet spec is different, use upsert flag to force update\)$/,
    );
    const { outputs } = await run({
      ...setInput('service-a-set', ['dev']),
      upsert: true,
    });
    expect(outputs.applications).toEqual(['service-a-set-dev']);
    expect((await get('main', 'service-a-set-staging')).status).toBe(404);
    expect((await get('main', 'service-a-set-dev')).status).toBe(200);
  });

  it('dry run of an ApplicationSet: calls nothing, logs it, outputs the names its elements make', async () => {
    const { outputs, logs } = await run(
      setInput('service-a-dryset', ['dev', 'staging'], {
        applicationSet: {
          applicationName: 'service-a-dryset-{{.environment}}',
          elements: [{ environment: 'dev' }, { environment: 'staging' }],
          goTemplate: true,
        },
        destination: { namespace: 'checkout-{{.environment}}' },
        labels: { 'gitops/environment': '{{.environment}}' },
        source: { repoURL: 'https://git.example.com/x.git', path: 'chart' },
      }),
      { dryRun: true },
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(outputs.applications).toEqual([
      'service-a-dryset-dev',
      'service-a-dryset-staging',
    ]);
    expect(logs.join('\n')).toMatch(
      /generating service-a-dryset-dev, service-a-dryset-staging:\n[\s\S]*kind: ApplicationSet\n[\s\S]*goTemplate: true\n\s+goTemplateOptions:\n\s+- missingkey=error/,
    );
  });

  it('refuses bad applicationSet input before calling Argo CD, naming the element', async () => {
    const withElements = (elements: Array<Record<string, string>>) =>
      setInput('service-a-x', [], {
        applicationSet: {
          applicationName: 'service-a-x-{{environment}}',
          elements,
        },
      });
    await expect(run(withElements([]))).rejects.toThrow(
      'applicationSet.elements is empty: give one element per Application',
    );
    await expect(
      run(
        withElements([
          { environment: 'dev', namespace: 'a' },
          { environment: 'qa' },
        ]),
      ),
    ).rejects.toThrow(
      'applicationSet.elements[1] has no "namespace", which the Application template uses',
    );
    await expect(
      run(withElements([{ environment: 'Prod_1', namespace: 'a' }])),
    ).rejects.toThrow(
      'applicationSet.elements[0] makes the Application name "service-a-x-Prod_1", not a DNS-1123 label',
    );
    await expect(
      run(
        withElements([
          { environment: 'dev', namespace: 'a' },
          { environment: 'dev', namespace: 'b' },
        ]),
      ),
    ).rejects.toThrow(
      'applicationSet.elements[0] and [1] both make the Application "service-a-x-dev"',
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});

/** A real Argo CD answers a Create before its controller generates anything. */
describe('argocd:application:create against an Argo CD that generates later', () => {
  const server = setupServer();
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterAll(() => server.close());

  it('outputs the names the elements make when the answer lists no Applications', async () => {
    const requests: Array<{ url: string; body: any }> = [];
    server.use(
      mswHttp.post(
        'https://argocd.example.com/api/v1/applicationsets',
        async ({ request }) => {
          const body = await request.json();
          requests.push({ url: request.url, body });
          return HttpResponse.json({ ...(body as object), status: {} });
        },
      ),
      // None of the Applications it will generate exists yet.
      mswHttp.get(
        'https://argocd.example.com/api/v1/applications/:name',
        ({ request }) => {
          requests.push({ url: request.url, body: undefined });
          return HttpResponse.json(
            { error: 'not found', code: 5, message: 'not found' },
            { status: 404 },
          );
        },
      ),
    );
    const ctx = createMockActionContext({
      input: {
        name: 'service-c',
        entityRef: 'component:default/service-c',
        source: { repoURL: 'https://git.example.com/c.git', path: 'chart' },
        destination: { namespace: 'checkout-{{environment}}' },
        applicationSet: {
          applicationName: 'service-c-{{environment}}',
          elements: [{ environment: 'dev' }, { environment: 'staging' }],
        },
      } as any,
    });
    const action = createArgoCdApplicationCreateAction({
      ...services(),
      config: new ConfigReader({
        gitops: { projects },
        argocd: {
          appLocatorMethods: [
            {
              type: 'config',
              instances: [
                {
                  name: 'main',
                  url: 'https://argocd.example.com',
                  token: 't',
                },
              ],
            },
          ],
        },
      }),
    });
    await action.handler(ctx as any);
    expect(requests.map(r => r.url)).toEqual([
      'https://argocd.example.com/api/v1/applications/service-c-dev?appNamespace=argocd',
      'https://argocd.example.com/api/v1/applications/service-c-staging?appNamespace=argocd',
      'https://argocd.example.com/api/v1/applicationsets?upsert=false',
    ]);
    expect(requests[2].body.metadata).toEqual({
      name: 'service-c',
      namespace: 'argocd',
      annotations: {
        'gitops.backstage.io/entity-ref': 'component:default/service-c',
      },
    });
    expect(ctx.output).toHaveBeenCalledWith('applications', [
      'service-c-dev',
      'service-c-staging',
    ]);
  });
});
