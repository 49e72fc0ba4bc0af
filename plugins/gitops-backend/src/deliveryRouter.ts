import Router from 'express-promise-router';
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

/** Reads about delivery: the change log between versions (and the DORA figures). */
export function deliveryRouter(options: {
  checks: ReturnType<typeof requestChecks>;
  status: DeploymentStatusService;
  changeLogs: ChangeLogService;
}) {
  const { checks, status, changeLogs } = options;
  const router = Router();

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
