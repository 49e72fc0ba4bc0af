import { GitopsClient } from './client';

describe('GitopsClient', () => {
  const calls: string[] = [];
  const client = (res: Response) =>
    new GitopsClient({
      discoveryApi: {
        getBaseUrl: async id => `http://backstage.test/api/${id}`,
      },
      fetchApi: {
        fetch: (async (url: string) => {
          calls.push(url);
          return res;
        }) as typeof fetch,
      },
    });

  it('calls the routes of the OpenAPI spec', async () => {
    const ok = () =>
      new Response(JSON.stringify({ ok: true }), { status: 200 });
    await client(ok()).getEntityStatus('component:default/service-a');
    await client(ok()).getEntityStatus({
      kind: 'Component',
      namespace: 'team a',
      name: 'x',
    });
    await client(ok()).getRevisionMetadata(
      'component:default/service-a',
      'dev',
      'abc1234',
    );
    await client(ok()).getFleet();
    await client(ok()).actOnApplication(
      'component:default/service-a',
      'prod',
      'rollback',
      3,
    );
    expect(calls).toEqual([
      'http://backstage.test/api/gitops/entities/component/default/service-a/status',
      'http://backstage.test/api/gitops/entities/component/team%20a/x/status',
      'http://backstage.test/api/gitops/entities/component/default/service-a/environments/dev/revisions/abc1234',
      'http://backstage.test/api/gitops/fleet',
      'http://backstage.test/api/gitops/entities/component/default/service-a/environments/prod/rollback',
    ]);
  });

  it("throws the backend's error with its message", async () => {
    const res = new Response(
      JSON.stringify({
        error: {
          name: 'InputError',
          message: 'Invalid annotation argocd/app-selector: bad',
        },
        request: { method: 'GET', url: '/x' },
        response: { statusCode: 400 },
      }),
      {
        status: 400,
        statusText: 'Bad Request',
        headers: { 'content-type': 'application/json' },
      },
    );
    await expect(
      client(res).getEntityStatus('component:default/x'),
    ).rejects.toMatchObject({
      name: 'ResponseError',
      statusCode: 400,
      body: {
        error: { message: 'Invalid annotation argocd/app-selector: bad' },
      },
    });
  });
});
