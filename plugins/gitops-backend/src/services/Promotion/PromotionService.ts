import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { LoggerService } from '@backstage/backend-plugin-api';
import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import {
  DesiredState,
  EnvironmentStatus,
  ImageReference,
  isImageRunning,
  PromotionGate,
  PromotionRecord,
  PromotionResult,
  setYamlValues,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ConfigRepoWriter,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import { parse as parseYaml } from 'yaml';
import { GitopsConfig } from '../../config';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { DeploymentStatusService } from '../DeploymentStatus/DeploymentStatusService';
import { scalar, valueAt } from '../DeploymentStatus/desiredState';
import { ManifestPreview, unifiedDiff } from './ManifestPreview';
import {
  checkDirection,
  entityPolicy,
  evaluateGates,
  methodFor,
} from './policy';
import { Reviewers } from './reviewers';

const TABLE = 'gitops_promotions';
/** A row still `requested` after this long was cut short (a restart): settle it from Git. */
const STALE_MS = 10 * 60_000;

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

export interface RollbackRequest {
  entity: Entity;
  environment: string;
  /** The Argo CD history entry whose version to write back. */
  historyId: number;
  actor: string;
}

type Row = {
  id: string;
  kind: string;
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
  repo_url: string | null;
  branch: string | null;
  values_file: string | null;
  value_key: string | null;
  created_at: string | Date;
  updated_at: string | Date;
};

function toRecord(row: Row): PromotionRecord {
  return {
    id: row.id,
    kind: row.kind as PromotionRecord['kind'],
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

/** The version an environment's config names: its digest (it pins), else its tag. */
function versionOf(image: Partial<ImageReference> | undefined) {
  return image?.digest ?? image?.tag;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** What one write is about: the planned change and how to record it. */
interface Plan {
  kind: PromotionRecord['kind'];
  entityRef: string;
  from: string;
  to: string;
  version: string;
  previous?: string;
  method: 'commit' | 'pull-request';
  gates: PromotionGate[];
  change: ValuesFileChange;
  valueKey: string;
  writer: ConfigRepoWriter;
}

/**
 * Promotion the GitOps way: the version in environment A's values file is written into
 * environment B's values file at the same key, as a commit or a pull request, after
 * checking the policy and its gates. A rollback under automated sync is the same kind
 * of write. Every write is recorded: requested → committed / pr-opened → deployed, or
 * failed with the reason.
 */
export class PromotionService {
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
      logger: LoggerService;
      now?: () => Date;
    },
  ) {}

  async promote(request: PromotionRequest): Promise<PromotionResult> {
    const { entity, from, to, actor, dryRun = false, idempotencyKey } = request;
    if (idempotencyKey && !dryRun) {
      const earlier = await this.replay(idempotencyKey, entity, from, to);
      if (earlier) return earlier;
    }
    const { config } = this.options;
    const entityRef = stringifyEntityRef(entity);
    const policy = entityPolicy(config.promotionPolicy, entity);

    // Gates are checked against fresh state, not a cached view.
    const view = await this.freshView(entity);
    const source = this.environment(view, entityRef, from);
    const target = this.environment(view, entityRef, to);
    checkDirection(policy, view.environmentOrder, from, to);
    const method = methodFor(policy, view.environmentOrder, to);

    const image = source.desired?.image;
    if (!image) {
      throw new ConflictError(
        `${from} has no image version in its config (${
          source.desired?.error?.message ?? 'unknown'
        })`,
      );
    }
    validateVersion(image, `${from}'s ${source.desired!.valuesFile}`);
    const gates = evaluateGates({
      policy,
      source,
      to,
      now: this.now(),
    });
    const plan = this.plan({
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

    if (dryRun) return this.preview(plan, target);
    const refused = gates.find(g => !g.passed);
    if (refused) {
      throw new ConflictError(
        `Gate "${refused.name}" refused: ${refused.message}`,
      );
    }
    return this.write(plan, entity, actor, idempotencyKey);
  }

  /**
   * Writes the version an earlier deployment ran back into the environment's values
   * file: a rollback that automated sync keeps (Argo CD refuses an API rollback then).
   */
  async rollback(request: RollbackRequest): Promise<PromotionResult> {
    const { entity, environment, historyId, actor } = request;
    const entityRef = stringifyEntityRef(entity);
    const view = await this.freshView(entity);
    const env = this.environment(view, entityRef, environment);
    const entry = env.live.history.find(h => h.id === historyId);
    if (!entry) {
      throw new NotFoundError(
        `${environment} has no deployment with history id ${historyId}; it has ${
          env.live.history.map(h => h.id).join(', ') || 'none'
        }`,
      );
    }
    const desired = requireValuesFile(env);
    const text = await this.options.reader.readFileAt(
      {
        repoURL: desired.valuesRepoURL ?? desired.repoURL,
        branch: desired.targetRevision,
        file: desired.valuesFile!,
      },
      entry.revision,
    );
    const keys = this.options.config.imageKeys;
    const values = text === undefined ? undefined : safeParse(text);
    const image = {
      repository:
        scalar(valueAt(values, keys.repository)) ?? desired.image?.repository,
      tag: scalar(valueAt(values, keys.tag)),
      digest: scalar(valueAt(values, keys.digest)),
    };
    if (!image.repository || !versionOf(image)) {
      throw new ConflictError(
        `${desired.valuesFile} at ${entry.revision.slice(
          0,
          7,
        )} names no image version to go back to`,
      );
    }
    validateVersion(image, `${desired.valuesFile} at ${entry.revision}`);
    const plan = this.plan({
      kind: 'rollback',
      entity,
      from: environment,
      to: environment,
      image: image as ImageReference,
      target: env,
      method: 'commit',
      gates: [],
      actor,
      message: `Roll back ${
        entity.metadata.name
      } in ${environment} to ${versionOf(image)}`,
      detail: `The version of deployment ${historyId} (${entry.revision.slice(
        0,
        7,
      )}, ${
        entry.deployedAt
      }). Argo CD's automated sync keeps what Git says, so the rollback is a commit.`,
    });
    return this.write(plan, entity, actor);
  }

  /**
   * The entity's promotions and rollbacks, newest first; a committed one becomes
   * deployed once its environment is seen running the version.
   */
  async list(entity: Entity): Promise<PromotionRecord[]> {
    const { db, status } = this.options;
    await this.settleInterrupted();
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
          versionOf(image) === row.version &&
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

  /**
   * Rows left `requested` by a backend that stopped mid-write: Git decides. The value
   * in the file means the push landed (committed); otherwise nothing was written.
   */
  async settleInterrupted(): Promise<void> {
    const { db, logger } = this.options;
    const stale = await db<Row>(TABLE)
      .where({ status: 'requested' })
      .andWhere('created_at', '<', new Date(this.now().getTime() - STALE_MS));
    for (const row of stale) {
      let status = 'failed';
      let message =
        'Interrupted before its commit (backend restart); nothing was written';
      try {
        const text = await this.writerFor(row.repo_url!).read({
          repoURL: row.repo_url!,
          branch: row.branch!,
          file: row.values_file!,
        });
        if (scalar(valueAt(safeParse(text), row.value_key!)) === row.version) {
          status = 'committed';
          message = `Interrupted after its push (backend restart); ${row.values_file} has ${row.version}`;
        }
      } catch (error) {
        // Git unreachable now: try again on the next listing.
        logger.warn(`Cannot settle promotion ${row.id} yet: ${error}`);
        continue;
      }
      await db<Row>(TABLE)
        .where({ id: row.id, status: 'requested' })
        .update({ status, message, updated_at: this.now() });
    }
  }

  private now() {
    return this.options.now?.() ?? new Date();
  }

  private freshView(entity: Entity) {
    return this.options.status.entityStatus(entity, { fresh: true });
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
      throw new InputError(`No writer for config repository ${repoURL}`);
    }
    return writer;
  }

  private plan(options: {
    kind: Plan['kind'];
    entity: Entity;
    from: string;
    to: string;
    image: ImageReference;
    target: EnvironmentStatus;
    method: Plan['method'];
    gates: PromotionGate[];
    actor: string;
    message: string;
    detail?: string;
  }): Plan {
    const { image, target, actor, to } = options;
    const desired = requireValuesFile(target);
    const keys = this.options.config.imageKeys;
    const valueKey = image.digest ? keys.digest : keys.tag;
    // The tag moves too when there is a digest: the file keeps saying what it runs.
    const values: Record<string, string> = {
      ...(image.tag && { [keys.tag]: image.tag }),
      ...(image.digest && { [keys.digest]: image.digest }),
    };
    if (desired.image?.repository !== image.repository)
      values[keys.repository] = image.repository;
    const previous = versionOf(desired.image);
    const repoURL = desired.valuesRepoURL ?? desired.repoURL;
    const writer = this.writerFor(repoURL);
    if (options.method === 'pull-request' && !writer.openPullRequest) {
      throw new InputError(
        `Promotion to ${to} is by pull request, but ${repoURL} is on a Git server without pull requests (writer "${writer.id}"); configure its GitHub or GitLab integration, or set gitops.promotion.methods.${to}: commit`,
      );
    }
    return {
      kind: options.kind,
      entityRef: stringifyEntityRef(options.entity),
      from: options.from,
      to,
      version: versionOf(image)!,
      ...(previous && { previous }),
      method: options.method,
      gates: options.gates,
      valueKey,
      writer,
      change: {
        repoURL,
        branch: desired.targetRevision,
        file: desired.valuesFile!,
        edit: text => setYamlValues(text, values),
        message: `${options.message}\n\n${
          options.detail ? `${options.detail}\n` : ''
        }${to} ran ${
          previous ?? 'nothing'
        }. Requested by ${actor} in Backstage.`,
        author: { name: actor, email: 'backstage-gitops@noreply.local' },
      },
    };
  }

  /** A dry run: every gate's verdict and the diffs, nothing written or recorded. */
  private async preview(
    plan: Plan,
    target: EnvironmentStatus,
  ): Promise<PromotionResult> {
    const { change } = plan;
    const before = await plan.writer.read(change);
    const after = change.edit(before);
    const gates = [
      ...plan.gates,
      {
        name: 'version changes',
        passed: after !== before,
        message:
          after === before
            ? `${plan.to} already has ${plan.version}`
            : `${plan.to} moves from ${plan.previous ?? 'nothing'} to ${
                plan.version
              }`,
      },
    ];
    const rendered =
      this.options.preview && after !== before
        ? await this.options.preview.diff({
            desired: target.desired!,
            releaseName:
              target.desired!.chart?.releaseName ?? target.application.name,
            namespace: target.environment,
            edit: change.edit,
          })
        : {
            renderedDiffNote: this.options.preview
              ? 'Nothing to render: the values do not change'
              : 'The backend has no helm (gitops.helm.command), so the preview shows the values diff only',
          };
    const now = this.now().toISOString();
    return {
      ...this.record(plan, now),
      diff: diffOf(change.file, before, after),
      ...rendered,
      gates,
      dryRun: true,
    };
  }

  private record(plan: Plan, now: string): PromotionRecord {
    return {
      id: '',
      kind: plan.kind,
      entityRef: plan.entityRef,
      from: plan.from,
      to: plan.to,
      version: plan.version,
      ...(plan.previous && { previousVersion: plan.previous }),
      method: plan.method,
      status: 'requested',
      actor: plan.change.author.name,
      createdAt: now,
      updatedAt: now,
    };
  }

  /** Records the request, writes, and records the outcome; a failure is recorded too. */
  private async write(
    plan: Plan,
    entity: Entity,
    actor: string,
    idempotencyKey?: string,
  ): Promise<PromotionResult> {
    const { db, status } = this.options;
    const id = randomUUID();
    // The id as a trailer makes each request's commit distinct: identical commits of
    // racing requests would otherwise all "win" the push as one.
    const change = {
      ...plan.change,
      message: `${plan.change.message}\n\nPromotion-Id: ${id}`,
    };
    const now = this.now();
    try {
      await db<Row>(TABLE).insert({
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
        actor,
        repo_url: change.repoURL,
        branch: change.branch,
        values_file: change.file,
        value_key: plan.valueKey,
        created_at: now,
        updated_at: now,
      });
    } catch (error) {
      // The same key raced us in: answer what that request ends with.
      const earlier =
        idempotencyKey &&
        (await this.replay(idempotencyKey, entity, plan.from, plan.to));
      if (earlier) return earlier;
      throw error;
    }
    try {
      const title = change.message.split('\n')[0];
      const result =
        plan.method === 'pull-request'
          ? await plan.writer.openPullRequest!(change, {
              branch: `gitops/${entity.metadata.name}-${plan.to}-${plan.version
                .replace(/[^A-Za-z0-9_.-]/g, '-')
                .slice(0, 60)}-${id.slice(0, 8)}`,
              title,
              body: `${change.message
                .split('\n')
                .slice(2)
                .join(
                  '\n',
                )}\n\nOpened by the GitOps plugin of Backstage: merging it deploys ${
                plan.version
              } to ${plan.to}.`,
              reviewers: await this.options.reviewers(entity),
            })
          : await plan.writer.commit(change);
      if (!result.commit) {
        throw new ConflictError(
          `${plan.to} already has ${plan.version} in ${change.file}`,
        );
      }
      await db<Row>(TABLE)
        .where({ id })
        .update({
          status: plan.method === 'pull-request' ? 'pr-opened' : 'committed',
          commit_sha: result.commit,
          pr_url: result.pullRequestUrl ?? null,
          message: title,
          updated_at: this.now(),
        });
      await status.forget(entity);
      const row = await db<Row>(TABLE).where({ id }).first();
      return {
        ...toRecord(row!),
        diff: diffOf(change.file, result.before, result.after),
        gates: plan.gates,
        dryRun: false,
      };
    } catch (error) {
      await db<Row>(TABLE)
        .where({ id })
        .update({
          status: 'failed',
          message: (error as Error).message,
          updated_at: this.now(),
        });
      throw error;
    }
  }

  /**
   * The earlier request with this key, once it has ended (a retry while it is being
   * written waits for it); a key reused for another promotion is a conflict.
   */
  private async replay(
    key: string,
    entity: Entity,
    from: string,
    to: string,
  ): Promise<PromotionResult | undefined> {
    const { db, config } = this.options;
    // As long as a write may take: a commit makes a few Git calls and retries.
    const deadline = Date.now() + config.timeoutSeconds * 1000 * 12;
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

/** The environment's own values file that names its image: the one a write changes. */
function requireValuesFile(env: EnvironmentStatus): DesiredState {
  const desired = env.desired;
  if (!desired?.valuesFile) {
    throw new ConflictError(
      `${env.environment} has no values file with an image (${
        desired?.error?.message ?? 'unknown'
      })`,
    );
  }
  // Writing the chart's defaults would move every environment at once.
  if (
    desired.chart &&
    desired.valuesFile === path.posix.join(desired.chart.path, 'values.yaml')
  ) {
    throw new ConflictError(
      `${env.environment} takes its image version from ${desired.valuesFile}, which every environment shares; set it in ${env.environment}'s own values file (helm.valueFiles) first`,
    );
  }
  return desired;
}

/** Only OCI tags and digests reach a values file: no YAML, no newlines, no tricks. */
function validateVersion(image: Partial<ImageReference>, where: string) {
  const invalid = (value: string, grammar: string) =>
    new InputError(
      `The image version ${JSON.stringify(
        value,
      )} in ${where} is not a valid ${grammar}; fix it there first`,
    );
  if (image.tag !== undefined && !TAG.test(image.tag)) {
    throw invalid(image.tag, 'OCI tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})');
  }
  if (image.digest !== undefined && !DIGEST.test(image.digest)) {
    throw invalid(image.digest, 'OCI digest (algorithm:hex)');
  }
}

function safeParse(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}

function diffOf(file: string, before: string, after: string) {
  return before === after
    ? ''
    : unifiedDiff(`a/${file}`, `b/${file}`, before, after);
}
