import {
  InfoCard,
  Progress,
  ResponseErrorPanel,
} from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/core-plugin-api';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  entityRouteParams,
  entityRouteRef,
  useEntity,
} from '@backstage/plugin-catalog-react';
import {
  formatImageReference,
  entitySignalChannel,
} from '@gitops-backstage/plugin-gitops-common';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableRow from '@material-ui/core/TableRow';
import { useCallback } from 'react';
import { gitopsApiRef } from '../../api';
import { useLiveStatus } from '../../hooks/useLiveStatus';
import { HealthBadge, SyncBadge } from '../common/StatusBadges';
import { versionOf } from '../common/format';
import { NoVersionYet } from '../common/NoVersionYet';
import { REFRESH_MS } from '../DeploymentsContent/EntityDeployments';

/** The overview card: one line per environment (version, sync, health). */
export function EntityDeploymentsCard() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(gitopsApiRef);
  const entityRoute = useRouteRef(entityRouteRef);
  const load = useCallback(
    (signal: AbortSignal) => api.getEntityStatus(entityRef, { signal }),
    [api, entityRef],
  );
  const { value: status, error } = useLiveStatus(
    load,
    entitySignalChannel(entityRef),
    REFRESH_MS,
  );

  let body;
  if (status) {
    body = (
      <Table size="small" aria-label="deployments">
        <TableBody>
          {status.environments.map(env => (
            <TableRow
              key={`${env.instance}/${env.application.name}`}
              data-testid={`card-${env.environment}`}
            >
              <TableCell>{env.environment}</TableCell>
              <TableCell>
                {env.desired?.noVersionYet && !env.live.images[0] ? (
                  <NoVersionYet
                    env={env}
                    first={
                      env.environment === status.environments[0].environment
                    }
                  />
                ) : (
                  <code>
                    {env.live.images[0]
                      ? versionOf(env.live.images[0])
                      : env.desired?.image &&
                        versionOf(formatImageReference(env.desired.image))}
                  </code>
                )}
              </TableCell>
              <TableCell>
                <SyncBadge status={env.live.syncStatus} />
              </TableCell>
              <TableCell>
                <HealthBadge
                  status={env.live.health.status}
                  message={env.live.health.message}
                />
              </TableCell>
            </TableRow>
          ))}
          {status.errors.map(e => (
            <TableRow key={e.instance}>
              <TableCell colSpan={4}>
                Argo CD instance {e.instance}: {e.code}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    );
  } else if (error) {
    body = <ResponseErrorPanel error={error} />;
  } else {
    body = <Progress />;
  }
  return (
    <div data-testid="gitops-deployments-card">
      <InfoCard
        title="Deployments"
        deepLink={{
          title: 'Environments and history',
          link: `${entityRoute(entityRouteParams(entity))}/deployments`,
        }}
      >
        {body}
      </InfoCard>
    </div>
  );
}
