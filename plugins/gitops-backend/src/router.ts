import { HttpAuthService } from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { Entity } from '@backstage/catalog-model';
import { InputError, NotFoundError } from '@backstage/errors';
import { ARGOCD_ANNOTATIONS } from '@gitops-backstage/plugin-gitops-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import express from 'express';
import Router from 'express-promise-router';
import { z } from 'zod';
import { GitopsConfig } from './config';
import { DeploymentStatusService } from './services/DeploymentStatus/DeploymentStatusService';

export interface RouterOptions {
  config: GitopsConfig;
  liveStateSourceIds: () => string[];
  status: DeploymentStatusService;
  catalog: CatalogService;
  httpAuth: HttpAuthService;
}

const entityParams = z.object({
  kind: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'kind must be a catalog kind'),
  namespace: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'namespace must be a catalog namespace'),
  name: z
    .string()
    .regex(
      /^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/,
      'name must be a catalog name',
    ),
});
const revisionParams = entityParams.extend({
  environment: z
    .string()
    .regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, 'environment must be a name'),
  revision: z
    .string()
    .regex(
      /^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,99}$/,
      'revision must be a commit SHA, tag or branch',
    ),
});

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InputError(`Invalid ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { config, liveStateSourceIds, status, catalog, httpAuth } = options;
  const router = Router();
  router.use(express.json({ limit: '64kb' }));

  /** The entity, read with the caller's credentials: the catalog's read permission applies. */
  async function entityOf(req: express.Request): Promise<Entity> {
    const ref = parse(entityParams, req.params);
    const entity = await catalog.getEntityByRef(
      { kind: ref.kind, namespace: ref.namespace, name: ref.name },
      { credentials: await httpAuth.credentials(req) },
    );
    if (!entity) {
      throw new NotFoundError(
        `No entity ${ref.kind}:${ref.namespace}/${ref.name}, or you may not read it`,
      );
    }
    return entity;
  }

  // What the plugin runs with; names only, never URLs with credentials or tokens.
  router.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      environments: config.environments,
      instances: config.instances.map(i => i.name),
      liveStateSources: liveStateSourceIds(),
    });
  });

  router.get('/entities/:kind/:namespace/:name/status', async (req, res) => {
    res.json(await status.entityStatus(await entityOf(req)));
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

  router.get('/fleet', async (req, res) => {
    const { items } = await catalog.getEntities(
      {
        filter: [
          {
            [`metadata.annotations.${ARGOCD_ANNOTATIONS.appSelector}`]:
              CATALOG_FILTER_EXISTS,
          },
          {
            [`metadata.annotations.${ARGOCD_ANNOTATIONS.appName}`]:
              CATALOG_FILTER_EXISTS,
          },
        ],
        fields: [
          'kind',
          'metadata.namespace',
          'metadata.name',
          'metadata.title',
          'metadata.annotations',
          'spec.owner',
          'spec.system',
        ],
      },
      { credentials: await httpAuth.credentials(req) },
    );
    res.json(await status.fleetStatus(items));
  });

  return router;
}
