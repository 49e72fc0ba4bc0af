import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  EntityDeploymentStatus,
  EnvironmentStatus,
  parseImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import { Knex } from 'knex';
import pLimit from 'p-limit';
import { appRepositoryOf } from '../ChangeLog/appRepository';
import { ChangeLogService } from '../ChangeLog/ChangeLogService';

export const DEPLOYMENTS = 'gitops_deployments';

export interface DeploymentRow {
  id: number;
  entity_ref: string;
  environment: string;
  source_id: string;
  application: string;
  history_id: number;
  revision: string;
  version: string | null;
  deployed_at: string | Date;
  failed_at: string | Date | null;
  failure_kind: 'degraded' | 'sync-failed' | 'rollback' | null;
  restored_at: string | Date | null;
  commit_times: string | null;
}

/** Errors a later pass may not get: the change log is read again then. */
const TRANSIENT = new Set(['timeout', 'unreachable', 'rate-limited']);

/**
 * Records each deployment of each environment as Argo CD's history shows it, into the
 * database, and what followed it: a Degraded state or a failed sync within the failure
 * window, a rollback (recordRollback), then the restore. Every write is idempotent
 * (history entries are unique per Application and id, a failure is set once), so
 * several replicas may record the same Application.
 */
export class DeploymentRecorder {
  constructor(
    private readonly options: {
      db: Knex;
      logger: LoggerService;
      /** A failure this long after a deployment still counts against it. */
      failureWindowMs: number;
      /** Lead times: the commits each deployment shipped. */
      changeLogs?: ChangeLogService;
      now?: () => Date;
    },
  ) {}

  private now() {
    return this.options.now?.() ?? new Date();
  }

  /** Records what an entity's status shows, environment by environment. */
  async record(entity: Entity, status: EntityDeploymentStatus) {
    const entityRef = stringifyEntityRef(entity);
    for (const env of status.environments) {
      if (env.error) continue;
      try {
        await this.recordEnvironment(entityRef, env);
        await this.readLeadTimes(entity, entityRef, env);
      } catch (error) {
        this.options.logger.warn(
          `Could not record the deployments of ${entityRef} in ${env.environment}: ${error}`,
        );
      }
    }
  }

  /** A rollback of `environment` marks its current deployment failed. */
  async recordRollback(entityRef: string, environment: string) {
    const now = this.now();
    const latest = await this.options
      .db<DeploymentRow>(DEPLOYMENTS)
      .where({ entity_ref: entityRef, environment })
      .orderBy('deployed_at', 'desc')
      .first();
    if (!latest) return;
    await this.fail(latest, 'rollback', now);
  }

  private async recordEnvironment(entityRef: string, env: EnvironmentStatus) {
    const { db } = this.options;
    const now = this.now();
    const where = {
      source_id: env.instance,
      application: `${env.application.namespace}/${env.application.name}`,
    };
    const running = runningVersion(env);
    const history = env.live.history.filter(
      h => Number.isInteger(h.id) && !Number.isNaN(Date.parse(h.deployedAt)),
    );
    if (history.length) {
      await db(DEPLOYMENTS)
        .insert(
          history.map(h => ({
            entity_ref: entityRef,
            environment: env.environment,
            ...where,
            history_id: h.id,
            revision: h.revision,
            version: h.id === env.live.deployed?.id ? running ?? null : null,
            deployed_at: new Date(h.deployedAt),
          })),
        )
        .onConflict(['source_id', 'application', 'history_id'])
        .ignore();
    }
    const rows: DeploymentRow[] = await db(DEPLOYMENTS)
      .where(where)
      .orderBy('deployed_at', 'desc')
      .limit(20);
    const [latest] = rows;
    if (!latest) return;
    // The version shows once the new pods run (it may not at the first sight).
    if (
      !latest.version &&
      running &&
      latest.history_id === env.live.deployed?.id
    ) {
      await db(DEPLOYMENTS)
        .where({ id: latest.id })
        .whereNull('version')
        .update({ version: running });
      latest.version = running;
    }
    const health = env.live.health.status;
    const operation = env.live.operation;
    const syncFailed =
      (operation?.phase === 'Failed' || operation?.phase === 'Error') &&
      Date.parse(operation.startedAt ?? '') > date(latest.deployed_at);
    if (health === 'Degraded') await this.fail(latest, 'degraded', now);
    else if (syncFailed) {
      await this.fail(
        latest,
        'sync-failed',
        new Date(operation?.finishedAt ?? now),
      );
    }
    if (health !== 'Healthy' || syncFailed) return;
    // Healthy again: a Degraded spell ends; a failed change ends with a newer deployment.
    for (const row of rows) {
      if (!row.failed_at || row.restored_at) continue;
      if (row.failure_kind !== 'degraded' && row.id === latest.id) continue;
      await db(DEPLOYMENTS)
        .where({ id: row.id })
        .whereNull('restored_at')
        .update({ restored_at: now });
    }
  }

  /** Marks a deployment failed once, when the failure falls in its window. */
  private async fail(
    row: DeploymentRow,
    kind: NonNullable<DeploymentRow['failure_kind']>,
    at: Date,
  ) {
    if (row.failed_at) return;
    if (at.getTime() - date(row.deployed_at) > this.options.failureWindowMs)
      return;
    await this.options
      .db(DEPLOYMENTS)
      .where({ id: row.id })
      .whereNull('failed_at')
      .update({ failed_at: at, failure_kind: kind });
    row.failed_at = at;
  }

  /**
   * The commit times each recorded version shipped: the change log from the version
   * before it in that environment.
   */
  private async readLeadTimes(
    entity: Entity,
    entityRef: string,
    env: EnvironmentStatus,
  ) {
    const { db, changeLogs } = this.options;
    const image =
      env.desired?.image?.repository ?? env.desired?.noVersionYet?.repository;
    let repository: string | undefined;
    try {
      repository = appRepositoryOf(entity);
    } catch {
      return;
    }
    if (!changeLogs || !repository || !image) return;
    const rows: DeploymentRow[] = await db(DEPLOYMENTS)
      .where({ entity_ref: entityRef, environment: env.environment })
      .whereNotNull('version')
      .orderBy('deployed_at', 'desc')
      .limit(20);
    for (const [i, row] of rows.entries()) {
      if (row.commit_times !== null) continue;
      const before = rows[i + 1];
      let times: string[] = [];
      if (before && before.version !== row.version) {
        const log = await changeLogs.changeLog({
          repository,
          image,
          from: before.version!,
          to: row.version!,
        });
        if (log.error && TRANSIENT.has(log.error.code)) continue;
        if (log.direction === 'ahead' || log.direction === 'diverged') {
          times = log.commits.flatMap(c => (c.date ? [c.date] : []));
        }
      }
      await db(DEPLOYMENTS)
        .where({ id: row.id })
        .whereNull('commit_times')
        .update({ commit_times: JSON.stringify(times) });
    }
  }
}

/**
 * One pass over the annotated entities, four at a time: each entity's status (memory
 * with the watch) recorded. An entity that takes longer than `entityTimeoutMs` is left
 * for the next pass; an aborted pass starts no more.
 */
export async function recordDeployments(options: {
  entities: Entity[];
  status: { entityStatus(entity: Entity): Promise<EntityDeploymentStatus> };
  recorder: DeploymentRecorder;
  signal?: AbortSignal;
  entityTimeoutMs: number;
}) {
  const { status, recorder, signal, entityTimeoutMs } = options;
  const limit = pLimit(4);
  await Promise.all(
    options.entities.map(entity =>
      limit(async () => {
        if (signal?.aborted) return;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timedOut = new Promise<void>(resolve => {
          timer = setTimeout(resolve, entityTimeoutMs);
        });
        await Promise.race([
          status
            .entityStatus(entity)
            .then(view => recorder.record(entity, view))
            .catch(() => undefined),
          timedOut,
        ]).finally(() => clearTimeout(timer));
      }),
    ),
  );
}

/** The version the environment runs: the tag (or digest) of its image among the running ones. */
function runningVersion(env: EnvironmentStatus): string | undefined {
  const repository = env.desired?.image?.repository;
  if (!repository) return undefined;
  for (const ref of env.live.images) {
    const image = parseImageReference(ref);
    if (image.repository === repository) return image.tag ?? image.digest;
  }
  return undefined;
}

function date(value: string | Date) {
  return new Date(value).getTime();
}
