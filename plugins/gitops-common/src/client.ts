import { CompoundEntityRef, parseEntityRef } from '@backstage/catalog-model';
import { ResponseError } from '@backstage/errors';
import {
  ApplicationActionResult,
  EntityDeploymentStatus,
  FleetStatus,
  PromotionRecord,
  PromotionResult,
  RevisionMetadata,
  RolloutAction,
} from './types';
import { ChangeLog, EntityDora, FleetDora } from './delivery';

/**
 * Which DORA figures: the environment (default the pipeline's last) and the window in
 * days (default 30, at most 365).
 *
 * @public
 */
export interface DoraQuery {
  environment?: string;
  days?: number;
}

/**
 * The GitOps backend's REST API (plugins/gitops-backend/src/schema/openapi.yaml).
 *
 * @public
 */
export interface GitopsApi {
  getEntityStatus(
    entityRef: string | CompoundEntityRef,
    options?: { signal?: AbortSignal },
  ): Promise<EntityDeploymentStatus>;
  getRevisionMetadata(
    entityRef: string | CompoundEntityRef,
    environment: string,
    revision: string,
    options?: { signal?: AbortSignal },
  ): Promise<RevisionMetadata>;
  getFleet(options?: { signal?: AbortSignal }): Promise<FleetStatus>;
  /**
   * Promotes the version of `from` into `to` (the next environment): a preview with
   * `dryRun`, else a commit; `idempotencyKey` makes a retry safe.
   */
  promote(
    entityRef: string | CompoundEntityRef,
    request: {
      from: string;
      to: string;
      dryRun?: boolean;
      idempotencyKey?: string;
    },
  ): Promise<PromotionResult>;
  /** The entity's promotions, newest first. */
  listPromotions(
    entityRef: string | CompoundEntityRef,
  ): Promise<{ items: PromotionRecord[] }>;
  /** Syncs, refreshes or rolls back (to `historyId`) one environment's Application. */
  actOnApplication(
    entityRef: string | CompoundEntityRef,
    environment: string,
    action: 'sync' | 'refresh' | 'rollback',
    historyId?: number,
  ): Promise<ApplicationActionResult>;
  /** Runs an Argo Rollouts action on one environment's Rollout. */
  controlRollout(
    entityRef: string | CompoundEntityRef,
    environment: string,
    action: RolloutAction,
  ): Promise<ApplicationActionResult>;
  /**
   * The app-repository commits between two image versions of an environment: `from`
   * defaults to the version the environment's values name now.
   */
  getChangeLog(
    entityRef: string | CompoundEntityRef,
    request: { environment: string; to: string; from?: string },
    options?: { signal?: AbortSignal },
  ): Promise<ChangeLog>;
  /** An entity's four DORA figures. */
  getEntityDora(
    entityRef: string | CompoundEntityRef,
    query?: DoraQuery,
    options?: { signal?: AbortSignal },
  ): Promise<EntityDora>;
  /** Every annotated entity's DORA figures, and each owner's. */
  getFleetDora(
    query?: DoraQuery,
    options?: { signal?: AbortSignal },
  ): Promise<FleetDora>;
}

/**
 * A typed client of the GitOps backend, on Backstage's discovery and fetch APIs (the
 * fetch API adds the user's token).
 *
 * @public
 */
export class GitopsClient implements GitopsApi {
  constructor(
    private readonly options: {
      discoveryApi: { getBaseUrl(pluginId: string): Promise<string> };
      fetchApi: { fetch: typeof fetch };
    },
  ) {}

  getEntityStatus(
    entityRef: string | CompoundEntityRef,
    options: { signal?: AbortSignal } = {},
  ) {
    return this.get<EntityDeploymentStatus>(
      `${entityPath(entityRef)}/status`,
      options,
    );
  }

  getRevisionMetadata(
    entityRef: string | CompoundEntityRef,
    environment: string,
    revision: string,
    options: { signal?: AbortSignal } = {},
  ) {
    return this.get<RevisionMetadata>(
      `${entityPath(entityRef)}/environments/${encodeURIComponent(
        environment,
      )}/revisions/${encodeURIComponent(revision)}`,
      options,
    );
  }

  getFleet(options: { signal?: AbortSignal } = {}) {
    return this.get<FleetStatus>('/fleet', options);
  }

  promote(
    entityRef: string | CompoundEntityRef,
    request: {
      from: string;
      to: string;
      dryRun?: boolean;
      idempotencyKey?: string;
    },
  ) {
    return this.post<PromotionResult>(
      `${entityPath(entityRef)}/promotions`,
      request,
    );
  }

  listPromotions(entityRef: string | CompoundEntityRef) {
    return this.get<{ items: PromotionRecord[] }>(
      `${entityPath(entityRef)}/promotions`,
      {},
    );
  }

  private async post<T>(path: string, body: object): Promise<T> {
    const base = await this.options.discoveryApi.getBaseUrl('gitops');
    const res = await this.options.fetchApi.fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }

  actOnApplication(
    entityRef: string | CompoundEntityRef,
    environment: string,
    action: 'sync' | 'refresh' | 'rollback',
    historyId?: number,
  ): Promise<ApplicationActionResult> {
    return this.post(
      `${entityPath(entityRef)}/environments/${encodeURIComponent(
        environment,
      )}/${action}`,
      historyId === undefined ? {} : { id: historyId },
    );
  }

  controlRollout(
    entityRef: string | CompoundEntityRef,
    environment: string,
    action: RolloutAction,
  ): Promise<ApplicationActionResult> {
    return this.post(
      `${entityPath(entityRef)}/environments/${encodeURIComponent(
        environment,
      )}/rollout`,
      { action },
    );
  }

  getChangeLog(
    entityRef: string | CompoundEntityRef,
    request: { environment: string; to: string; from?: string },
    options: { signal?: AbortSignal } = {},
  ) {
    return this.get<ChangeLog>(
      `${entityPath(entityRef)}/changelog${query(request)}`,
      options,
    );
  }

  getEntityDora(
    entityRef: string | CompoundEntityRef,
    dora: DoraQuery = {},
    options: { signal?: AbortSignal } = {},
  ) {
    return this.get<EntityDora>(
      `${entityPath(entityRef)}/dora${query(dora)}`,
      options,
    );
  }

  getFleetDora(dora: DoraQuery = {}, options: { signal?: AbortSignal } = {}) {
    return this.get<FleetDora>(`/dora${query(dora)}`, options);
  }

  private async get<T>(
    path: string,
    options: { signal?: AbortSignal },
  ): Promise<T> {
    const base = await this.options.discoveryApi.getBaseUrl('gitops');
    const res = await this.options.fetchApi.fetch(`${base}${path}`, {
      signal: options.signal,
    });
    if (!res.ok) throw await ResponseError.fromResponse(res);
    return res.json();
  }
}

function entityPath(entityRef: string | CompoundEntityRef) {
  const ref =
    typeof entityRef === 'string' ? parseEntityRef(entityRef) : entityRef;
  return `/entities/${encodeURIComponent(
    ref.kind.toLocaleLowerCase('en-US'),
  )}/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.name)}`;
}

function query(params: object) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
