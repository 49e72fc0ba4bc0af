import { HttpAuthService } from '@backstage/backend-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import Router from 'express-promise-router';
import { DoraService } from './services/Delivery/DoraService';
import { annotatedEntities } from './services/LiveIndex/annotatedEntities';
import { z } from 'zod';
import { DeploymentStatusService } from './services/DeploymentStatus/DeploymentStatusService';
import { ChangeLogService } from './services/ChangeLog/ChangeLogService';
import { entityChangeLog } from './services/ChangeLog/entityChangeLog';
import { parse, requestChecks } from './requestChecks';

/** An image tag (OCI distribution's grammar) or a digest: nothing else reaches a URL. */
const version = z
  .string()
  .regex(
    /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|sha256:[a-f0-9]{64})$/,
    'must be an image tag or a sha256 digest',
  );

const changeLogQuery = z.object({
  environment: z
    .string()
    .regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, 'environment must be a name'),
  to: version,
  from: version.optional(),
});

const doraQuery = z.object({
  environment: z
    .string()
    .regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, 'environment must be a name')
    .optional(),
  days: z.coerce
    .number()
    .int('days must be a whole number')
    .min(1, 'days must be 1 to 365')
    .max(365, 'days must be 1 to 365')
    .default(30),
});

/** Reads about delivery: the change log between versions and the DORA figures. */
export function deliveryRouter(options: {
  checks: ReturnType<typeof requestChecks>;
  status: DeploymentStatusService;
  changeLogs?: ChangeLogService;
  dora?: DoraService;
  catalog: CatalogService;
  httpAuth: HttpAuthService;
  environments: string[];
}) {
  const { checks, status, changeLogs, dora, catalog, httpAuth } = options;
  const router = Router();

  /** The environment asked for, else the pipeline's last; one not in it is a 404. */
  const environmentIn = (order: string[], asked?: string) => {
    const environment = asked ?? order[order.length - 1];
    if (!environment || !order.includes(environment)) {
      throw new NotFoundError(
        `No environment "${asked}" (the pipeline has ${order.join(', ')})`,
      );
    }
    return environment;
  };

  if (dora) {
    router.get('/entities/:kind/:namespace/:name/dora', async (req, res) => {
      const query = parse(doraQuery, req.query);
      const entity = await checks.entityOf(req);
      const { environmentOrder } = await status.entityStatus(entity);
      const environment = environmentIn(environmentOrder, query.environment);
      const entityRef = stringifyEntityRef(entity);
      res.json({
        entityRef,
        ...(await dora.entityFigures(entityRef, environment, query.days)),
      });
    });

    router.get('/dora', async (req, res) => {
      const query = parse(doraQuery, req.query);
      const environment = environmentIn(
        options.environments,
        query.environment,
      );
      const entities = await annotatedEntities(
        catalog,
        await httpAuth.credentials(req),
      );
      res.json(
        await dora.fleetFigures(
          entities.map(entity => ({
            entityRef: stringifyEntityRef(entity),
            ...(entity.metadata.title && { title: entity.metadata.title }),
            ...(typeof entity.spec?.owner === 'string' && {
              owner: entity.spec.owner,
            }),
          })),
          environment,
          query.days,
        ),
      );
    });
  }

  if (!changeLogs) return router;

  router.get('/entities/:kind/:namespace/:name/changelog', async (req, res) => {
    const query = parse(changeLogQuery, req.query);
    const entity = await checks.entityOf(req);
    res.json(
      await entityChangeLog(
        changeLogs,
        entity,
        await status.entityStatus(entity),
        query,
      ),
    );
  });

  return router;
}
