// `yarn bench replicas`: promotions per second through two backend replicas (processes
// on one PostgreSQL 15 and one Redis 7, against the sandbox), with the check that no
// update was lost. Needs the servers scripts/test-services.sh starts:
//   scripts/test-services.sh run ./portal yarn bench replicas
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { settled, startTestSandbox } from '@gitops-backstage/gitops-sandbox';
import {
  component,
  gitIn,
  tagInGit,
} from '../plugins/gitops-backend/src/__testUtils__/sandboxBackend';
import {
  newVersionInDev,
  replicaApi,
  startReplicaPair,
} from '../plugins/gitops-backend/src/__testUtils__/replicaPair';
import { Replica } from '../plugins/gitops-backend/src/__testUtils__/replicaProcesses';

type Result = {
  scenario: string;
  metric: string;
  value: string;
  target?: string;
};

const SCENARIO =
  'two replicas (backend processes on one PostgreSQL 15 and one Redis 7, sandbox Git and Argo CD)';
/** Promotions per entity; two entities (two config repositories) at once. */
const PER_ENTITY = 20;

export async function replicasScenario(): Promise<Result[]> {
  const postgres =
    process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING;
  const redis = process.env.BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING;
  if (!postgres || !redis) {
    throw new Error(
      'the replicas scenario needs PostgreSQL and Redis: scripts/test-services.sh run ./portal yarn bench replicas',
    );
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-replicas-'));
  const sandboxDir = path.join(dir, 'sandbox');
  const sandbox = await startTestSandbox({ dir: sandboxDir });
  const apiToken = randomBytes(24).toString('hex');
  let replicas: Replica[] = [];
  let drop = async () => {};
  try {
    await settled(sandbox);
    const names = ['service-a', 'service-b'];
    const pair = await startReplicaPair({
      sandbox,
      services: { postgres, redis },
      entities: names.map(name =>
        component(name, {
          'argocd/app-selector': `app.kubernetes.io/name=${name}`,
        }),
      ),
      dir,
      apiToken,
    });
    replicas = pair.replicas;
    drop = () => pair.databases.drop();
    const gitopsDb = pair.databases.plugin('gitops');

    const tagOf = (repo: string, env: string) =>
      tagInGit(sandboxDir, repo, `chart/values-${env}.yaml`);
    // Dev and staging run different versions: promotions into prod alternate their
    // source, so every one changes prod.
    for (const [i, name] of names.entries()) {
      const repo = `${name}-config`;
      if ((await tagOf(repo, 'dev')) === (await tagOf(repo, 'staging')))
        await newVersionInDev(sandbox, name, repo, `beefed${i}`);
    }
    const bases = await Promise.all(
      names.map(name =>
        gitIn(sandboxDir, `${name}-config`, 'rev-parse', 'main'),
      ),
    );
    const run = randomBytes(4).toString('hex');
    const start = process.hrtime.bigint();
    const answers = await Promise.all(
      names.map(async (name, s) => {
        const repo = `${name}-config`;
        const offset =
          (await tagOf(repo, 'prod')) === (await tagOf(repo, 'dev')) ? 1 : 0;
        const got: number[] = [];
        for (let j = 0; j < PER_ENTITY; j++) {
          const answer = await replicaApi(
            replicas[(j + s) % 2],
            apiToken,
            `/entities/component/default/${name}/promotions`,
            {
              from: (j + offset) % 2 === 0 ? 'dev' : 'staging',
              to: 'prod',
              idempotencyKey: `bench-${run}-${name}-${j}`,
            },
          );
          if (answer.status !== 201)
            throw new Error(
              `promotion ${j} of ${name}: ${answer.status} ${JSON.stringify(
                answer.body,
              )}`,
            );
          got.push(answer.status);
        }
        return got;
      }),
    );
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const promotions = answers.flat().length;

    // No lost update: one commit per promotion on each repository, one record per key.
    let commits = 0;
    for (const [i, name] of names.entries()) {
      const log = await gitIn(
        sandboxDir,
        `${name}-config`,
        'rev-list',
        `${bases[i].trim()}..main`,
      );
      commits += log.trim().split('\n').filter(Boolean).length;
    }
    const records = await gitopsDb('gitops_promotions')
      .where('idempotency_key', 'like', `bench-${run}-%`)
      .where({ status: 'committed' });
    if (commits !== promotions || records.length !== promotions) {
      throw new Error(
        `lost updates: ${promotions} promotions answered, ${commits} commits, ${records.length} committed records`,
      );
    }
    return [
      {
        scenario: SCENARIO,
        metric: `promotions into prod, alternating replicas, two entities at once (${promotions} in all, each one commit)`,
        value: `${(promotions / seconds).toFixed(2)} /s (${seconds.toFixed(
          1,
        )} s)`,
      },
      {
        scenario: SCENARIO,
        metric: 'commits / committed records / promotions answered 201',
        value: `${commits} / ${records.length} / ${promotions}`,
        target: 'all equal (no lost update)',
      },
    ];
  } finally {
    for (const replica of replicas) replica.kill();
    await Promise.all(replicas.map(r => r.exited));
    await sandbox.stop().catch(() => undefined);
    await drop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
