import type { ChangeLog } from '@gitops-backstage/plugin-gitops-common';
import { ChangeLogService } from '../ChangeLog/ChangeLogService';
import { appRepositoryOf } from '../ChangeLog/appRepository';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError } from '@backstage/errors';
import {
  EntityDeploymentStatus,
  EnvironmentStatus,
  PromotionGate,
  PromotionRecord,
  PromotionResult,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ConfigRepoWriter,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import { GitopsConfig } from '../../config';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { DeploymentStatusService } from '../DeploymentStatus/DeploymentStatusService';
import { assertWritable } from '../DeploymentStatus/writeOwnership';
import { ManifestPreview } from './ManifestPreview';
import {
  chartMoves,
  combinePlans,
  imageMoves,
  planChartPromotion,
} from './chartPromotion';
import { ApplicationManifests } from '../ChartRepository/applicationManifests';
import { ChartVersionReader } from '../ChartRepository/ChartVersionReader';
import { ChartPreview } from '../ChartRepository/ChartPreview';
import { Plan, planChange, validateVersion, versionOf } from './plan';
import {
  checkDirection,
  entityPipeline,
  entityPolicy,
  evaluateGates,
  freezeGate,
  methodFor,
} from './policy';
import { Row, TABLE, toRecord } from './records';
import { Reviewers } from './reviewers';
import { rollbackImage } from './rollback';
import { PromotionSettler } from './settle';
import { PromotionWriter } from './write';
import { dryRunOf } from './dryRun';

/** Unsettled records a listing settles at most: a request's work stays bounded. */
const SETTLE_BATCH = 20;

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

export interface RollbackRequest {
  entity: Entity;
  environment: string;
  /** The Argo CD history entry whose version to write back. */
  historyId: number;
  actor: string;
}

/**
 * Promotion the GitOps way: the version in environment A's values file is written into
 * environment B's values file, as a commit or a pull request, after checking the policy
 * (app-config's, which an entity may only tighten) and its gates. A rollback under
 * automated sync is the same kind of write under the same policy. Every write is
 * recorded: requested → committed / pr-opened → deployed, or failed with the reason.
 * Planning (plan.ts), writing (write.ts), settling (settle.ts) and reading a rollback's
 * version (rollback.ts) live beside this file.
 */
export class PromotionService {
  private readonly writer: PromotionWriter;
  private readonly settler: PromotionSettler;

  constructor(
    private readonly options: {
      db: Knex;
      status: DeploymentStatusService;
      /** Asked in order; the first that supports the repository writes. */
      writers: ConfigRepoWriter[];
      reader: GitConfigRepoReader;
      config: GitopsConfig;
      reviewers: (entity: Entity) => Promise<Reviewers>;
      preview?: ManifestPreview;
      chartPreview?: ChartPreview;
      /** Chart repositories' versions and Application manifests, for chart promotions. */
      charts?: ChartVersionReader;
      manifests?: ApplicationManifests;
      logger: LoggerService;
      now?: () => Date;
      /** The app-repository commits an image move ships (preview, pull request body). */
      changeLogs?: ChangeLogService;
    },
  ) {
    const { db, status, config, logger, reviewers } = options;
    const now = () => this.now();
    this.writer = new PromotionWriter({
      db,
      status,
      reviewers,
      logger,
      // As long as a write may take: a commit makes a few Git calls and retries.
      replayWaitMs: config.timeoutSeconds * 1000 * 12,
      now,
    });
    this.settler = new PromotionSettler({
      db,
      status,
      writerFor: repoURL => this.writerFor(repoURL),
      keys: config.imageKeys,
      logger,
      askAgainMs: config.cacheSeconds * 1000,
      now,
    });
  }

  async promote(request: PromotionRequest): Promise<PromotionResult> {
    const { entity, from, to, actor, dryRun = false, idempotencyKey } = request;
    if (idempotencyKey && !dryRun) {
      const earlier = await this.writer.replay(
        idempotencyKey,
        entity,
        from,
        to,
      );
      if (earlier) return earlier;
    }
    const entityRef = stringifyEntityRef(entity);
    const { policy, pipeline } = this.policyOf(entity);

    // Gates are checked against fresh state, not a cached view.
    const view = await this.freshView(entity);
    const source = this.environment(view, entityRef, from);
    const target = this.target(view, entityRef, to);
    checkDirection(policy, pipeline, from, to);
    const method = methodFor(policy, pipeline.order, to);
    const gates = evaluateGates({ policy, source, to, now: this.now() });

    const planned =
      source.chart || target.chart
        ? await this.chartPlan({ entity, source, target, method, gates, actor })
        : this.imagePlan({ entity, source, target, method, gates, actor });
    const changeLog = await this.changeLogOf(entity, target, planned);
    const plan = changeLog ? { ...planned, changeLog } : planned;
    if (dryRun) {
      return dryRunOf(plan, target, {
        preview: this.options.preview,
        charts: this.options.chartPreview,
        now: this.now(),
      });
    }
    refuseFailedGate(gates);
    return this.writer.write(plan, entity, actor, idempotencyKey);
  }

  /**
   * What the image move ships, when the entity names its app repository; a change
   * log that cannot be read is no reason to hold a promotion back.
   */
  private async changeLogOf(
    entity: Entity,
    target: EnvironmentStatus,
    plan: Plan,
  ): Promise<ChangeLog | undefined> {
    const move = plan.moves.find(m => m.what === 'image');
    const image =
      target.desired?.image?.repository ??
      target.desired?.noVersionYet?.repository;
    if (!this.options.changeLogs || !move?.from || !image) return undefined;
    try {
      const repository = appRepositoryOf(entity);
      if (!repository) return undefined;
      return await this.options.changeLogs.changeLog({
        repository,
        image,
        from: move.from,
        to: move.to,
      });
    } catch (error) {
      this.options.logger.warn(
        `No change log for ${stringifyEntityRef(entity)}: ${error}`,
      );
      return undefined;
    }
  }

  /** Writes the version in `source`'s values file into `target`'s. */
  private imagePlan(options: {
    entity: Entity;
    source: EnvironmentStatus;
    target: EnvironmentStatus;
    method: Plan['method'];
    gates: PromotionGate[];
    actor: string;
  }): Plan {
    const { entity, source, target, method, gates, actor } = options;
    const from = source.environment;
    const to = target.environment;
    const image = source.desired?.image;
    if (source.desired?.noVersionYet) {
      throw new ConflictError(
        `${from} has no version yet, so there is nothing to promote: ${source.desired.valuesFile} names no image tag or digest (the first environment gets one from CI's first build of main, the next ones by promotion)`,
      );
    }
    if (!image) {
      throw new ConflictError(
        `${from} has no image version in its config (${
          source.desired?.error?.message ?? 'unknown'
        })`,
      );
    }
    validateVersion(image, `${from}'s ${source.desired!.valuesFile}`);
    return this.plan({
      kind: 'promotion',
      entity,
      from,
      to,
      image,
      target,
      method,
      gates,
      actor,
      message: `Promote ${entity.metadata.name} ${versionOf(
        image,
      )} from ${from} to ${to}`,
    });
  }

  /**
   * Pins the chart version `source` resolves to in `target`'s Application manifest,
   * and, when the environments name their images in values files that differ, the
   * image as well, in the same commit.
   */
  private async chartPlan(options: {
    entity: Entity;
    source: EnvironmentStatus;
    target: EnvironmentStatus;
    method: Plan['method'];
    gates: PromotionGate[];
    actor: string;
  }): Promise<Plan> {
    const { source, target } = options;
    const image = imageMoves(source, target)
      ? this.imagePlan(options)
      : undefined;
    if (image && !chartMoves(source, target)) return image;
    const { charts, manifests } = this.options;
    if (!charts || !manifests) {
      throw new ConflictError(
        'This backend does not promote charts from chart repositories',
      );
    }
    assertWritable(target);
    const chart = await planChartPromotion({
      ...options,
      charts,
      manifests,
      writerFor: repoURL => this.writerFor(repoURL),
    });
    return image ? combinePlans(chart, image, options) : chart;
  }

  /**
   * Writes the version an earlier deployment ran back into the environment's values
   * file: a rollback that automated sync keeps (Argo CD refuses an API rollback then).
   * The promotion policy holds: no rollback into a frozen environment, and a pull
   * request where the environment's method is pull-request.
   */
  async rollback(request: RollbackRequest): Promise<PromotionResult> {
    const { entity, environment, historyId, actor } = request;
    const entityRef = stringifyEntityRef(entity);
    const { policy, pipeline } = this.policyOf(entity);
    const gates = [freezeGate(policy, environment, this.now())];
    refuseFailedGate(gates);
    const view = await this.freshView(entity);
    const env = this.target(view, entityRef, environment);
    const { image, detail } = await rollbackImage({
      env,
      historyId,
      reader: this.options.reader,
      keys: this.options.config.imageKeys,
    });
    const plan = this.plan({
      kind: 'rollback',
      entity,
      from: environment,
      to: environment,
      image,
      target: env,
      method: methodFor(policy, pipeline.order, environment),
      gates,
      actor,
      message: `Roll back ${
        entity.metadata.name
      } in ${environment} to ${versionOf(image)}`,
      detail,
    });
    return this.writer.write(plan, entity, actor);
  }

  /**
   * Refuses (409) a rollback of the environment that the policy forbids now (a freeze
   * window): also for Argo CD's own rollback of a manually synced Application, which
   * writes nothing to Git.
   */
  checkRollback(entity: Entity, environment: string): void {
    const { policy } = this.policyOf(entity);
    refuseFailedGate([freezeGate(policy, environment, this.now())]);
  }

  /**
   * The entity's promotions and rollbacks, newest first. A listing settles a bounded
   * batch of its unsettled records (pull requests merged or closed, writes a restart
   * cut short), and a committed one becomes deployed once its environment is seen
   * running the version.
   */
  async list(entity: Entity): Promise<PromotionRecord[]> {
    const entityRef = stringifyEntityRef(entity);
    await this.settler.settle({ entityRef, limit: SETTLE_BATCH });
    const rows = await this.options
      .db<Row>(TABLE)
      .where({ entity_ref: entityRef })
      .orderBy('created_at', 'desc')
      .limit(100);
    await this.settler.markDeployed(entity, rows);
    return rows.map(toRecord);
  }

  /**
   * Every unsettled record, from Git and the SCMs: writes a restart cut short, pull
   * requests merged or closed meanwhile. Run at start-up.
   */
  async settleInterrupted(): Promise<void> {
    await this.settler.settle();
  }

  /**
   * A bounded batch of the writes whose replica stopped or was killed mid-write (their
   * lease lapsed), settled from Git: run periodically, so a surviving replica settles
   * them without a restart. Pull requests are left to listings (SCM rate limits).
   */
  async settleAbandonedWrites(): Promise<void> {
    await this.settler.settle({ limit: SETTLE_BATCH, interruptedOnly: true });
  }

  private now() {
    return this.options.now?.() ?? new Date();
  }

  /** The policy and pipeline for the entity: app-config's, tightened by the entity. */
  private policyOf(entity: Entity) {
    const { config } = this.options;
    return {
      pipeline: entityPipeline(config.environments, entity),
      policy: entityPolicy(config.promotionPolicy, entity, config.environments),
    };
  }

  private freshView(entity: Entity) {
    return this.options.status.entityStatus(entity, { fresh: true });
  }

  /** The environment a promotion or rollback writes to: its Application, located. */
  private target(
    view: EntityDeploymentStatus,
    entityRef: string,
    name: string,
  ): EnvironmentStatus {
    return this.environment(view, entityRef, name);
  }

  private environment(
    view: { environments: EnvironmentStatus[] },
    entityRef: string,
    name: string,
  ): EnvironmentStatus {
    const env = view.environments.find(e => e.environment === name);
    if (!env) {
      throw new InputError(
        `${entityRef} has no environment "${name}"; it has ${
          view.environments.map(e => e.environment).join(', ') || 'none'
        }`,
      );
    }
    return env;
  }

  private writerFor(repoURL: string): ConfigRepoWriter {
    const writer = this.options.writers.find(w => w.supports(repoURL));
    if (!writer) {
      throw new InputError(
        `No writer for config repository ${redactUrl(repoURL)}`,
      );
    }
    return writer;
  }

  private plan(
    options: Omit<Parameters<typeof planChange>[0], 'keys' | 'writerFor'>,
  ): Plan {
    // Promotions and rollbacks write into the target's values file: it must be owned.
    assertWritable(options.target);
    return planChange({
      ...options,
      keys: this.options.config.imageKeys,
      writerFor: repoURL => this.writerFor(repoURL),
    });
  }
}

/** The first gate that refuses, as a 409 naming it. */
function refuseFailedGate(gates: PromotionGate[]) {
  const refused = gates.find(g => !g.passed);
  if (refused) {
    throw new ConflictError(
      `Gate "${refused.name}" refused: ${refused.message}`,
    );
  }
}
