import { Entity } from '@backstage/catalog-model';
import { LoggerService } from '@backstage/backend-plugin-api';
import { isImageRunning } from '@gitops-backstage/plugin-gitops-common';
import { ConfigRepoWriter } from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import { DeploymentStatusService } from '../DeploymentStatus/DeploymentStatusService';
import {
  ImageKeys,
  imageIn,
  scalar,
  valueAt,
} from '../DeploymentStatus/desiredState';
import { safeParse, versionOf } from './plan';
import { pullRequestBranch, Row, TABLE, WRITE_LEASE_MS } from './records';
/** Unsettled rows looked at per pass when the pass is bounded. */
const CANDIDATES = 200;
/** How far before its record an interrupted promotion's commit is looked for. */
const CLOCK_SKEW_MS = 10 * 60_000;

type Outcome = Partial<Pick<Row, 'status' | 'commit_sha' | 'pr_url'>> & {
  status: string;
  message: string;
};

/**
 * Brings records up to what Git and the SCM say: a write whose replica stopped or was
 * killed, or whose push timed out (`requested`, its lease lapsed), a pull request that
 * was merged or closed (`pr-opened`), a commit its environment now runs (`committed` →
 * `deployed`).
 */
export class PromotionSettler {
  /** When each unsettled record was last asked about: the longest-waiting go first. */
  private readonly askedAt = new Map<string, number>();

  constructor(
    private readonly options: {
      db: Knex;
      status: DeploymentStatusService;
      writerFor: (repoURL: string) => ConfigRepoWriter;
      keys: ImageKeys;
      logger: LoggerService;
      /** A record asked about is not asked again sooner (SCM rate limits). */
      askAgainMs: number;
      now: () => Date;
    },
  ) {}

  /**
   * Settles unsettled records (of one entity, or all), one at a time, at most `limit`
   * of them (all when absent). A record whose SCM cannot answer now waits for the
   * next pass.
   */
  async settle(
    options: {
      entityRef?: string;
      limit?: number;
      /** Only writes whose writer is gone, not open pull requests (no SCM is asked about those). */
      interruptedOnly?: boolean;
    } = {},
  ) {
    const { db, logger, askAgainMs } = this.options;
    const now = this.options.now().getTime();
    // A write whose lease lapsed: its replica stopped or was killed mid-write.
    const interrupted = (q: Knex.QueryBuilder) =>
      q
        .where({ status: 'requested' })
        .andWhere('updated_at', '<', new Date(now - WRITE_LEASE_MS));
    let query = db<Row>(TABLE)
      .where(q =>
        options.interruptedOnly
          ? interrupted(q)
          : q.where({ status: 'pr-opened' }).orWhere(interrupted),
      )
      .orderBy('updated_at', 'asc');
    if (options.entityRef)
      query = query.andWhere({ entity_ref: options.entityRef });
    if (options.limit !== undefined) query = query.limit(CANDIDATES);
    const asked = (row: Row) => this.askedAt.get(row.id) ?? 0;
    const due = (await query)
      .filter(row => now - asked(row) >= askAgainMs)
      .sort((a, b) => asked(a) - asked(b))
      .slice(0, options.limit);
    for (const row of due) {
      this.askedAt.set(row.id, now);
      let outcome: Outcome | undefined;
      try {
        outcome = await this.outcome(row);
      } catch (error) {
        logger.warn(`Cannot settle promotion ${row.id} yet: ${error}`);
        continue;
      }
      if (!outcome) continue;
      this.askedAt.delete(row.id);
      await db<Row>(TABLE)
        .where({ id: row.id, status: row.status })
        .update({ ...outcome, updated_at: this.options.now() });
    }
  }

  /** Marks committed records deployed where their environment runs the version now. */
  async markDeployed(entity: Entity, rows: Row[]) {
    const committed = rows.filter(r => r.status === 'committed');
    if (committed.length === 0) return;
    const view = await this.options.status.entityStatus(entity);
    for (const row of committed) {
      const env = view.environments.find(
        e => e.environment === row.to_environment,
      );
      const image = env?.desired?.image;
      const runs = this.isChartRecord(row)
        ? env?.chart?.running === row.version
        : env &&
          image &&
          versionOf(image) === row.version &&
          isImageRunning(image, env.live.images);
      if (runs) {
        row.status = 'deployed';
        row.updated_at = this.options.now();
        await this.options
          .db<Row>(TABLE)
          .where({ id: row.id })
          .update({ status: 'deployed', updated_at: row.updated_at });
      }
    }
  }

  /** A record of a chart version's move: its key is not the image's. */
  private isChartRecord(row: Row) {
    const { keys } = this.options;
    return (
      row.value_key !== null &&
      row.value_key !== keys.tag &&
      row.value_key !== keys.digest
    );
  }

  /** Whether the file written pins the record's version, read as the status reads it. */
  private pinned(text: string, row: Row) {
    const parsed = safeParse(text);
    return this.isChartRecord(row)
      ? scalar(valueAt(parsed, row.value_key!)) === row.version
      : versionOf(imageIn(parsed, this.options.keys)) === row.version;
  }

  /** What became of one record, or undefined while it is still under way. */
  private async outcome(row: Row): Promise<Outcome | undefined> {
    const writer = this.options.writerFor(row.repo_url!);
    if (row.method === 'pull-request') {
      if (!writer.pullRequestState) {
        return row.status === 'requested'
          ? {
              status: 'failed',
              message: `Interrupted while opening its pull request (backend restart); writer "${
                writer.id
              }" cannot tell whether branch ${pullRequestBranch(row)} has one`,
            }
          : undefined;
      }
      const pr = await writer.pullRequestState({
        repoURL: row.repo_url!,
        branch: pullRequestBranch(row),
      });
      switch (pr.state) {
        case 'merged':
          return {
            status: 'committed',
            commit_sha: pr.commit,
            pr_url: pr.url,
            message: `Pull request ${pr.url} merged as ${pr.commit.slice(
              0,
              7,
            )}`,
          };
        case 'closed':
          return {
            status: 'failed',
            pr_url: pr.url,
            message: `Pull request ${pr.url} was closed without merging`,
          };
        case 'open':
          return row.status === 'requested'
            ? {
                status: 'pr-opened',
                pr_url: pr.url,
                message: `Interrupted after opening pull request ${pr.url} (backend restart)`,
              }
            : undefined;
        default:
          return row.status === 'requested'
            ? {
                status: 'failed',
                message:
                  'Interrupted before its pull request was opened (backend restart); nothing was merged',
              }
            : undefined;
      }
    }
    // A commit: found by its Promotion-Id trailer where the writer can look for it,
    // else the version in the file (read as the desired state is) means the push landed.
    const location = { repoURL: row.repo_url!, branch: row.branch! };
    const landed = writer.findCommit
      ? await writer.findCommit(
          location,
          `Promotion-Id: ${row.id}`,
          // Made on the writing replica's clock: room for skew between replicas.
          new Date(new Date(row.created_at).getTime() - CLOCK_SKEW_MS),
        )
      : this.pinned(
          await writer.read({ ...location, file: row.values_file! }),
          row,
        );
    if (!landed) {
      return {
        status: 'failed',
        message:
          'Interrupted before its commit (backend restart); nothing was written',
      };
    }
    return {
      status: 'committed',
      ...(typeof landed === 'string' && { commit_sha: landed }),
      message:
        typeof landed === 'string'
          ? `Interrupted after its push (backend restart); commit ${landed.slice(
              0,
              7,
            )} set ${row.version} in ${row.values_file}`
          : `Interrupted after its push (backend restart); ${row.values_file} has ${row.version}`,
    };
  }
}
