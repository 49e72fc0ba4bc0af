import {
  AuditorService,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  ConflictError,
  InputError,
  NotAllowedError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import {
  gitopsApplicationRollbackPermission,
  gitopsApplicationSyncPermission,
  gitopsPromotionCreatePermission,
  gitopsRolloutControlPermission,
} from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { assertWritable } from './services/DeploymentStatus/writeOwnership';
import { UpstreamStatusError } from './services/ArgoCdApiSource/ArgoCdApiSource';
import { PromotionService } from './services/Promotion/PromotionService';
import { PromotionResult } from '@gitops-backstage/plugin-gitops-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { GitopsConfig } from './config';
import { DeploymentStatusService } from './services/DeploymentStatus/DeploymentStatusService';
import { annotatedEntities } from './services/LiveIndex/annotatedEntities';
import { controlRollout } from './services/DeploymentStatus/rolloutControl';
import { ChangeLogService } from './services/ChangeLog/ChangeLogService';
import { deliveryRouter } from './deliveryRouter';
import { DoraService } from './services/Delivery/DoraService';
import {
  environmentParams,
  parse,
  requestChecks,
  revisionParams,
} from './requestChecks';

export interface RouterOptions {
  config: GitopsConfig;
  liveStateSourceIds: () => string[];
  status: DeploymentStatusService;
  catalog: CatalogService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
  promotions: PromotionService;
  /** Entities a view read: live changes to their Applications are signalled. */
  onEntitiesListed?: (entities: Entity[]) => void;
  /** Changes to what status answers show are signalled to browsers (no polling). */
  signalled?: boolean;
  /** Whether views read memory only now (watches live, config read ahead). */
  indexed?: () => boolean;
  /** Serves the change log between versions; without it there is no such route. */
  changeLogs?: ChangeLogService;
  /** Serves the DORA figures; without it there are no such routes. */
  dora?: DoraService;
  /** Told of each rollback: the deployment it undoes counts as failed. */
  onRollback?: (entityRef: string, environment: string) => Promise<void>;
}

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const {
    config,
    liveStateSourceIds,
    status,
    catalog,
    httpAuth,
    permissions,
    auditor,
    promotions,
    onEntitiesListed,
    signalled = false,
    indexed = () => false,
    changeLogs,
    dora,
    onRollback,
  } = options;
  const router = Router();
  router.use(express.json({ limit: '64kb' }));

  const checks = requestChecks({ catalog, httpAuth, permissions, auditor });
  const { entityOf, authorizeOn, refusedAudited, auditRefusal, actorOf } =
    checks;

  // What the plugin runs with; names only, never URLs with credentials or tokens, and
  // those only to signed-in users and services.
  router.get('/health', async (req, res) => {
    try {
      await httpAuth.credentials(req, { allow: ['user', 'service'] });
    } catch {
      res.json({ status: 'ok' });
      return;
    }
    res.json({
      status: 'ok',
      environments: config.environments,
      instances: config.instances.map(i => i.name),
      liveStateSources: liveStateSourceIds(),
      indexed: indexed(),
    });
  });

  router.get('/entities/:kind/:namespace/:name/status', async (req, res) => {
    const entity = await entityOf(req);
    onEntitiesListed?.([entity]);
    res.json({ ...(await status.entityStatus(entity)), signalled });
  });

  router.get(
    '/entities/:kind/:namespace/:name/environments/:environment/revisions/:revision',
    async (req, res) => {
      const { environment, revision } = parse(revisionParams, req.params);
      res.json(
        await status.revisionMetadata(
          await entityOf(req),
          environment,
          revision,
        ),
      );
    },
  );

  /**
   * An action on one environment's Application: checked against the entity permission
   * and the Application's ownership (writeOwnership), audited (refusals too), and the
   * entity's cached view forgotten so the next one shows the effect.
   */
  const action = (
    name: 'sync' | 'refresh' | 'rollback' | 'rollout',
    permission: ResourcePermission<'catalog-entity'>,
    run: (
      located: Awaited<ReturnType<DeploymentStatusService['locate']>>,
      body: unknown,
      context: { entity: Entity; actor: string },
    ) => Promise<{
      application?: unknown;
      promotion?: PromotionResult;
      /** What the audit event records beyond where. */
      audited?: Record<string, string>;
    }>,
  ) =>
    router.post(
      `/entities/:kind/:namespace/:name/environments/:environment/${name}`,
      async (req, res) => {
        const { environment } = parse(environmentParams, req.params);
        const entity = await entityOf(req);
        const entityRef = stringifyEntityRef(entity);
        const eventId = `application-${name}`;
        const actor = actorOf(
          await refusedAudited(req, eventId, { entityRef, environment }, () =>
            authorizeOn(
              req,
              entityRef,
              permission,
              name === 'rollout' ? 'control the Rollout of' : name,
            ),
          ),
        );
        const located = await status.locate(entity, environment);
        const where = {
          entityRef,
          environment,
          instance: located.source.id,
          application: located.application.name,
        };
        await refusedAudited(req, eventId, where, async () =>
          assertWritable(located.env),
        );
        const event = await auditor.createEvent({
          eventId,
          severityLevel: 'medium',
          request: req,
          meta: where,
        });
        try {
          const done = await run(located, req.body, { entity, actor });
          await status.forget(entity);
          if (name === 'rollback') {
            await onRollback?.(entityRef, environment).catch(() => undefined);
          }
          await event.success({
            meta: (done.audited || done.promotion) && {
              ...done.audited,
              ...(done.promotion && {
                promotion: done.promotion.id,
                version: done.promotion.version,
                commit: done.promotion.commit ?? null,
              }),
            },
          });
          res.json({
            application: located.application,
            instance: located.source.id,
            result: done.application
              ? summary(done.application)
              : {
                  syncStatus: located.env.live.syncStatus,
                  health: located.env.live.health.status,
                },
            ...(done.promotion && { promotion: done.promotion }),
          });
        } catch (error) {
          await event.fail({ error: error as Error });
          if (error instanceof NotAllowedError)
            await auditRefusal(req, eventId, where, error);
          throw asHttpError(error, located.source.id);
        }
      },
    );

  action(
    'sync',
    gitopsApplicationSyncPermission,
    async ({ source, application }) => {
      if (!source.syncApplication)
        throw new InputError(
          `Instance "${source.id}" cannot sync Applications`,
        );
      return { application: await source.syncApplication(application) };
    },
  );
  action(
    'refresh',
    gitopsApplicationSyncPermission,
    async ({ source, application }) => {
      if (!source.refreshApplication)
        throw new InputError(
          `Instance "${source.id}" cannot refresh Applications`,
        );
      return { application: await source.refreshApplication(application) };
    },
  );
  action(
    'rollback',
    gitopsApplicationRollbackPermission,
    async ({ env, source, application }, body, { entity, actor }) => {
      const { id } = parse(z.object({ id: z.number().int().min(0) }), body);
      // The promotion policy holds for rollbacks too: no rollback into a frozen
      // environment, whether through Git or through Argo CD.
      promotions.checkRollback(entity, env.environment);
      // Argo CD refuses an API rollback under automated sync, which would undo it
      // anyway: write the earlier version back to Git instead.
      if (env.live.automatedSync) {
        return {
          promotion: await promotions.rollback({
            entity,
            environment: env.environment,
            historyId: id,
            actor,
          }),
        };
      }
      if (!source.rollbackApplication)
        throw new InputError(
          `Instance "${source.id}" cannot roll back Applications`,
        );
      return {
        application: await source.rollbackApplication(application, id),
      };
    },
  );

  // Argo Rollouts' controls: resume, promote-full, abort, retry.
  action('rollout', gitopsRolloutControlPermission, async (located, body) => ({
    audited: await controlRollout(located, body),
  }));

  router.get(
    '/entities/:kind/:namespace/:name/promotions',
    async (req, res) => {
      res.json({ items: await promotions.list(await entityOf(req)) });
    },
  );

  router.post(
    '/entities/:kind/:namespace/:name/promotions',
    async (req, res) => {
      const body = parse(
        z.object({
          from: z.string().min(1),
          to: z.string().min(1),
          dryRun: z.boolean().optional(),
          idempotencyKey: z.string().min(8).max(200).optional(),
        }),
        req.body,
      );
      const entity = await entityOf(req);
      const entityRef = stringifyEntityRef(entity);
      const meta = {
        entityRef,
        from: body.from,
        to: body.to,
        dryRun: body.dryRun ?? false,
      };
      const credentials = await refusedAudited(req, 'promotion', meta, () =>
        authorizeOn(req, entityRef, gitopsPromotionCreatePermission, 'promote'),
      );
      const actor = actorOf(credentials);
      const event = await auditor.createEvent({
        eventId: 'promotion',
        severityLevel: 'medium',
        request: req,
        meta,
      });
      try {
        const result = await promotions.promote({ entity, actor, ...body });
        await event.success({
          meta: {
            promotion: result.id,
            version: result.version,
            commit: result.commit ?? null,
          },
        });
        res.status(result.dryRun || result.replayed ? 200 : 201).json(result);
      } catch (error) {
        await event.fail({ error: error as Error });
        // The target Application not writable from this entity, or a policy refusal.
        if (error instanceof NotAllowedError)
          await auditRefusal(req, 'promotion', meta, error);
        throw error instanceof GitopsSourceError
          ? asHttpError(error, 'config repository')
          : error;
      }
    },
  );

  router.get('/fleet', async (req, res) => {
    const items = await annotatedEntities(
      catalog,
      await httpAuth.credentials(req),
    );
    onEntitiesListed?.(items);
    res.json({ ...(await status.fleetStatus(items)), signalled });
  });

  router.use(
    deliveryRouter({
      checks,
      status,
      changeLogs,
      dora,
      catalog,
      httpAuth,
      environments: config.environments,
    }),
  );

  // An empty or unknown path segment matches no route: say so, as every other error
  // does, without echoing the path back.
  router.use(() => {
    throw new NotFoundError(
      "No such route of the GitOps API: see the plugin's OpenAPI spec (src/schema/openapi.yaml)",
    );
  });

  return router;
}

/** What an action answers about the Application: its operation, sync and health. */
function summary(application: unknown) {
  const status =
    (application as { status?: Record<string, any> })?.status ?? {};
  return {
    syncStatus: status.sync?.status ?? 'Unknown',
    health: status.health?.status ?? 'Unknown',
    ...(status.operationState && {
      operation: {
        phase: status.operationState.phase,
        message: status.operationState.message,
      },
    }),
  };
}

/** Argo CD refusing an action is a conflict the user can read; it being down is a 503. */
function asHttpError(error: unknown, instance: string): unknown {
  if (!(error instanceof GitopsSourceError)) return error;
  if (error instanceof UpstreamStatusError && error.status < 500) {
    return new ConflictError(error.message);
  }
  if (error.code === 'not-found') return new NotFoundError(error.message);
  return new ServiceUnavailableError(`${error.message} (instance ${instance})`);
}
