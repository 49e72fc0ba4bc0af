import { randomUUID } from 'node:crypto';
import {
  CacheService,
  coreServices,
  createBackendPlugin,
} from '@backstage/backend-plugin-api';
import {
  mockServices,
  startTestBackend,
  TestBackend,
} from '@backstage/backend-test-utils';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { testCaches } from '../__testUtils__/testServices';
import { UpstreamCache } from './UpstreamCache';

// Two backends started per test on a loaded 2-core machine.
jest.setTimeout(60_000);

const MINUTE = 60_000;

/** An answer shaped as Argo CD's: nesting, nulls, numbers, flags, non-ASCII text. */
const applications = (revision: string) => ({
  items: [
    {
      metadata: { name: 'service-a-dev', labels: { team: 'checkout' } },
      status: {
        sync: { status: 'Synced', revision },
        health: { status: 'Healthy', message: null },
        history: [{ id: 1, revision, deployedAt: '2026-11-30T10:00:00Z' }],
        summary: { images: ['registry.example.com/a:1.1.0'] },
      },
      spec: { syncPolicy: { automated: { prune: true } }, note: 'Zürich ✓' },
    },
  ],
});

const caches = testCaches();

describe.each(caches.eachSupportedId())(
  "UpstreamCache on two backend replicas' cache service (%s)",
  cacheId => {
    // Each replica is a backend of its own: its own CacheManager and store client, as
    // two processes have. Only a shared store (Redis) lets them see each other's.
    let shared: boolean;
    let replicas: Array<{ backend: TestBackend; cache: CacheService }>;

    const startReplica = async (store: string, connection: string) => {
      let cache: CacheService | undefined;
      const plugin = createBackendPlugin({
        pluginId: 'gitops',
        register(env) {
          env.registerInit({
            deps: { cache: coreServices.cache },
            async init(deps) {
              cache = deps.cache;
            },
          });
        },
      });
      const backend = await startTestBackend({
        features: [
          plugin,
          // Backstage's own cache service, configured as app-config configures it.
          mockServices.cache.factory(),
          mockServices.rootConfig.factory({
            data: { backend: { cache: { store, connection } } },
          }),
        ],
      });
      return { backend, cache: cache! };
    };

    beforeEach(async () => {
      const { store, connection } = await caches.init(cacheId);
      shared = store !== 'memory';
      replicas = [
        await startReplica(store, connection),
        await startReplica(store, connection),
      ];
    });
    afterEach(async () => {
      await Promise.all(replicas.map(r => r.backend.stop()));
    });

    /** A replica's UpstreamCache as it is after a start: nothing in its own memory. */
    const replica = (i: number) => new UpstreamCache(replicas[i].cache);
    const loader = <T>(answer: () => T) => jest.fn(async () => answer());

    it('an answer one replica loaded is the other one’s through a shared store (Redis), without asking upstream again; with the memory store each loads its own', async () => {
      const key = `list:main:${randomUUID()}`;
      const loadA = loader(() => applications('abc123'));
      const loadB = loader(() => applications('def456'));

      expect(await replica(0).get(key, MINUTE, loadA)).toEqual({
        value: applications('abc123'),
      });
      const b = await replica(1).get(key, MINUTE, loadB);

      expect(loadA).toHaveBeenCalledTimes(1);
      expect(b).toEqual({ value: applications(shared ? 'abc123' : 'def456') });
      expect(loadB).toHaveBeenCalledTimes(shared ? 0 : 1);
    });

    it('a failure one replica met is the other one’s too through a shared store, so a down instance is not asked by every replica', async () => {
      const key = `list:main:${randomUUID()}`;
      const failing = jest.fn(async () => {
        throw new GitopsSourceError('unreachable', 'Argo CD answered 503');
      });
      const loadB = loader(() => applications('abc123'));

      const a = await replica(0).get(key, MINUTE, failing);
      const b = await replica(1).get(key, MINUTE, loadB);

      const error = {
        error: { code: 'unreachable', message: 'Argo CD answered 503' },
      };
      expect(a).toEqual(error);
      expect(failing).toHaveBeenCalledTimes(1);
      expect(b).toEqual(shared ? error : { value: applications('abc123') });
      expect(loadB).toHaveBeenCalledTimes(shared ? 0 : 1);
    });

    it('forget() on one replica drops the shared answer: the next replica to ask loads anew, and the one that forgot then reads that', async () => {
      const key = `list:main:${randomUUID()}`;
      const a = replica(0);
      await a.get(
        key,
        MINUTE,
        loader(() => applications('before')),
      );
      // Before the forget, the answer is there for a replica that has none of its own.
      const probe = loader(() => applications('probe'));
      expect(await replica(1).get(key, MINUTE, probe)).toEqual({
        value: applications(shared ? 'before' : 'probe'),
      });

      await a.forget(key);

      // With the memory store the other replica's own copy is out of reach.
      const loadB = loader(() => applications('after'));
      expect(await replica(1).get(key, MINUTE, loadB)).toEqual({
        value: applications(shared ? 'after' : 'probe'),
      });
      expect(loadB).toHaveBeenCalledTimes(shared ? 1 : 0);
      // The replica that forgot keeps nothing of its own: it asks the store again.
      const loadA = loader(() => applications('after, loaded by a'));
      expect(await a.get(key, MINUTE, loadA)).toEqual({
        value: applications(shared ? 'after' : 'after, loaded by a'),
      });
      expect(loadA).toHaveBeenCalledTimes(shared ? 0 : 1);
    });
  },
);
