import { mockServices } from '@backstage/backend-test-utils';
import {
  ChangeLog,
  EntityDeploymentStatus,
  EnvironmentStatus,
} from '@gitops-backstage/plugin-gitops-common';
import { Knex } from 'knex';
import {
  entity as plainEntity,
  promotionsDb,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';
import { ChangeLogService } from '../ChangeLog/ChangeLogService';
import { DEPLOYMENTS, DeploymentRecorder } from './DeploymentRecorder';
import { DoraService } from './DoraService';

const IMAGE = 'registry.example.com/checkout/service-a';
const T0 = Date.parse('2026-11-20T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms);
const iso = (ms: number) => at(ms).toISOString();

const entity = {
  ...plainEntity,
  metadata: {
    ...plainEntity.metadata,
    annotations: {
      'gitops/app-repository': 'https://ghe.example.test/checkout/service-a',
    },
  },
};

/** What the app repository says each pair of versions ships: its commits' times. */
const SHIPPED: Record<string, number[]> = {
  'v1..v2': [1 * DAY, 1 * DAY + 12 * HOUR],
  'v2..v3': [4 * DAY],
  'v2..v4': [6 * DAY, 7 * DAY],
};

function changeLogs(): ChangeLogService {
  return {
    changeLog: async ({ from, to }: { from: string; to: string }) => {
      const times = SHIPPED[`${from}..${to}`];
      return {
        direction: times ? 'ahead' : 'behind',
        commits: (times ?? []).map((t, i) => ({
          sha: `${i}`,
          subject: 'a change',
          date: iso(t),
          issueKeys: [],
        })),
        total: times?.length ?? 0,
      } as Partial<ChangeLog> as ChangeLog;
    },
  } as unknown as ChangeLogService;
}

/** prod as Argo CD shows it: its history (newest first), what runs, its health. */
function prod(options: {
  history: Array<[id: number, deployedAt: number, revision: string]>;
  version: string;
  health?: string;
  operation?: { phase: string; startedAt: number; finishedAt: number };
}): EntityDeploymentStatus {
  const history = options.history.map(([id, t, revision]) => ({
    id,
    revision,
    deployedAt: iso(t),
  }));
  const env = {
    environment: 'prod',
    instance: 'prod',
    application: { name: 'service-a-prod', namespace: 'argocd', project: 'x' },
    desired: {
      repoURL: 'https://ghe.example.test/checkout/service-a-config',
      targetRevision: 'main',
      image: { repository: IMAGE, tag: options.version },
    },
    writable: true,
    live: {
      syncStatus: 'Synced',
      health: { status: options.health ?? 'Healthy' },
      images: [`${IMAGE}:${options.version}`],
      automatedSync: false,
      deployed: history[0],
      history,
      ...(options.operation && {
        operation: {
          phase: options.operation.phase,
          startedAt: iso(options.operation.startedAt),
          finishedAt: iso(options.operation.finishedAt),
        },
      }),
    },
  } as EnvironmentStatus;
  return {
    entityRef: 'component:default/service-a',
    environmentOrder: ['dev', 'staging', 'prod'],
    environments: [env],
    errors: [],
  };
}

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  let clock = 0;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  const recorder = () =>
    new DeploymentRecorder({
      db,
      logger: mockServices.logger.mock(),
      failureWindowMs: 24 * HOUR,
      changeLogs: changeLogs(),
      now: () => at(clock),
    });
  const observe = async (
    time: number,
    view: EntityDeploymentStatus,
    by = recorder(),
  ) => {
    clock = time;
    await by.record(entity, view);
  };

  /**
   * Five deployments in ten days: a Degraded spell of 30 minutes after the second, a
   * rollback of the third (restored by the fourth, an hour later), a failed sync after
   * the fifth, not restored yet.
   */
  async function scriptedHistory() {
    const h1: [number, number, string] = [1, 0, 'r1'];
    const h2: [number, number, string] = [2, 2 * DAY, 'r2'];
    const h3: [number, number, string] = [3, 5 * DAY, 'r3'];
    const h4: [number, number, string] = [4, 5 * DAY + 3.5 * HOUR, 'r2'];
    const h5: [number, number, string] = [5, 8 * DAY, 'r5'];
    await observe(1 * HOUR, prod({ history: [h1], version: 'v1' }));
    await observe(2 * DAY + HOUR, prod({ history: [h2, h1], version: 'v2' }));
    await observe(
      2 * DAY + 2 * HOUR,
      prod({ history: [h2, h1], version: 'v2', health: 'Degraded' }),
    );
    await observe(
      2 * DAY + 2.5 * HOUR,
      prod({ history: [h2, h1], version: 'v2' }),
    );
    await observe(
      5 * DAY + HOUR,
      prod({ history: [h3, h2, h1], version: 'v3' }),
    );
    clock = 5 * DAY + 3 * HOUR;
    await recorder().recordRollback('component:default/service-a', 'prod');
    await observe(
      5 * DAY + 4 * HOUR,
      prod({ history: [h4, h3, h2, h1], version: 'v2' }),
    );
    await observe(
      8 * DAY + HOUR,
      prod({ history: [h5, h4, h3, h2, h1], version: 'v4' }),
    );
    await observe(
      8 * DAY + 5 * HOUR,
      prod({
        history: [h5, h4, h3, h2, h1],
        version: 'v4',
        operation: {
          phase: 'Failed',
          startedAt: 8 * DAY + 4 * HOUR,
          finishedAt: 8 * DAY + 4 * HOUR + 10 * 60_000,
        },
      }),
    );
  }

  it('computes the four figures of a scripted history as worked out by hand', async () => {
    await scriptedHistory();
    const figures = await new DoraService({
      db,
      now: () => at(10 * DAY),
    }).entityFigures('component:default/service-a', 'prod', 30);
    expect(figures).toEqual({
      environment: 'prod',
      windowDays: 30,
      from: iso(-20 * DAY),
      to: iso(10 * DAY),
      // 5 in 30 days: 0.17 a day, at least once a week: high.
      deployments: 5,
      deploymentFrequency: { perDay: 0.17, band: 'high' },
      // v1→v2 shipped commits 24 h and 12 h old, v2→v3 one 24 h old, v2→v4 ones 48 h
      // and 24 h old; the rollback to v2 shipped none: [12, 24, 24, 24, 48].
      leadTime: { commits: 5, medianHours: 24, p90Hours: 48, band: 'high' },
      // The Degraded spell, the rollback, the failed sync: 3 of 5.
      changeFailureRate: { failed: 3, rate: 0.6, band: 'low' },
      // 0.5 h (Healthy again) and 1 h (the rollback's deployment Healthy); the failed
      // sync is still open.
      timeToRestore: { restored: 2, open: 1, medianHours: 0.5, band: 'elite' },
      trend: [
        { weekStart: iso(-20 * DAY), deployments: 0, failed: 0 },
        { weekStart: iso(-13 * DAY), deployments: 0, failed: 0 },
        { weekStart: iso(-6 * DAY), deployments: 1, failed: 0 },
        { weekStart: iso(1 * DAY), deployments: 3, failed: 2 },
        { weekStart: iso(8 * DAY), deployments: 1, failed: 1 },
      ],
    });
  });

  it('keeps what it recorded: seen again (another replica, a restart) nothing doubles, and the figures stay', async () => {
    await scriptedHistory();
    const before = await db(DEPLOYMENTS).orderBy('history_id');
    // A second replica sees the same last state; Argo CD has since dropped old entries.
    await observe(
      8 * DAY + 6 * HOUR,
      prod({ history: [[5, 8 * DAY, 'r5']], version: 'v4' }),
      recorder(),
    );
    expect(await db(DEPLOYMENTS).orderBy('history_id')).toEqual(before);
    const figures = await new DoraService({
      db,
      now: () => at(10 * DAY),
    }).entityFigures('component:default/service-a', 'prod', 30);
    expect(figures).toMatchObject({
      deployments: 5,
      changeFailureRate: { failed: 3 },
    });
  });

  it('a Degraded state past the failure window, or of another environment, fails nothing', async () => {
    await observe(HOUR, prod({ history: [[1, 0, 'r1']], version: 'v1' }));
    await observe(
      2 * DAY,
      prod({ history: [[1, 0, 'r1']], version: 'v1', health: 'Degraded' }),
    );
    const [row] = await db(DEPLOYMENTS);
    expect(row.failed_at).toBeNull();
    const figures = await new DoraService({
      db,
      now: () => at(3 * DAY),
    }).entityFigures('component:default/service-a', 'staging', 30);
    expect(figures.deployments).toBe(0);
  });
});
