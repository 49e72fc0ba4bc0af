import http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubernetesApplicationSource } from './KubernetesApplicationSource';
import { applicationResource as application } from './__testUtils__/standInKubernetes';

/**
 * A stand-in Kubernetes API server on 127.0.0.1. (msw cannot intercept
 * @kubernetes/client-node 2, which calls its own undici fetch.)
 */
type Handler = (
  req: http.IncomingMessage,
  url: URL,
) => { status?: number; body?: unknown } | 'hang';
let handler: Handler = () => ({ status: 404, body: {} });
const server = http.createServer((req, res) => {
  const answer = handler(req, new URL(req.url!, 'http://127.0.0.1'));
  if (answer === 'hang') return;
  res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(answer.body));
});
let API = '';
beforeAll(async () => {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  API = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const list = (items: unknown[]) => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'ApplicationList',
  metadata: { resourceVersion: '42' },
  items,
});

/**
 * A timeout no answer on a starved machine reaches (a CI run saw the first request of
 * a file take over 5 s, the production timeout); short only where the test waits for a
 * hanging call to time out.
 */
const source = (timeoutMs = 30_000) =>
  new KubernetesApplicationSource(
    {
      name: 'edge',
      url: API,
      token: 'sa-token',
      applicationNamespace: 'argocd',
      // The stand-in speaks plain HTTP on loopback.
      skipTLSVerify: true,
    },
    timeoutMs,
  );

describe('KubernetesApplicationSource', () => {
  it('lists Applications cluster-wide by label selector with the service-account token, filtering projects', async () => {
    let seen: URL | undefined;
    handler = (req, url) => {
      seen = url;
      expect(req.headers.authorization).toBe('Bearer sa-token');
      return {
        body: list([
          application('a-dev', 'checkout', 'dev'),
          application('a-lab', 'lab', 'dev'),
        ]),
      };
    };
    const apps = await source().listApplications({
      selector: 'app.kubernetes.io/name=service-a',
      projects: ['checkout'],
    });
    expect(apps.map(a => a.metadata.name)).toEqual(['a-dev']);
    expect(seen!.pathname).toBe('/apis/argoproj.io/v1alpha1/applications');
    expect(seen!.searchParams.get('labelSelector')).toBe(
      'app.kubernetes.io/name=service-a',
    );
  });

  it('lists in one namespace, and gets Applications by name (a missing one is skipped)', async () => {
    handler = (_req, url) => {
      if (
        url.pathname ===
        '/apis/argoproj.io/v1alpha1/namespaces/team-a/applications'
      ) {
        return { body: list([application('a-dev', 'checkout', 'dev')]) };
      }
      if (
        url.pathname ===
        '/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/a-prod'
      ) {
        return { body: application('a-prod', 'checkout', 'prod') };
      }
      return {
        status: 404,
        body: { kind: 'Status', code: 404, message: 'not found' },
      };
    };
    const s = source();
    const listed = await s.listApplications({
      selector: '',
      projects: [],
      appNamespace: 'team-a',
    });
    expect(listed.map(a => a.metadata.name)).toEqual(['a-dev']);
    const named = await s.listApplications({ names: ['a-prod', 'a-gone'] });
    expect(named.map(a => a.metadata.name)).toEqual(['a-prod']);
  });

  it.each([
    [401, 'unauthorized', 'refused the service-account token (401)'],
    [
      403,
      'forbidden',
      'does not let the service account list Applications (403)',
    ],
    [500, 'upstream-error', 'answered 500'],
  ])('maps %i to %s', async (status, code, message) => {
    handler = () => ({
      status,
      body: { kind: 'Status', code: status, message: 'no' },
    });
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({
      code,
      message: `Kubernetes cluster "edge" ${message}`,
    });
  });

  it('times out, and refuses an answer that is not an Application list (its items are checked by the caller)', async () => {
    handler = () => 'hang';
    await expect(
      source(300).listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({ code: 'timeout' });
    handler = () => ({ body: { items: 'none' } });
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).rejects.toMatchObject({ code: 'invalid-response' });
    // A malformed item is the caller's to report, on that Application only.
    handler = () => ({ body: { items: [{ metadata: {} }] } });
    await expect(
      source().listApplications({ selector: '', projects: [] }),
    ).resolves.toEqual([{ metadata: {} }]);
  });
});
