import { changeLogMarkdown } from '../ChangeLog/changeLogMarkdown';
import { randomUUID } from 'node:crypto';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError } from '@backstage/errors';
import { PromotionResult } from '@gitops-backstage/plugin-gitops-common';
import {
  FileWrite,
  filesOfWrite,
  GitopsSourceError,
  ValuesFileChange,
  ValuesFileWriteResult,
} from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import { DeploymentStatusService } from '../DeploymentStatus/DeploymentStatusService';
import { unifiedDiff } from './ManifestPreview';
import { Plan } from './plan';
import {
  pullRequestBranch,
  Row,
  TABLE,
  toRecord,
  WRITE_HEARTBEAT_MS,
} from './records';
import { Reviewers } from './reviewers';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/**
 * Writes a plan and keeps its record true to Git: requested → committed / pr-opened,
 * or failed with the reason when nothing was written. Once the writer has pushed, the
 * record never says failed, whatever fails afterwards.
 */
export class PromotionWriter {
  constructor(
    private readonly options: {
      db: Knex;
      status: DeploymentStatusService;
      reviewers: (entity: Entity) => Promise<Reviewers>;
      logger: LoggerService;
      /** How long a retry waits for the first request with its idempotency key. */
      replayWaitMs: number;
      now: () => Date;
    },
  ) {}

  async write(
    plan: Plan,
    entity: Entity,
    actor: string,
    idempotencyKey?: string,
  ): Promise<PromotionResult> {
    const { db, status, logger, now } = this.options;
    const id = randomUUID();
    const row: Row = {
      id,
      kind: plan.kind,
      idempotency_key: idempotencyKey ?? null,
      entity_ref: plan.entityRef,
      from_environment: plan.from,
      to_environment: plan.to,
      version: plan.version,
      previous_version: plan.previous ?? null,
      method: plan.method,
      status: 'requested',
      commit_sha: null,
      pr_url: null,
      message: null,
      actor,
      repo_url: plan.change.repoURL,
      branch: plan.change.branch,
      values_file: plan.change.file,
      value_key: plan.valueKey,
      created_at: now(),
      updated_at: now(),
    };
    try {
      await db<Row>(TABLE).insert(row);
    } catch (error) {
      // The same key raced us in: answer what that request ends with.
      const earlier =
        idempotencyKey &&
        (await this.replay(idempotencyKey, entity, plan.from, plan.to));
      if (earlier) return earlier;
      throw error;
    }

    // The lease on the record: while it is renewed, no replica settles it from Git.
    const heartbeat = setInterval(() => {
      db<Row>(TABLE)
        .where({ id, status: 'requested' })
        .update({ updated_at: now() })
        .catch(error =>
          logger.warn(`Could not renew the lease of promotion ${id}: ${error}`),
        );
    }, WRITE_HEARTBEAT_MS);
    heartbeat.unref?.();
    let result: ValuesFileWriteResult;
    try {
      result = await this.send(plan, row, entity);
    } catch (error) {
      if (error instanceof GitopsSourceError && error.code === 'timeout') {
        // The push may still land: the record stays requested, and once its lease
        // lapses it is settled from what Git has.
        throw new GitopsSourceError(
          'timeout',
          `${error.message}; whether promotion ${id} was written is settled from Git within a minute`,
        );
      }
      await this.failed(id, error as Error);
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
    const title = plan.change.message.split('\n')[0];
    if (!result.commit) {
      const error = new ConflictError(
        `${plan.to} already has ${plan.version} in ${plan.change.file}`,
      );
      await this.failed(id, error);
      throw error;
    }

    // The change is in Git now (pushed, or on an open pull request): nothing that
    // fails from here on may make the record say otherwise.
    const done = {
      status: plan.method === 'pull-request' ? 'pr-opened' : 'committed',
      commit_sha: result.commit,
      pr_url: result.pullRequestUrl ?? null,
      message: title,
      updated_at: now(),
    };
    try {
      await db<Row>(TABLE).where({ id }).update(done);
    } catch (error) {
      // Left `requested`, the record is settled from Git later.
      logger.error(
        `Promotion ${id} was written (${result.commit}${
          result.pullRequestUrl ? `, ${result.pullRequestUrl}` : ''
        }) but its record could not be updated: ${error}`,
      );
    }
    try {
      await status.forget(entity);
    } catch (error) {
      logger.warn(`Could not forget the cached view after ${id}: ${error}`);
    }
    return {
      ...toRecord({ ...row, ...done }),
      diff: diffOf(filesOfWrite(plan.change, result)),
      gates: plan.gates,
      dryRun: false,
      moves: plan.moves,
      ...(plan.changeLog && { changeLog: plan.changeLog }),
    };
  }

  /**
   * Commits, or opens the pull request. An error the plan's edit throws (the text would
   * not pin the version) comes out as it is, whatever the writer makes of it.
   */
  private async send(
    plan: Plan,
    row: Row,
    entity: Entity,
  ): Promise<ValuesFileWriteResult> {
    let refused: unknown;
    const noting =
      (edit: (text: string) => string) =>
      (text: string): string => {
        try {
          return edit(text);
        } catch (error) {
          refused = error;
          throw error;
        }
      };
    // The id as a trailer makes each request's commit distinct: identical commits of
    // racing requests would otherwise all "win" the push as one.
    const change: ValuesFileChange = {
      ...plan.change,
      message: `${plan.change.message}\n\nPromotion-Id: ${row.id}`,
      edit: noting(plan.change.edit),
      ...(plan.change.alsoEdit && {
        alsoEdit: plan.change.alsoEdit.map(e => ({
          file: e.file,
          edit: noting(e.edit),
        })),
      }),
    };
    try {
      if (plan.method === 'commit') return await plan.writer.commit(change);
      return await plan.writer.openPullRequest!(change, {
        branch: pullRequestBranch(row),
        title: change.message.split('\n')[0],
        body: [
          change.message.split('\n').slice(2).join('\n'),
          plan.changeLog && changeLogMarkdown(plan.changeLog, plan.to),
          `Opened by the GitOps plugin of Backstage: merging it deploys ${plan.version} to ${plan.to}.`,
        ]
          .filter(Boolean)
          .join('\n\n'),
        reviewers: await this.options.reviewers(entity),
      });
    } catch (error) {
      throw refused ?? error;
    }
  }

  /** Nothing was written: the record says why (a failing database must not hide it). */
  private async failed(id: string, error: Error) {
    try {
      await this.options.db<Row>(TABLE).where({ id }).update({
        status: 'failed',
        message: error.message,
        updated_at: this.options.now(),
      });
    } catch (dbError) {
      this.options.logger.error(
        `Promotion ${id} failed (${error.message}) and its record could not be updated: ${dbError}`,
      );
    }
  }

  /**
   * The earlier request with this key, once it has ended (a retry while it is being
   * written waits for it); a key reused for another promotion is a conflict.
   */
  async replay(
    key: string,
    entity: Entity,
    from: string,
    to: string,
  ): Promise<PromotionResult | undefined> {
    const { db, replayWaitMs } = this.options;
    const deadline = Date.now() + replayWaitMs;
    for (;;) {
      const earlier = await db<Row>(TABLE)
        .where({ idempotency_key: key })
        .first();
      if (!earlier) return undefined;
      if (
        earlier.entity_ref !== stringifyEntityRef(entity) ||
        earlier.from_environment !== from ||
        earlier.to_environment !== to
      ) {
        throw new ConflictError(
          `Idempotency key ${key} was used for another promotion`,
        );
      }
      if (earlier.status === 'requested' && Date.now() > deadline) {
        throw new ConflictError(
          `The promotion with idempotency key ${key} is still being written; ask again to get its result`,
        );
      }
      if (earlier.status !== 'requested') {
        return {
          ...toRecord(earlier),
          diff: '',
          gates: [],
          dryRun: false,
          replayed: true,
        };
      }
      await sleep(100);
    }
  }
}

/** The unified diff of every file a write changes. */
export function diffOf(files: FileWrite[]) {
  return files
    .filter(f => f.before !== f.after)
    .map(f => unifiedDiff(`a/${f.file}`, `b/${f.file}`, f.before, f.after))
    .join('');
}
