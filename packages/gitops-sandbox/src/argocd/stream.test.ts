import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { EXAMPLES_GIT_URL, Sandbox } from '../sandbox';
import {
  argo,
  eventually,
  EXAMPLES_DIR,
  pushChange,
  settled,
  startTestSandbox,
} from '../testing/testSandbox';
import {
  closeWatches,
  openWatch,
  receivedAll,
  servedWatch,
  WatchStream,
} from '../testing/testStream';

// The events of Argo CD's application watch (stream.ts); its controls, errors and
// framing: streamControls.test.ts.

// Real Git and helm on a loaded 2-core machine; each wait is for a state (settled():
// up to 300 s).
jest.setTimeout(400_000);

const nameOf = (chunk: any) => chunk.result.application.metadata.name;
const typeOf = (chunk: any) => chunk.result.type;
const phaseOf = (chunk: any) =>
  chunk.result.application.status?.operationState?.phase;

/** An Application without what moves between two reads of it. */
function stable(application: any) {
  const { resourceVersion, ...metadata } = application.metadata;
  const { reconciledAt, observedAt, ...status } = application.status;
  return { ...application, metadata, status };
}

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

  async function sync(app: string) {
    const answer = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${app}/sync`,
      { method: 'POST', body: {} },
    );
    expect(answer.status).toBe(200);
  }

  /** Waits for a chunk after the first `from` that `check` accepts. */
  function chunkAfter(
    stream: WatchStream,
    from: number,
    check: (chunk: any) => boolean,
    what: string,
  ) {
    return eventually(
      async () => stream.chunks.slice(from).find(check),
      `${what} on stream ${stream.requestId}`,
    );
  }

  it('starts with an ADDED event per Application, each as GET answers it', async () => {
    const stream = watch('main');
    const res = await stream.response;
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const chunks = await receivedAll(sandbox, stream);
    const list = await argo(sandbox, 'main', '/api/v1/applications');
    expect(chunks.map(typeOf)).toEqual(list.body.items.map(() => 'ADDED'));
    // Sorted by namespace/name; all of these are in argocd.
    expect(chunks.map(nameOf)).toEqual(
      list.body.items.map((a: any) => a.metadata.name).sort(),
    );
    for (const chunk of chunks) {
      const { application } = chunk.result;
      expect(application.metadata.resourceVersion).toMatch(/^\d+$/);
      const got = await argo(
        sandbox,
        'main',
        `/api/v1/applications/${application.metadata.name}`,
      );
      expect(stable(application)).toEqual(stable(got.body));
    }
    // One JSON object a line.
    expect(stream.text().split('\n')).toHaveLength(chunks.length + 1);
  });

  it('sends MODIFIED to every open stream as a sync runs', async () => {
    const all = watch('main');
    const one = watch('main', 'name=service-b-dev');
    const from = (await receivedAll(sandbox, all)).length;
    expect((await receivedAll(sandbox, one)).map(nameOf)).toEqual([
      'service-b-dev',
    ]);

    await sync('service-b-dev');
    await chunkAfter(all, from, c => phaseOf(c) === 'Running', 'Running');
    await chunkAfter(all, from, c => phaseOf(c) === 'Succeeded', 'Succeeded');
    await settled(sandbox);

    const changes = (await receivedAll(sandbox, all)).slice(from);
    expect(new Set(changes.map(typeOf))).toEqual(new Set(['MODIFIED']));
    expect(new Set(changes.map(nameOf))).toEqual(new Set(['service-b-dev']));
    const versions = all.chunks.map(c =>
      Number(c.result.application.metadata.resourceVersion),
    );
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    // The named stream had the same changes.
    expect((await receivedAll(sandbox, one)).slice(1)).toEqual(changes);
  });

  it('sends MODIFIED when a refresh finds a new commit', async () => {
    const stream = watch('main', 'name=service-a-dev');
    const from = (await receivedAll(sandbox, stream)).length;
    const sha = await pushChange(
      sandbox,
      'service-a-config',
      { 'NOTES.md': () => 'A file no Application renders.\n' },
      'A commit that changes no manifest',
    );
    const refreshed = await argo(
      sandbox,
      'main',
      '/api/v1/applications/service-a-dev?refresh=normal',
    );
    expect(refreshed.body.status.sync.revision).toBe(sha);
    const modified = await chunkAfter(
      stream,
      from,
      c => c.result.application.status.sync.revision === sha,
      'the new revision',
    );
    expect(typeOf(modified)).toBe('MODIFIED');
  });

  it('sends ADDED and DELETED as an Application is created and deleted', async () => {
    const stream = watch('main');
    const from = (await receivedAll(sandbox, stream)).length;
    const file = path.join(
      EXAMPLES_DIR,
      'services/service-a/config/argocd/dev.yaml',
    );
    const { metadata, spec } = parse(
      fs
        .readFileSync(file, 'utf8')
        .replaceAll(EXAMPLES_GIT_URL, sandbox.gitUrl),
    );
    const { syncPolicy, ...manual } = spec;
    const created = await argo(sandbox, 'main', '/api/v1/applications', {
      method: 'POST',
      body: { metadata: { ...metadata, name: 'stream-probe' }, spec: manual },
    });
    expect(created.status).toBe(200);
    const probe = (c: any) => nameOf(c) === 'stream-probe';
    await chunkAfter(stream, from, probe, 'stream-probe');
    const deleted = await argo(
      sandbox,
      'main',
      '/api/v1/applications/stream-probe',
      { method: 'DELETE' },
    );
    expect(deleted.status).toBe(200);
    const gone = await chunkAfter(
      stream,
      from,
      c => probe(c) && typeOf(c) === 'DELETED',
      'DELETED',
    );
    expect(gone.result.application.spec).toEqual(created.body.spec);
    const types = stream.chunks.slice(from).filter(probe).map(typeOf);
    expect(types[0]).toBe('ADDED');
    expect(types.at(-1)).toBe('DELETED');
    expect(types.slice(1, -1).every(t => t === 'MODIFIED')).toBe(true);
  });

  it('filters as Argo CD: name with appNamespace, selector, projects', async () => {
    const everything = [
      'service-a-apps',
      'service-a-dev',
      'service-a-staging',
      'service-b-apps',
      'service-b-dev',
      'service-b-staging',
    ];
    const cases: Array<[string, string[]]> = [
      ['name=service-a-dev', ['service-a-dev']],
      ['name=service-a-dev&appNamespace=argocd', ['service-a-dev']],
      ['name=service-a-dev&appNamespace=elsewhere', []],
      // Without a name, Watch filters nothing by appNamespace.
      ['appNamespace=elsewhere', everything],
      [
        'selector=app.kubernetes.io/name=service-a',
        ['service-a-dev', 'service-a-staging'],
      ],
      [
        'selector=gitops/environment in (staging)',
        ['service-a-staging', 'service-b-staging'],
      ],
      ['projects=default', ['service-a-apps', 'service-b-apps']],
      ['projects=default&projects=checkout', everything],
      // The legacy `project` wins over `projects`.
      [
        'project=default&projects=checkout',
        ['service-a-apps', 'service-b-apps'],
      ],
      // Watch does not filter by repository.
      ['repo=http://elsewhere.example/x.git', everything],
    ];
    const streams = cases.map(([query]) =>
      watch('main', new URLSearchParams(query).toString()),
    );
    for (const [i, [query, names]] of cases.entries()) {
      const chunks = await receivedAll(sandbox, streams[i]);
      expect({ query, names: chunks.map(nameOf) }).toEqual({ query, names });
      // Nothing to send: not answered at all yet, as the gateway waits for a message.
      expect({
        query,
        answered: servedWatch(sandbox, streams[i])!.answered,
      }).toEqual({
        query,
        answered: names.length > 0,
      });
    }
  });

  it('projects every chunk by `fields`, and does not repeat an unchanged one', async () => {
    const fields =
      'result.type,result.application.metadata.name,result.application.status.sync.status';
    const full = watch('main', 'name=service-b-staging');
    const projected = watch('main', `name=service-b-staging&fields=${fields}`);
    const without = watch(
      'main',
      'name=service-b-staging&fields=-result.application.status,result.application.spec',
    );
    // Argo CD's UI prefixes `result.application.`; List's field names match nothing.
    const unprefixed = watch(
      'main',
      'name=service-b-staging&fields=metadata.name',
    );
    expect(await receivedAll(sandbox, projected)).toEqual([
      {
        result: {
          type: 'ADDED',
          application: {
            metadata: { name: 'service-b-staging' },
            status: { sync: { status: 'Synced' } },
          },
        },
      },
    ]);
    const [excluded] = await receivedAll(sandbox, without);
    expect(Object.keys(excluded.result.application)).toEqual(['metadata']);
    expect(excluded.result.application.metadata.name).toBe('service-b-staging');
    expect(await receivedAll(sandbox, unprefixed)).toEqual([{}]);

    await sync('service-b-staging');
    await chunkAfter(full, 1, c => phaseOf(c) === 'Succeeded', 'Succeeded');
    await settled(sandbox);
    const modified = (await receivedAll(sandbox, full)).length - 1;
    expect(modified).toBeGreaterThanOrEqual(2);
    // Only chunks that differ from the last one sent for the Application.
    const chunks = await receivedAll(sandbox, projected);
    expect(chunks.length).toBeLessThan(modified + 1);
    chunks.slice(1).forEach((chunk, i) => expect(chunk).not.toEqual(chunks[i]));
    expect(chunks[1].result.type).toBe('MODIFIED');
    expect(await receivedAll(sandbox, unprefixed)).toEqual([{}]);
  });

  it('sends only later changes from a resourceVersion, unless a name is given', async () => {
    const list = await argo(sandbox, 'main', '/api/v1/applications');
    const version = list.body.metadata.resourceVersion;
    const later = watch('main', `resourceVersion=${version}`);
    const named = watch(
      'main',
      `name=service-a-staging&resourceVersion=${version}`,
    );
    // Applications at a lower resourceVersion than asked are not sent.
    const future = watch(
      'main',
      'name=service-a-staging&resourceVersion=9999999',
    );
    expect(await receivedAll(sandbox, later)).toEqual([]);
    expect(servedWatch(sandbox, later)!.answered).toBe(false);
    expect((await receivedAll(sandbox, named)).map(typeOf)).toEqual(['ADDED']);
    expect(await receivedAll(sandbox, future)).toEqual([]);

    await sync('service-a-staging');
    const first = await eventually(
      async () => later.chunks[0],
      'the first change',
    );
    expect((await later.response).status).toBe(200);
    expect([typeOf(first), nameOf(first)]).toEqual([
      'MODIFIED',
      'service-a-staging',
    ]);
    await chunkAfter(later, 0, c => phaseOf(c) === 'Succeeded', 'Succeeded');
    expect(later.chunks.map(typeOf)).not.toContain('ADDED');
    expect(await receivedAll(sandbox, future)).toEqual([]);
  });
});
