import { ArgoContracts } from '../contracts';
import { Sandbox } from '../sandbox';
import {
  argo,
  eventually,
  settled,
  startTestSandbox,
} from '../testing/testSandbox';
import {
  closeWatches,
  openWatch,
  receivedAll,
  servedWatch,
  streamChunkErrors,
  WatchStream,
} from '../testing/testStream';

// The application watch's authentication, errors, framing and test controls (cut,
// refuse); its events: stream.test.ts.

// Real Git and helm on a loaded 2-core machine; each wait is for a state (settled():
// up to 300 s).
jest.setTimeout(400_000);

const contracts = ArgoContracts.load();

const nameOf = (chunk: any) => chunk.result.application.metadata.name;

describe('the application watch stream', () => {
  let sandbox: Sandbox;
  let opened: WatchStream[] = [];

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    await settled(sandbox);
  });
  afterEach(async () => {
    const violations = await closeWatches(sandbox, opened);
    opened = [];
    // The next test starts clean whatever this one left.
    await sandbox.setInstanceFault('main', undefined);
    sandbox.streams('main').refuse = false;
    await settled(sandbox);
    // Every chunk of every stream of the test, against swagger.json and the CRD; a
    // client that left releases everything, the change listener too.
    if (violations.length > 0) {
      throw new Error(`Contract violations:\n${violations.join('\n')}`);
    }
    if (sandbox.streams('main').listening) {
      throw new Error('The streams of main still follow its changes');
    }
  });
  afterAll(() => sandbox?.stop());

  function watch(
    instance: string,
    query = '',
    init: Parameters<typeof openWatch>[3] = {},
  ) {
    const stream = openWatch(sandbox, instance, query, init);
    opened.push(stream);
    return stream;
  }

  function control(route: string, method: string, body?: unknown) {
    return fetch(`${sandbox.gitUrl}/api/sandbox/instances/main/${route}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.gitToken}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  it('authenticates as the other routes, and answers errors as stream chunks', async () => {
    const instance = sandbox.instances.find(i => i.name === 'main')!;
    const refused = async (stream: WatchStream) => {
      const res = await stream.response;
      await stream.ended;
      expect(res.headers.get('content-type')).toBe('application/json');
      return { status: res.status, chunks: stream.chunks };
    };
    expect(await refused(watch('main', '', { token: null }))).toEqual({
      status: 401,
      chunks: [
        {
          error: {
            grpc_code: 16,
            http_code: 401,
            message: 'no session information',
            http_status: 'Unauthorized',
          },
        },
      ],
    });
    const wrong = await refused(watch('main', '', { token: 'wrong' }));
    expect(wrong.status).toBe(401);
    expect(wrong.chunks[0].error.message).toBe(
      'invalid session: token signature is invalid',
    );
    // A bad selector is no gRPC status in Watch: Unknown, 500.
    const badSelector = await refused(
      watch('main', 'name=service-a-dev&selector=a%20in%20('),
    );
    expect(badSelector.status).toBe(500);
    expect(badSelector.chunks[0].error).toMatchObject({
      grpc_code: 2,
      http_status: 'Internal Server Error',
    });
    expect(badSelector.chunks[0].error.message).toMatch(
      /^error parsing labels with selectors: /,
    );

    const cookie = watch('main', 'name=service-a-dev', {
      token: null,
      headers: { cookie: `argocd.token=${instance.token}` },
    });
    expect((await receivedAll(sandbox, cookie)).map(nameOf)).toEqual([
      'service-a-dev',
    ]);
    const session = await argo(sandbox, 'main', '/api/v1/session', {
      method: 'POST',
      body: { username: 'admin', password: 'sandbox' },
      token: null,
    });
    const bySession = watch('main', 'name=service-a-dev', {
      token: session.body.token,
    });
    expect((await receivedAll(sandbox, bySession)).map(nameOf)).toEqual([
      'service-a-dev',
    ]);
  });

  it('answers instance faults on the stream too', async () => {
    await sandbox.setInstanceFault('main', 'unauthorized');
    const unauthorized = watch('main');
    expect((await unauthorized.response).status).toBe(401);
    await unauthorized.ended;
    expect(unauthorized.chunks[0].error).toMatchObject({ grpc_code: 16 });

    await sandbox.setInstanceFault('main', 'error');
    const failed = watch('main');
    expect((await failed.response).status).toBe(500);
    await failed.ended;
    expect(failed.chunks[0].error).toMatchObject({ grpc_code: 13 });

    await sandbox.setInstanceFault('main', 'malformed');
    const malformed = await fetch(
      `${sandbox.instances[0].url}/api/v1/stream/applications`,
    );
    expect(malformed.status).toBe(200);
    await expect(malformed.json()).rejects.toMatchObject({
      name: 'SyntaxError',
    });
  });

  it('frames events for an event stream when asked', async () => {
    const stream = watch('main', 'name=service-a-dev', {
      headers: { accept: 'text/event-stream' },
    });
    const res = await stream.response;
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect((await receivedAll(sandbox, stream)).map(nameOf)).toEqual([
      'service-a-dev',
    ]);
    expect(stream.text()).toMatch(
      /^data: \{"result":\{"type":"ADDED",.*\} \n\n\n$/s,
    );
  });

  it('drops every open stream of an instance when cut, as a proxy timeout', async () => {
    const a = watch('main');
    const b = watch('main', 'name=service-a-dev');
    const prod = watch('prod', 'name=service-a-prod');
    await receivedAll(sandbox, a);
    await receivedAll(sandbox, b);
    expect(sandbox.streams('main').open).toBe(2);

    const cut = await control('streams/cut', 'POST');
    expect(await cut.json()).toEqual({ cut: 2 });
    expect((await a.ended).error).toBeDefined();
    expect((await b.ended).error).toBeDefined();
    expect(sandbox.streams('main').open).toBe(0);
    expect(sandbox.streams('main').listening).toBe(false);
    // Other instances' streams stay; the library call does the same.
    expect(servedWatch(sandbox, prod)).toBeDefined();
    expect(sandbox.streams('prod').cut()).toBe(1);
    expect((await prod.ended).error).toBeDefined();

    // A new stream works at once.
    const again = watch('main', 'name=service-a-dev');
    expect((await receivedAll(sandbox, again)).map(nameOf)).toEqual([
      'service-a-dev',
    ]);
  });

  it('refuses the stream endpoint only, as a proxy that will not pass long answers', async () => {
    const requests = sandbox.requestCount('main');
    const streamRequests = sandbox.streams('main').requests;
    const set = await control('streams', 'PUT', { refuse: true });
    expect(await set.json()).toMatchObject({ refuse: true, open: 0 });

    const instance = sandbox.instances.find(i => i.name === 'main')!;
    const res = await fetch(`${instance.url}/api/v1/stream/applications`, {
      headers: { authorization: `Bearer ${instance.token}` },
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/html');
    expect(await res.text()).toContain('<title>403 Forbidden</title>');
    expect((await argo(sandbox, 'main', '/api/v1/applications')).status).toBe(
      200,
    );
    // Both reached the instance's port: benchmarks count them.
    expect(sandbox.requestCount('main')).toBe(requests + 2);
    expect(sandbox.streams('main').requests).toBe(streamRequests + 1);

    await control('streams', 'PUT', { refuse: false });
    const allowed = watch('main', 'name=service-a-dev');
    expect((await allowed.response).status).toBe(200);
    const state = await (await control('streams', 'GET')).json();
    expect(state).toMatchObject({ open: 1, refuse: false });
    expect(state.streams[0]).toMatchObject({
      requestId: allowed.requestId,
      query: 'name=service-a-dev',
      sent: 1,
    });
  });

  it('releases a stream when its client leaves', async () => {
    const stream = watch('main', 'name=service-a-dev');
    await receivedAll(sandbox, stream);
    expect(sandbox.streams('main').listening).toBe(true);
    stream.close();
    await eventually(
      async () => sandbox.streams('main').open === 0 || undefined,
      'the stream to be released',
    );
    expect(sandbox.streams('main').listening).toBe(false);
  });
});

(contracts ? describe : describe.skip)(
  'the stream contract check itself',
  () => {
    it('rejects chunks that are not of the stream schema', () => {
      expect(streamChunkErrors({ result: { type: 'ADDED', app: {} } })).toEqual(
        ['/result must NOT have additional properties: app'],
      );
      expect(streamChunkErrors({ error: { code: 16, message: 'x' } })).toEqual([
        '/error must NOT have additional properties: code',
      ]);
      expect(streamChunkErrors({ items: [] })).toEqual([
        '/ must NOT have additional properties: items',
      ]);
      const application = {
        metadata: { name: 'a' },
        spec: { destination: {}, project: 'default' },
        status: { sync: { status: 3 } },
      };
      expect(
        streamChunkErrors({ result: { type: 'MODIFIED', application } }),
      ).toEqual(
        expect.arrayContaining([
          '/result/application/status/sync/status must be string',
          'application /status/sync/status must be string',
        ]),
      );
    });
  },
);
