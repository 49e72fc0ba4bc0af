import { randomUUID } from 'node:crypto';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError, InputError } from '@backstage/errors';
import {
  EnvironmentStatus,
  isImageRunning,
  PromotionRecord,
  PromotionResult,
} from '@gitops-backstage/plugin-gitops-common';
import { Knex } from 'knex';
import { GitopsConfig } from '../../config';
import { GitConfigRepoWriter } from '../ConfigRepo/GitConfigRepoWriter';
import { DeploymentStatusService } from '../DeploymentStatus/DeploymentStatusService';

const TABLE = 'gitops_promotions';

/** OCI tag and digest grammars: anything else must not reach a values file. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

export interface PromotionRequest {
  entity: Entity;
  from: string;
  to: string;
  /** Who asks (a user entity ref), for the commit and the audit trail. */
  actor: string;
  dryRun?: boolean;
  /** A retried request with the same key answers the first result and commits once. */
  idempotencyKey?: string;
}

type Row = {
  id: string;
  idempotency_key: string | null;
  entity_ref: string;
  from_environment: string;
  to_environment: string;
  version: string;
  previous_version: string | null;
  method: string;
  status: string;
  commit_sha: string | null;
  pr_url: string | null;
  message: string | null;
  actor: string;
  created_at: string | Date;
  updated_at: string | Date;
};

function toRecord(row: Row): PromotionRecord {
  return {
    id: row.id,
    entityRef: row.entity_ref,
    from: row.from_environment,
    to: row.to_environment,
    version: row.version,
    ...(row.previous_version && { previousVersion: row.previous_version }),
    method: row.method as PromotionRecord['method'],
    status: row.status as PromotionRecord['status'],
    ...(row.commit_sha && { commit: row.commit_sha }),
    ...(row.pr_url && { pullRequestUrl: row.pr_url }),
    ...(row.message && { message: row.message }),
    actor: row.actor,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The version an environment's config names: its tag, else its digest. */
function versionOf(env: EnvironmentStatus) {
  return env.desired?.image?.tag ?? env.desired?.image?.digest;
}

/**
 * Promotion the GitOps way: the version in environment A's values file is written
 * into environment B's values file at the same key, as a commit (or, later, a pull
 * request), after checking the policy and the gates; every request is recorded.
 */
export class PromotionService {
  constructor(
    private readonly options: {
      db: Knex;
      status: DeploymentStatusService;
      writer: GitConfigRepoWriter;
      config: GitopsConfig;
    },
  ) {}

  async promote(request: PromotionRequest): Promise<PromotionResult> {
    const { entity, from, to, actor, dryRun = false, idempotencyKey } = request;
    const { db, status, writer, config } = this.options;
    const entityRef = stringifyEntityRef(entity);

    if (idempotencyKey && !dryRun) {
      const earlier = await db<Row>(TABLE)
        .where({ idempotency_key: idempotencyKey })
        .first();
      if (earlier) {
        if (
          earlier.entity_ref !== entityRef ||
          earlier.from_environment !== from ||
          earlier.to_environment !== to
        ) {
          throw new ConflictError(
            `Idempotency key ${idempotencyKey} was used for another promotion`,
          );
        }
        return {
          ...toRecord(earlier),
          diff: '',
          dryRun: false,
          replayed: true,
        };
      }
    }

    // Gates are checked against fresh state, not a cached view.
    await status.forget(entity);
    const view = await status.entityStatus(entity);
    const order = view.environmentOrder;
    const source = view.environments.find(e => e.environment === from);
    const target = view.environments.find(e => e.environment === to);
    for (const [name, env] of [
      [from, source],
      [to, target],
    ] as const) {
      if (!env) {
        throw new InputError(
          `${entityRef} has no environment "${name}"; it has ${
            view.environments.map(e => e.environment).join(', ') || 'none'
          }`,
        );
      }
    }
    if (
      order.indexOf(to) !== order.indexOf(from) + 1 ||
      order.indexOf(from) < 0
    ) {
      throw new InputError(
        `Promotions go one step forward along ${order.join(
          ' → ',
        )}: ${from} → ${to} is not one`,
      );
    }
    const method =
      config.promotionMethods[to] ??
      (to === order[order.length - 1] ? 'pull-request' : 'commit');
    if (method !== 'commit') {
      throw new InputError(
        `Promotion to ${to} is by pull request, which needs a GitHub or GitLab config repository and is not available yet; set gitops.promotion.methods.${to}: commit to commit directly`,
      );
    }

    const version = versionOf(source!);
    if (!version || !source!.desired?.image) {
      throw new ConflictError(
        `Gate "source version known" refused: ${from} has no image version in its config (${
          source!.desired?.error?.message ?? 'unknown'
        })`,
      );
    }
    const image = source!.desired.image;
    if (
      image.digest ? !DIGEST.test(image.digest) : !TAG.test(image.tag ?? '')
    ) {
      throw new InputError(
        `${from}'s image version ${JSON.stringify(version)} in ${
          source!.desired.valuesFile
        } is not a valid ${
          image.digest
            ? 'OCI digest'
            : 'OCI tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})'
        }; fix it there before promoting`,
      );
    }
    this.checkGates(source!);
    const desired = target!.desired;
    if (!desired?.valuesFile) {
      throw new ConflictError(
        `Gate "target values file known" refused: ${to} has no values file with an image (${
          desired?.error?.message ?? 'unknown'
        })`,
      );
    }

    const keys = config.imageKeys;
    const values: Record<string, string> = image.digest
      ? { [keys.digest]: image.digest }
      : { [keys.tag]: image.tag! };
    if (desired.image?.repository !== image.repository)
      values[keys.repository] = image.repository;
    const previous = versionOf(target!);
    const message = `Promote ${
      entity.metadata.name
    } ${version} from ${from} to ${to}\n\n${to} ran ${
      previous ?? 'nothing'
    }. Requested by ${actor} in Backstage.`;
    const change = {
      repoURL: desired.repoURL,
      ref: desired.targetRevision,
      file: desired.valuesFile,
      values,
      message,
      author: { name: actor, email: 'backstage-gitops@noreply.local' },
    };

    if (dryRun) {
      const preview = await writer.commit({ ...change, dryRun: true });
      const now = new Date().toISOString();
      return {
        id: '',
        entityRef,
        from,
        to,
        version,
        ...(previous && { previousVersion: previous }),
        method,
        status: 'requested',
        actor,
        createdAt: now,
        updatedAt: now,
        diff: preview.diff,
        dryRun: true,
      };
    }

    const id = randomUUID();
    const now = new Date();
    await db<Row>(TABLE).insert({
      id,
      idempotency_key: idempotencyKey ?? null,
      entity_ref: entityRef,
      from_environment: from,
      to_environment: to,
      version,
      previous_version: previous ?? null,
      method,
      status: 'requested',
      actor,
      created_at: now,
      updated_at: now,
    });
    try {
      const result = await writer.commit(change);
      if (result.unchanged) {
        throw new ConflictError(
          `${to} already has ${version} in ${desired.valuesFile}`,
        );
      }
      await db<Row>(TABLE)
        .where({ id })
        .update({
          status: 'committed',
          commit_sha: result.commit,
          message: message.split('\n')[0],
          updated_at: new Date(),
        });
      await status.forget(entity);
      const row = await db<Row>(TABLE).where({ id }).first();
      return { ...toRecord(row!), diff: result.diff, dryRun: false };
    } catch (error) {
      await db<Row>(TABLE)
        .where({ id })
        .update({
          status: 'failed',
          message: (error as Error).message,
          updated_at: new Date(),
        });
      throw error;
    }
  }

  /**
   * The entity's promotions, newest first; a committed one becomes deployed once its
   * target environment is seen running the version.
   */
  async list(entity: Entity): Promise<PromotionRecord[]> {
    const { db, status } = this.options;
    const rows = await db<Row>(TABLE)
      .where({ entity_ref: stringifyEntityRef(entity) })
      .orderBy('created_at', 'desc')
      .limit(100);
    if (rows.some(r => r.status === 'committed')) {
      const view = await status.entityStatus(entity);
      for (const row of rows.filter(r => r.status === 'committed')) {
        const env = view.environments.find(
          e => e.environment === row.to_environment,
        );
        const image = env?.desired?.image;
        if (
          env &&
          image &&
          versionOf(env) === row.version &&
          isImageRunning(image, env.live.images)
        ) {
          row.status = 'deployed';
          row.updated_at = new Date();
          await db<Row>(TABLE)
            .where({ id: row.id })
            .update({ status: 'deployed', updated_at: row.updated_at });
        }
      }
    }
    return rows.map(toRecord);
  }

  private checkGates(source: EnvironmentStatus) {
    const { live } = source;
    const refuse = (gate: string, why: string) => {
      throw new ConflictError(`Gate "${gate}" refused: ${why}`);
    };
    if (live.syncStatus !== 'Synced') {
      refuse(
        'source synced',
        `${source.environment} is ${live.syncStatus}; promote what runs there once it is synced`,
      );
    }
    if (live.health.status !== 'Healthy') {
      refuse(
        'source healthy',
        `${source.environment} is ${live.health.status}${
          live.health.message ? ` (${live.health.message})` : ''
        }`,
      );
    }
    if (source.drift) {
      refuse(
        'source runs its config',
        `${source.environment} does not run the version its config names yet`,
      );
    }
    if (live.rollout && live.rollout.phase !== 'Healthy') {
      refuse(
        'rollout completed',
        `${source.environment}'s Rollout is ${live.rollout.phase}`,
      );
    }
  }
}
