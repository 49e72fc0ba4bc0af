/* eslint-disable no-console */
// What a promotion carries and how delivery performs:
// - the Promote dialog's change log for 500 commits between two versions, over plain
//   Git from the sandbox's Git server: cold (a fresh service: the bounded fetch, the
//   tags, the walk) and warm (the same pair again: the cache);
// - the DORA endpoint for 1,000 services × 90 days of recorded deployments (one a day
//   each, some failed and restored, two commits each), through the real backend over
//   HTTP: the first request (the database read) and the next ones (warm).
// Each answer is checked (500 commits; 1,000 entities and 90,000 deployments) so each
// figure is of a real answer.
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { startGitServer } from '@gitops-backstage/gitops-sandbox';
import { GitCredentialsResolver } from '@gitops-backstage/plugin-gitops-node';
import knexFactory from 'knex';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import gitopsPlugin from '@gitops-backstage/plugin-gitops-backend';
import { ChangeLogService } from '../plugins/gitops-backend/src/services/ChangeLog/ChangeLogService';
import { GitCommits } from '../plugins/gitops-backend/src/services/ChangeLog/gitCommits';
import type { Result } from './status';

const exec = promisify(execFile);
const COMMITS = 500;
const SERVICES = 1000;
const DAYS = 90;

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

async function timed<T>(run: () => Promise<T>) {
  const start = process.hrtime.bigint();
  const value = await run();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

function rows(
  scenario: string,
  metric: string,
  times: number[],
  target: string,
) {
  const sorted = [...times].sort((a, b) => a - b);
  return [50, 95].map(p => ({
    scenario,
    metric: `${metric} p${p} (${times.length} runs)`,
    value: `${percentile(sorted, p).toFixed(1)} ms`,
    target,
  }));
}

/** An app repository of COMMITS + 1 commits, tagged v1.0.0 at the first and v2.0.0 at the last. */
async function changeLogScenario(): Promise<Result[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-changelog-'));
  const token = 'bench';
  const server = await startGitServer({ root: path.join(dir, 'repos'), token });
  try {
    await server.createRepository('app');
    const work = path.join(dir, 'work');
    await fs.mkdir(work);
    const git = (...args: string[]) =>
      exec(
        'git',
        ['-c', 'user.name=Dev', '-c', 'user.email=d@example.com', ...args],
        {
          cwd: work,
        },
      );
    await git('init', '--quiet', '--initial-branch=main');
    // fast-import: 501 commits, each touching one file, in one process.
    const stream: string[] = [];
    for (let i = 0; i <= COMMITS; i++) {
      const text = `change ${i}\n`;
      const message =
        i % 5 === 0
          ? `Merge pull request #${i} from team/f${i}\n\nFeature ${i}`
          : `CHK-${i} change ${i} (#${i})`;
      stream.push(
        'commit refs/heads/main',
        `committer Dev <d@example.com> ${1_700_000_000 + i * 600} +0000`,
        `data ${Buffer.byteLength(message)}`,
        message,
        `M 644 inline src/file-${i % 50}.txt`,
        `data ${Buffer.byteLength(text)}`,
        text,
        '',
      );
    }
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        'git',
        ['fast-import', '--quiet'],
        { cwd: work },
        error => (error ? reject(error) : resolve()),
      );
      child.stdin!.end(`${stream.join('\n')}\n`);
    });
    await git('tag', 'v1.0.0', `main~${COMMITS}`);
    await git('tag', 'v2.0.0', 'main');
    const url = server.repoUrl('app');
    await git(
      'push',
      '--quiet',
      url.replace('http://', `http://x:${token}@`),
      'main',
      '--tags',
    );
    const config = new ConfigReader({
      gitops: {
        git: { credentials: [{ host: new URL(url).host, password: token }] },
      },
    });
    const request = {
      repository: url,
      image: 'registry.example.com/app',
      from: 'v1.0.0',
      to: 'v2.0.0',
    };
    const fresh = () => {
      const credentials = new GitCredentialsResolver(config);
      const source = new GitCommits({
        credentials,
        timeoutMs: 30_000,
        depth: 1000,
      });
      return {
        source,
        service: new ChangeLogService({
          sources: [source],
          registries: [],
          credentials,
          maxCommits: 250,
          timeoutMs: 30_000,
        }),
      };
    };
    const check = (log: Awaited<ReturnType<ChangeLogService['changeLog']>>) => {
      if (log.error || log.total !== COMMITS || log.commits.length !== 250) {
        throw new Error(
          `unexpected change log: ${JSON.stringify(log).slice(0, 300)}`,
        );
      }
    };
    const cold: number[] = [];
    const warm: number[] = [];
    for (let run = 0; run < 5; run++) {
      const { source, service } = fresh();
      const first = await timed(() => service.changeLog(request));
      check(first.value);
      cold.push(first.ms);
      for (let i = 0; i < 10; i++) {
        const again = await timed(() => service.changeLog(request));
        check(again.value);
        warm.push(again.ms);
      }
      await source.close();
    }
    const scenario = `change log (ChangeLogService over plain Git from the sandbox's Git server; ${COMMITS} commits between two release tags, 250 listed)`;
    return [
      ...rows(
        scenario,
        'cold: a fresh service (tags listed, history fetched, walked)',
        cold,
        '≤ 1 s',
      ),
      ...rows(scenario, 'warm: the same pair again', warm, '≤ 50 ms'),
    ];
  } finally {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function doraScenario(): Promise<Result[]> {
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
  });
  const entities = Array.from({ length: SERVICES }, (_, i) => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: {
      name: `svc-${i}`,
      namespace: 'default',
      annotations: { 'argocd/app-selector': `app.kubernetes.io/name=svc-${i}` },
    },
    spec: { type: 'service', owner: `team-${i % 20}`, lifecycle: 'production' },
  }));
  const { server } = await startTestBackend({
    features: [
      gitopsPlugin,
      catalogServiceMock.factory({ entities }),
      mockServices.database.factory({ knex: db }),
      mockServices.rootConfig.factory({
        data: { gitops: { environments: ['dev', 'prod'] } },
      }),
    ],
  });
  try {
    // 90 days of one deployment a day per service, every 10th failed and restored
    // after 40 minutes, each shipping two commits.
    const now = Date.now();
    const batch = [];
    for (let s = 0; s < SERVICES; s++) {
      for (let d = 0; d < DAYS; d++) {
        const deployedAt = now - (d + 0.5) * 86_400_000;
        const failed = (s + d) % 10 === 0;
        batch.push({
          entity_ref: `component:default/svc-${s}`,
          environment: 'prod',
          source_id: 'main',
          application: `argocd/svc-${s}-prod`,
          history_id: d,
          revision: `r${d}`,
          version: `v${d}`,
          deployed_at: new Date(deployedAt),
          failed_at: failed ? new Date(deployedAt + 1_800_000) : null,
          failure_kind: failed ? 'degraded' : null,
          restored_at: failed ? new Date(deployedAt + 4_200_000) : null,
          commit_times: JSON.stringify([
            new Date(deployedAt - 7_200_000).toISOString(),
            new Date(deployedAt - 30_000_000).toISOString(),
          ]),
        });
      }
    }
    for (let i = 0; i < batch.length; i += 500) {
      await db('gitops_deployments').insert(batch.slice(i, i + 500));
    }
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const get = async () => {
      const res = await fetch(
        `${base}/api/gitops/dora?environment=prod&days=${DAYS}`,
      );
      const body = await res.json();
      const total = body.entities?.reduce(
        (sum: number, e: any) => sum + e.figures.deployments,
        0,
      );
      if (
        body.entities?.length !== SERVICES ||
        total !== SERVICES * DAYS ||
        body.teams.length !== 20
      ) {
        throw new Error(
          `unexpected answer: ${JSON.stringify(body).slice(0, 300)}`,
        );
      }
      return body;
    };
    const first = await timed(get);
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) warm.push((await timed(get)).ms);
    const scenario = `DORA endpoint (GET /api/gitops/dora over HTTP; ${SERVICES.toLocaleString(
      'en-US',
    )} services × ${DAYS} days, ${(SERVICES * DAYS).toLocaleString(
      'en-US',
    )} deployments in SQLite, 20 teams)`;
    return [
      {
        scenario,
        metric: 'first request (database read, every figure computed)',
        value: `${first.ms.toFixed(1)} ms`,
        target: '',
      },
      ...rows(scenario, 'warm', warm, '≤ 300 ms'),
    ];
  } finally {
    server.close();
    await db.destroy();
  }
}

export async function deliveryScenario(): Promise<Result[]> {
  return [...(await changeLogScenario()), ...(await doraScenario())];
}

// `node --require @backstage/cli-node/config/nodeTransform.cjs bench/delivery.ts`
// runs this scenario alone.
if (require.main === module) {
  deliveryScenario().then(
    result => console.table(result),
    error => {
      console.error(error);
      process.exit(1);
    },
  );
}
