import {
  mockServices,
  registerMswTestHooks,
} from '@backstage/backend-test-utils';
import { ArgoContracts } from '@gitops-backstage/gitops-sandbox';
import { http, HttpResponse, delay } from 'msw';
import { setupServer } from 'msw/node';
import { ArgoCdApiSource } from './ArgoCdApiSource';

const BASE = 'http://argocd.test';
const contracts = ArgoContracts.load();

/** A fixture held to the contract: the test fails when it drifts from the schemas. */
function fixture<T>(definition: string, value: T, application?: boolean): T {
  expect(contracts?.definitionErrors(definition, value) ?? []).toEqual([]);
  if (application)
    expect(contracts?.applicationErrors(value) ?? []).toEqual([]);
  return value;
}

const application = fixture(
  'v1alpha1Application',
  {
    metadata: {
      name: 'service-a-dev',
      namespace: 'argocd',
      labels: {
        'app.kubernetes.io/name': 'service-a',
        'gitops/environment': 'dev',
      },
    },
    spec: {
      project: 'checkout',
      source: {
        repoURL: 'https://git.example.com/checkout/service-a-config.git',
        targetRevision: 'main',
        path: 'chart',
        helm: { valueFiles: ['values-dev.yaml'] },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: 'checkout-dev',
      },
    },
    status: {
      sync: { status: 'Synced', revision: 'a'.repeat(40) },
      health: { status: 'Healthy' },
      summary: { images: ['registry.example.com/checkout/service-a:4c5d6e7'] },
      history: [
        { id: 0, revision: 'a'.repeat(40), deployedAt: '2026-11-01T12:00:00Z' },
      ],
    },
  },
  true,
);
const list = fixture('v1alpha1ApplicationList', {
  metadata: {},
  items: [application],
});
const runtimeError = (code: number, message: string) =>
  fixture('runtimeError', { code, message, error: message, details: [] });

const server = setupServer();
registerMswTestHooks(server);

function source(
  credentials: ConstructorParameters<
    typeof ArgoCdApiSource
  >[0]['instance']['credentials'] = {
    kind: 'token',
    token: 'secret-token',
  },
  // Roomy for a loaded machine; the hanging-call test passes a short one.
  timeoutMs = 10_000,
) {
  return new ArgoCdApiSource({
    instance: { name: 'main', url: BASE, frontendUrl: BASE, credentials },
    logger: mockServices.logger.mock(),
    timeoutMs,
    backoffMs: 1,
  });
}

describe('ArgoCdApiSource', () => {
  it('lists by selector, projects and namespace with the token', async () => {
    let seen: URL | undefined;
    server.use(
      http.get(`${BASE}/api/v1/applications`, ({ request }) => {
        seen = new URL(request.url);
        expect(request.headers.get('authorization')).toBe(
          'Bearer secret-token',
        );
        return HttpResponse.json(list);
      }),
    );
    const apps = await source().listApplications({
      selector: 'app.kubernetes.io/name=service-a',
      projects: ['checkout', 'platform'],
      appNamespace: 'argocd',
    });
    expect(apps).toEqual([application]);
    expect(seen!.searchParams.get('selector')).toBe(
      'app.kubernetes.io/name=service-a',
    );
    expect(seen!.searchParams.getAll('projects')).toEqual([
      'checkout',
      'platform',
    ]);
    expect(seen!.searchParams.get('appNamespace')).toBe('argocd');
  });

  it('lists by names, one List each', async () => {
    const names: string[] = [];
    server.use(
      http.get(`${BASE}/api/v1/applications`, ({ request }) => {
        names.push(new URL(request.url).searchParams.get('name')!);
        return HttpResponse.json(
          fixture('v1alpha1ApplicationList', { items: [] }),
        );
      }),
    );
    await source().listApplications({ names: ['a-dev', 'a-prod'] });
    expect(names.sort()).toEqual(['a-dev', 'a-prod']);
  });

  it('treats a null item list (an empty instance) as no Applications', async () => {
    server.use(
      http.get(`${BASE}/api/v1/applications`, () =>
        HttpResponse.json({ items: null }),
      ),
    );
    await expect(
      source().listApplications({ selector: 'a=b', projects: [] }),
    ).resolves.toEqual([]);
  });

  it('logs in with username and password, and renews the session on 401', async () => {
    let logins = 0;
    let current = '';
    server.use(
      http.post(`${BASE}/api/v1/session`, async ({ request }) => {
        expect(await request.json()).toEqual({
          username: 'admin',
          password: 'pw',
        });
        logins++;
        current = `session-${logins}`;
        return HttpResponse.json(
          fixture('sessionSessionResponse', { token: current }),
        );
      }),
      http.get(`${BASE}/api/v1/applications`, ({ request }) =>
        request.headers.get('authorization') === `Bearer ${current}`
          ? HttpResponse.json(list)
          : HttpResponse.json(
              runtimeError(16, 'invalid session: token is expired'),
              { status: 401 },
            ),
      ),
    );
    const s = source({ kind: 'password', username: 'admin', password: 'pw' });
    await s.listApplications({ selector: '', projects: [] });
    await s.listApplications({ selector: '', projects: [] });
    expect(logins).toBe(1);
    current = 'expired-elsewhere';
    await s.listApplications({ selector: '', projects: [] });
    expect(logins).toBe(2);
  });

  it('retries a read after 503 and 429, with backoff', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/api/v1/applications`, () => {
        calls++;
        if (calls === 1)
          return HttpResponse.json(runtimeError(14, 'unavailable'), {
            status: 503,
          });
        if (calls === 2)
          return HttpResponse.json(runtimeError(8, 'slow down'), {
            status: 429,
          });
        return HttpResponse.json(list);
      }),
    );
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).resolves.toHaveLength(1);
    expect(calls).toBe(3);
  });

  it.each([
    [
      401,
      'unauthorized',
      'refused the credentials (401): no session information',
    ],
    [403, 'forbidden', 'denied access (403): permission denied'],
    [404, 'not-found', 'has no such object (404): not found'],
    [500, 'upstream-error', 'answered 500: boom'],
  ])(
    'maps %i to %s without retrying, and never shows the token',
    async (status, code, message) => {
      let calls = 0;
      const upstream = {
        401: 'no session information',
        403: 'permission denied',
        404: 'not found',
        500: 'boom',
      }[status]!;
      server.use(
        http.get(`${BASE}/api/v1/applications`, () => {
          calls++;
          return HttpResponse.json(runtimeError(2, upstream), { status });
        }),
      );
      const error = await source()
        .listApplications({ selector: '', projects: [] })
        .catch(e => e);
      expect(error).toMatchObject({
        code,
        message: `Argo CD instance "main" ${message}`,
      });
      expect(error.message).not.toContain('secret-token');
      expect(calls).toBe(1);
    },
  );

  it('times out a hanging call', async () => {
    server.use(
      http.get(`${BASE}/api/v1/applications`, async () => {
        await delay('infinite');
        return HttpResponse.json(list);
      }),
    );
    await expect(
      source(undefined, 200).listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({
      code: 'timeout',
      message: 'Argo CD instance "main" did not answer within 0.2 s',
    });
  });

  it('refuses an answer that is not JSON or not an Application list', async () => {
    server.use(
      http.get(`${BASE}/api/v1/applications`, () =>
        HttpResponse.text('<html>login</html>'),
      ),
    );
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({
      code: 'invalid-response',
      message: 'Argo CD instance "main" answered with a body that is not JSON',
    });
    server.use(
      http.get(`${BASE}/api/v1/applications`, () =>
        HttpResponse.json({ items: {} }),
      ),
    );
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({
      code: 'invalid-response',
      message: expect.stringContaining(
        'answered /api/v1/applications with an unexpected shape: items: Expected array',
      ),
    });
    // A malformed item is the caller's to report, on that Application only.
    server.use(
      http.get(`${BASE}/api/v1/applications`, () =>
        HttpResponse.json({ items: [{ spec: {} }, application] }),
      ),
    );
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).resolves.toEqual([{ spec: {} }, application]);
  });

  it('says an instance is unreachable', async () => {
    const s = new ArgoCdApiSource({
      instance: {
        name: 'gone',
        url: 'http://127.0.0.1:1',
        frontendUrl: '',
        credentials: { kind: 'token', token: 't' },
      },
      logger: mockServices.logger.mock(),
      timeoutMs: 1000,
      retries: 0,
    });
    server.close(); // let the request reach the closed port
    try {
      await expect(
        s.listApplications({ selector: '', projects: [] }),
      ).rejects.toMatchObject({
        code: 'unreachable',
        message: expect.stringMatching(
          /^Argo CD instance "gone" is unreachable/,
        ),
      });
    } finally {
      server.listen();
    }
  });

  it('reads a live resource and revision metadata', async () => {
    server.use(
      http.get(
        `${BASE}/api/v1/applications/service-b-dev/resource`,
        ({ request }) => {
          const q = new URL(request.url).searchParams;
          expect([
            q.get('kind'),
            q.get('resourceName'),
            q.get('namespace'),
            q.get('group'),
          ]).toEqual(['Rollout', 'service-b', 'checkout-dev', 'argoproj.io']);
          return HttpResponse.json(
            fixture('applicationApplicationResourceResponse', {
              manifest: JSON.stringify({
                kind: 'Rollout',
                status: { phase: 'Paused' },
              }),
            }),
          );
        },
      ),
      http.get(
        `${BASE}/api/v1/applications/service-b-dev/revisions/abc1234/metadata`,
        () =>
          HttpResponse.json(
            fixture('v1alpha1RevisionMetadata', {
              author: 'Ana <ana@example.com>',
              date: '2026-11-01T12:00:00Z',
              message: 'bump',
            }),
          ),
      ),
    );
    const s = source();
    await expect(
      s.getResource(
        { name: 'service-b-dev', namespace: 'argocd' },
        {
          group: 'argoproj.io',
          version: 'v1alpha1',
          kind: 'Rollout',
          namespace: 'checkout-dev',
          name: 'service-b',
        },
      ),
    ).resolves.toEqual({ kind: 'Rollout', status: { phase: 'Paused' } });
    await expect(
      s.getRevisionMetadata({ name: 'service-b-dev' }, 'abc1234'),
    ).resolves.toEqual({
      author: 'Ana <ana@example.com>',
      date: '2026-11-01T12:00:00Z',
      message: 'bump',
      tags: [],
    });
  });

  describe('runs a resource action', () => {
    const rollout = {
      group: 'argoproj.io',
      version: 'v1alpha1',
      kind: 'Rollout',
      namespace: 'checkout-dev',
      name: 'service-b',
    };
    const path = `${BASE}/api/v1/applications/service-b-dev/resource/actions`;

    it('through RunResourceActionV2', async () => {
      const bodies: unknown[] = [];
      server.use(
        http.post(`${path}/v2`, async ({ request }) => {
          const body = await request.json();
          expect(
            contracts?.definitionErrors(
              'applicationResourceActionRunRequestV2',
              body,
            ) ?? [],
          ).toEqual([]);
          bodies.push(body);
          return HttpResponse.json(
            fixture('applicationApplicationResponse', {}),
          );
        }),
      );
      await source().runResourceAction(
        { name: 'service-b-dev', namespace: 'argocd' },
        rollout,
        'abort',
      );
      expect(bodies).toEqual([
        {
          name: 'service-b-dev',
          appNamespace: 'argocd',
          namespace: 'checkout-dev',
          resourceName: 'service-b',
          group: 'argoproj.io',
          version: 'v1alpha1',
          kind: 'Rollout',
          action: 'abort',
        },
      ]);
    });

    it('through the v1 call where Argo CD has no v2 (404), and says what Argo CD refused', async () => {
      const v1: Array<{ query: Record<string, string>; body: unknown }> = [];
      server.use(
        http.post(`${path}/v2`, () =>
          HttpResponse.json(runtimeError(5, 'Not Found'), { status: 404 }),
        ),
        http.post(path, async ({ request }) => {
          v1.push({
            query: Object.fromEntries(new URL(request.url).searchParams),
            body: await request.json(),
          });
          return v1.length === 1
            ? HttpResponse.json(fixture('applicationApplicationResponse', {}))
            : HttpResponse.json(runtimeError(3, 'action retry is disabled'), {
                status: 400,
              });
        }),
      );
      const s = source();
      await s.runResourceAction({ name: 'service-b-dev' }, rollout, 'resume');
      expect(v1).toEqual([
        {
          query: {
            namespace: 'checkout-dev',
            resourceName: 'service-b',
            group: 'argoproj.io',
            version: 'v1alpha1',
            kind: 'Rollout',
          },
          body: 'resume',
        },
      ]);
      await expect(
        s.runResourceAction({ name: 'service-b-dev' }, rollout, 'retry'),
      ).rejects.toThrow('action retry is disabled');
      // A write is never retried.
      expect(v1).toHaveLength(2);
    });
  });
});
