import { mockServices } from '@backstage/backend-test-utils';
import {
  ApplicationWatchEvent,
  GitopsLiveStateSource,
} from '@gitops-backstage/plugin-gitops-node';
import { EventEmitter, once } from 'node:events';
import { ApplicationChange, LiveIndex } from '../LiveIndex/LiveIndex';
import { KubernetesApplicationSource } from './KubernetesApplicationSource';
import { InformerTiming } from './applicationInformer';
import {
  applicationResource as application,
  StandInKubernetes,
} from './__testUtils__/standInKubernetes';

// Reconnects back off 250–500 ms at first; a loaded 2-core machine is slow besides.
jest.setTimeout(60_000);

let cluster: StandInKubernetes;
beforeEach(async () => {
  cluster = await StandInKubernetes.start('sa-token');
});
afterEach(() => cluster.close());

const source = (watchTiming?: Partial<InformerTiming>) =>
  new KubernetesApplicationSource(
    {
      name: 'edge',
      url: cluster.url,
      token: 'sa-token',
      applicationNamespace: 'argocd',
      // The stand-in speaks plain HTTP on loopback.
      skipTLSVerify: true,
    },
    // No answer on a starved machine takes this long: a timeout here would be a flake.
    30_000,
    8,
    watchTiming,
  );

/** A watch read one event at a time. */
function watch(of = source()) {
  const controller = new AbortController();
  const events = of
    .watchApplications({ signal: controller.signal })
    [Symbol.asyncIterator]();
  return {
    events,
    async next(): Promise<ApplicationWatchEvent> {
      const { value, done } = await events.next();
      if (done) throw new Error('The watch ended');
      return value;
    },
    /** Aborts while the watch waits for its next event: the iteration must end. */
    async abort() {
      const last = events.next();
      controller.abort();
      expect(await last).toEqual({ done: true, value: undefined });
    },
  };
}

const namesOf = (event: ApplicationWatchEvent) =>
  event.type === 'snapshot'
    ? event.applications.map(a => (a as any).metadata.name).sort()
    : [];

const healthOf = (event: ApplicationWatchEvent) =>
  event.type === 'snapshot'
    ? event.applications.map(a => (a as any).status.health.status)
    : [];

describe('KubernetesApplicationSource.watchApplications', () => {
  it('yields a snapshot of every namespace, then each change; abort ends it and closes the watch', async () => {
    cluster.apply(application('a-dev', 'checkout', 'dev'));
    cluster.apply(application('a-lab', 'lab', 'dev', { namespace: 'team-a' }));
    const w = watch();
    const snapshot = await w.next();
    expect(snapshot.type).toBe('snapshot');
    expect(namesOf(snapshot)).toEqual(['a-dev', 'a-lab']);

    cluster.apply(
      application('a-dev', 'checkout', 'dev', { health: 'Degraded' }),
    );
    expect(await w.next()).toMatchObject({
      type: 'MODIFIED',
      application: {
        metadata: { name: 'a-dev' },
        status: { health: { status: 'Degraded' } },
      },
    });
    cluster.apply(application('a-prod', 'checkout', 'prod'));
    expect(await w.next()).toMatchObject({
      type: 'ADDED',
      application: { metadata: { name: 'a-prod' } },
    });
    cluster.delete('team-a', 'a-lab');
    expect(await w.next()).toMatchObject({
      type: 'DELETED',
      application: { metadata: { name: 'a-lab', namespace: 'team-a' } },
    });

    // One List, then a watch of all namespaces from the List's version.
    const [list, follow] = cluster.requests;
    expect(list.verb).toBe('list');
    expect(list.url.pathname).toBe('/apis/argoproj.io/v1alpha1/applications');
    expect(follow.verb).toBe('watch');
    expect(follow.url.pathname).toBe(list.url.pathname);
    expect(follow.url.searchParams.get('resourceVersion')).toBe('1002');
    expect(cluster.requests.filter(r => r.verb === 'list')).toHaveLength(1);

    await w.abort();
    await cluster.until(() => cluster.openWatches === 0);
  });

  it('reports a stream the server cut as disconnected, then reconnects with a snapshot that repairs the gap', async () => {
    cluster.apply(application('a-dev', 'checkout', 'dev'));
    const w = watch();
    expect((await w.next()).type).toBe('snapshot');

    cluster.cutWatches();
    // Changed while no watch runs: only the next List can tell.
    cluster.apply(
      application('a-dev', 'checkout', 'dev', { health: 'Degraded' }),
    );
    const broken = await w.next();
    expect(broken).toMatchObject({
      type: 'disconnected',
      error: {
        name: 'GitopsSourceError',
        code: 'unreachable',
        message: expect.stringMatching(
          /^Kubernetes cluster "edge" broke off the Application watch \(.+\)$/,
        ),
      },
    });
    const repaired = await w.next();
    expect(repaired.type).toBe('snapshot');
    expect(healthOf(repaired)).toEqual(['Degraded']);

    // And the new watch runs.
    cluster.apply(
      application('a-dev', 'checkout', 'dev', { health: 'Progressing' }),
    );
    expect(await w.next()).toMatchObject({
      type: 'MODIFIED',
      application: { status: { health: { status: 'Progressing' } } },
    });
    expect(cluster.requests.filter(r => r.verb === 'list')).toHaveLength(2);
    await w.abort();
  });

  it('lists again by itself when its version expired (410), yielding what changed, without a disconnect', async () => {
    cluster.apply(application('a-dev', 'checkout', 'dev'));
    const w = watch();
    expect((await w.next()).type).toBe('snapshot');

    let expired = false;
    cluster.onWatch = () => {
      if (expired) return;
      expired = true;
      // A change, then compaction, before the informer watches again.
      cluster.apply(
        application('a-dev', 'checkout', 'dev', { health: 'Degraded' }),
      );
      cluster.compact();
    };
    // As the API server ends a watch after its timeout: the informer watches again.
    cluster.endWatches();
    expect(await w.next()).toMatchObject({
      type: 'MODIFIED',
      application: { status: { health: { status: 'Degraded' } } },
    });
    expect(cluster.requests.map(r => r.verb).slice(0, 4)).toEqual([
      'list',
      'watch',
      'watch',
      'list',
    ]);
    await w.abort();
  });

  it.each([
    [
      'a token it no longer accepts',
      (c: StandInKubernetes) => {
        c.token = 'rotated-token';
      },
      'unauthorized',
      'refused the service-account token (401)',
    ],
    [
      'no list permission',
      (c: StandInKubernetes) => c.forbidden.add('list'),
      'forbidden',
      'does not let the service account list Applications (403)',
    ],
    [
      'no watch permission',
      (c: StandInKubernetes) => c.forbidden.add('watch'),
      'forbidden',
      'does not let the service account watch Applications (403)',
    ],
  ])(
    'refused for %s: disconnected saying so, never with the token, and retried until let in',
    async (_case, refuse, code, message) => {
      cluster.apply(application('a-dev', 'checkout', 'dev'));
      refuse(cluster);
      const w = watch();
      const refused = await w.next();
      expect(refused).toMatchObject({
        type: 'disconnected',
        error: { code, message: `Kubernetes cluster "edge" ${message}` },
      });
      expect(JSON.stringify(refused)).not.toContain('sa-token');

      cluster.token = 'sa-token';
      cluster.forbidden.clear();
      const snapshot = await w.next();
      expect(namesOf(snapshot)).toEqual(['a-dev']);
      await w.abort();
    },
  );

  it('ends at once when aborted while waiting to reconnect (no timer left: jest would not exit)', async () => {
    cluster.forbidden.add('list');
    const w = watch(source({ backoffMs: 3_600_000, maxBackoffMs: 3_600_000 }));
    expect((await w.next()).type).toBe('disconnected');
    await w.abort();
    expect(cluster.requests).toHaveLength(1);
  });

  it('keeps LiveIndex current, unchanged, through a break too', async () => {
    cluster.apply(application('a-dev', 'checkout', 'dev'));
    cluster.apply(application('a-lab', 'lab', 'dev', { namespace: 'team-a' }));
    const kubernetes = source();
    // Tells when LiveIndex has handled an event: it asks for the next one then.
    const handled = new EventEmitter();
    const observed: GitopsLiveStateSource = {
      id: kubernetes.id,
      listApplications: query => kubernetes.listApplications(query),
      async *watchApplications(options) {
        for await (const event of kubernetes.watchApplications(options)) {
          yield event;
          handled.emit(event.type, event);
        }
      },
    };
    const live = new LiveIndex(mockServices.logger.mock());
    const changes: ApplicationChange[] = [];
    live.onChange(change => changes.push(change));
    const loaded = once(handled, 'snapshot');
    live.start([observed]);
    await loaded;
    expect(live.status()).toEqual({ edge: { live: true } });
    const everything = {
      kind: 'selector' as const,
      selector: 'app.kubernetes.io/name=service-a',
      projects: [],
    };
    expect(
      live
        .index('edge')!
        .find(everything)
        .map(a => a.metadata.name)
        .sort(),
    ).toEqual(['a-dev', 'a-lab']);

    const modified = once(handled, 'MODIFIED');
    cluster.apply(
      application('a-dev', 'checkout', 'dev', { health: 'Degraded' }),
    );
    await modified;
    expect(changes).toMatchObject([
      {
        sourceId: 'edge',
        type: 'MODIFIED',
        application: { metadata: { name: 'a-dev' } },
      },
    ]);

    const broken = once(handled, 'disconnected');
    const reloaded = once(handled, 'snapshot');
    cluster.cutWatches();
    cluster.delete('team-a', 'a-lab');
    await broken;
    expect(live.status().edge).toMatchObject({
      live: false,
      error: { code: 'unreachable' },
    });
    expect(live.index('edge')).toBeUndefined();
    await reloaded;
    expect(live.status()).toEqual({ edge: { live: true } });
    expect(changes.at(-1)).toMatchObject({
      type: 'DELETED',
      application: { metadata: { name: 'a-lab' } },
    });

    live.stop();
    await cluster.until(() => cluster.openWatches === 0);
  });
});

describe('the stand-in Kubernetes API server', () => {
  /** The lines of a watch answer, as they arrive. */
  async function* watchLines(query: string, token = 'sa-token') {
    const response = await fetch(
      `${cluster.url}/apis/argoproj.io/v1alpha1/namespaces/argocd/applications?${query}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(200);
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of response.body!) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) yield JSON.parse(line);
    }
  }

  it('watches as the API server does: current objects first without a version, bookmarks when allowed, 410 for a compacted version', async () => {
    cluster.apply(application('a-dev', 'checkout', 'dev'));
    cluster.apply(application('a-lab', 'lab', 'dev', { namespace: 'team-a' }));
    const lines = watchLines('watch=1&allowWatchBookmarks=true');
    // Only its namespace, as synthetic additions.
    expect(await lines.next()).toMatchObject({
      value: { type: 'ADDED', object: { metadata: { name: 'a-dev' } } },
    });
    await cluster.until(() => cluster.openWatches === 1);
    cluster.bookmark();
    expect(await lines.next()).toMatchObject({
      value: {
        type: 'BOOKMARK',
        object: { kind: 'Application', metadata: { resourceVersion: '1002' } },
      },
    });
    await lines.return(undefined);

    cluster.apply(
      application('a-dev', 'checkout', 'dev', { health: 'Degraded' }),
    );
    cluster.compact();
    const expired = [];
    for await (const line of watchLines('watch=true&resourceVersion=1001'))
      expired.push(line);
    expect(expired).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({
          kind: 'Status',
          reason: 'Expired',
          code: 410,
        }),
      },
    ]);
    await cluster.until(() => cluster.openWatches === 0);
  });
});
