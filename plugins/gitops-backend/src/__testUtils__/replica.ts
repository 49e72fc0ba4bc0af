/**
 * One backend replica for gitops.replicas.test.ts, run as a process of its own as
 * production runs replicas (see startReplica in replicas.ts):
 *
 *   node --require @backstage/cli-node/config/nodeTransform.cjs replica.ts --config <file>
 *
 * Backstage's own services throughout (database, cache, scheduler, auth, auditor, the
 * events bus and signals), with only what the GitOps plugin needs beside it. The
 * catalog is the one stand-in: its entities come from REPLICA_ENTITIES (JSON), so
 * both replicas read the same ones without a catalog to process them.
 */
import { createBackend } from '@backstage/backend-defaults';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { InMemoryCatalogClient } from '@backstage/catalog-client/testUtils';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { gitopsPlugin } from '../plugin';

const backend = createBackend();
backend.add(gitopsPlugin);
backend.add(
  createServiceFactory({
    service: catalogServiceRef,
    deps: {},
    factory: () =>
      new InMemoryCatalogClient({
        entities: JSON.parse(process.env.REPLICA_ENTITIES ?? '[]'),
      }),
  }),
);
// The events bus over PostgreSQL carries signals from the replica that noticed a
// change to browsers connected to any replica.
backend.add(import('@backstage/plugin-events-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
// The test holds our stdin: if it dies without killing us, we go too.
process.stdin.on('end', () => process.kill(process.pid, 'SIGKILL'));
process.stdin.resume();
backend.start().catch(error => {
  // eslint-disable-next-line no-console
  console.error(`replica failed to start: ${error}`);
  process.exit(1);
});
