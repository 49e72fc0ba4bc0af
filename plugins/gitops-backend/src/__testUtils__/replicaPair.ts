import { Entity } from '@backstage/catalog-model';
import {
  argo,
  eventually,
  pushChange,
  Sandbox,
  setTag,
} from '@gitops-backstage/gitops-sandbox';
import { randomBytes } from 'node:crypto';
import {
  freePort,
  Replica,
  ReplicaDatabases,
  startReplica,
} from './replicaProcesses';
import { gitIn, sandboxBackendConfig } from './sandboxBackend';

/**
 * Two backend replicas as processes on one PostgreSQL and one Redis against the
 * sandbox, as production runs them: the first watches every Argo CD instance, the
 * second does not (so a signal it passes on can only come over the events bus).
 * Used by twoBackends.replicas.test.ts and `yarn bench replicas`.
 */
export async function startReplicaPair(options: {
  sandbox: Sandbox;
  services: { postgres: string; redis: string };
  entities: Entity[];
  /** Where the replicas' configs and logs go. */
  dir: string;
  /** The static external-access token callers use. */
  apiToken: string;
}): Promise<{ replicas: Replica[]; databases: ReplicaDatabases }> {
  const { sandbox, services, apiToken } = options;
  const databases = new ReplicaDatabases(services.postgres);
  // The same secret on every replica, as production sets BACKEND_SECRET.
  const secret = randomBytes(24).toString('hex');
  /** A replica's app-config: only its port and whether it watches differ. */
  const replicaConfig = (port: number, watch: boolean) => ({
    // No frontend here: the app's origin is the replica's own.
    app: { baseUrl: `http://127.0.0.1:${port}` },
    backend: {
      baseUrl: `http://127.0.0.1:${port}`,
      listen: { host: '127.0.0.1', port },
      auth: {
        keys: [{ secret }],
        externalAccess: [
          {
            type: 'static',
            options: { token: apiToken, subject: 'replicas-test' },
          },
        ],
      },
      database: {
        client: 'pg',
        connection: services.postgres,
        prefix: databases.prefix,
      },
      cache: {
        store: 'redis',
        connection: services.redis,
        redis: { client: { namespace: databases.prefix } },
      },
    },
    // Signals and events go through the events backend's bus (PostgreSQL), never
    // silently only to the local process.
    events: { useEventBus: 'always' },
    ...sandboxBackendConfig(sandbox, {
      watch,
      // Production's default: views between promotions read Git no more than that.
      cacheSeconds: 10,
      // A held push must outlive the moment the test needs to kill its replica.
      timeoutSeconds: 20,
      promotion: { methods: { prod: 'commit' }, allowSkip: true },
    }),
  });
  const replicas: Replica[] = [];
  try {
    // One after the other: the first creates the databases and migrates them.
    for (const [i, watch] of [true, false].entries()) {
      const port = await freePort();
      replicas.push(
        await startReplica({
          name: `replica-${i + 1}`,
          port,
          config: replicaConfig(port, watch),
          entities: options.entities,
          dir: options.dir,
        }),
      );
    }
  } catch (error) {
    for (const replica of replicas) replica.kill();
    await databases.drop();
    throw error;
  }
  return { replicas, databases };
}

/** Calls a replica's GitOps API with the static token; answers status and body. */
export async function replicaApi(
  replica: Replica,
  apiToken: string,
  route: string,
  body?: object,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${replica.url}/api/gitops${route}`, {
    method: body ? 'POST' : 'GET',
    headers: {
      authorization: `Bearer ${apiToken}`,
      ...(body && { 'content-type': 'application/json' }),
    },
    body: body && JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/**
 * As CI: pushes an image, bumps dev's tag, and waits until dev runs it (the
 * promotion gates ask that of a source).
 */
export async function newVersionInDev(
  sandbox: Sandbox,
  entity: string,
  repo: string,
  tag: string,
) {
  const image = `registry.example.com/checkout/${entity}:${tag}`;
  await sandbox.registry.pushImage(image);
  await pushChange(
    sandbox,
    repo,
    { 'chart/values-dev.yaml': setTag(tag) },
    `ci: ${tag}`,
  );
  await eventually(async () => {
    const { body } = await argo(
      sandbox,
      'main',
      `/api/v1/applications/${entity}-dev`,
    );
    return (
      (body?.status?.sync?.status === 'Synced' &&
        body.status.health?.status === 'Healthy' &&
        body.status.summary?.images?.includes(image)) ||
      undefined
    );
  }, `${entity}'s dev to run ${tag}`);
}

/** Commits after `base` on main, oldest first: SHA, parents, Promotion-Id trailer. */
export async function commitsAfter(
  sandboxDir: string,
  repo: string,
  base: string,
) {
  return (
    await gitIn(
      sandboxDir,
      repo,
      'log',
      '--reverse',
      '--format=%H%x09%P%x09%(trailers:key=Promotion-Id,valueonly,separator=%x2C)',
      `${base}..main`,
    )
  )
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(line => {
      const [sha, parents, promotionId] = line.split('\t');
      return { sha, parents: parents.split(' '), promotionId };
    });
}
