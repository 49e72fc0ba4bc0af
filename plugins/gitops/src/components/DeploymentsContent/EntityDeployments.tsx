import { Progress, ResponseErrorPanel } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Box from '@material-ui/core/Box';
import Alert from '@material-ui/lab/Alert';
import Skeleton from '@material-ui/lab/Skeleton';
import { useCallback } from 'react';
import { gitopsApiRef } from '../../api';
import { entitySignalChannel } from '@gitops-backstage/plugin-gitops-common';
import { useLiveStatus } from '../../hooks/useLiveStatus';
import { EnvironmentPipeline } from '../EnvironmentPipeline/EnvironmentPipeline';
import { DeploymentHistory } from '../History/DeploymentHistory';
import { DoraCard } from '../DoraCard/DoraCard';
import { pipelineEnvironments } from '../common/pipelineOrder';
import { StatusRefreshContext } from './StatusRefreshContext';

/** How often the tab refreshes while visible (failures back off). */
export const REFRESH_MS = 15_000;

/**
 * The environment pipeline, how the entity delivers (DORA) and its history, refreshed
 * while visible.
 */
export function EntityDeployments(props: { entityRef: string }) {
  const { entityRef } = props;
  const api = useApi(gitopsApiRef);
  const load = useCallback(
    (signal: AbortSignal) => api.getEntityStatus(entityRef, { signal }),
    [api, entityRef],
  );
  const {
    value: status,
    error,
    loading,
    retry,
  } = useLiveStatus(load, entitySignalChannel(entityRef), REFRESH_MS);

  if (!status) {
    if (error) return <ResponseErrorPanel error={error} />;
    return (
      <Box display="flex" style={{ gap: 16 }} data-testid="loading">
        {loading && <Progress />}
        {[0, 1, 2].map(i => (
          <Skeleton key={i} variant="rect" height={220} style={{ flex: 1 }} />
        ))}
      </Box>
    );
  }
  return (
    <StatusRefreshContext.Provider value={retry}>
      <Box display="flex" flexDirection="column" style={{ gap: 16 }}>
        {error && (
          <Alert severity="warning">
            Could not refresh ({error.message}); showing the last answer.
          </Alert>
        )}
        {status.errors.map(e => (
          <Alert
            key={e.instance}
            severity="warning"
            data-testid="instance-error"
          >
            Argo CD instance <strong>{e.instance}</strong> did not answer:{' '}
            {e.code} — {e.message}. Its environments are missing below.
          </Alert>
        ))}
        <EnvironmentPipeline status={status} />
        <DoraCard
          entityRef={entityRef}
          environments={pipelineEnvironments(status)}
        />
        <DeploymentHistory status={status} />
      </Box>
    </StatusRefreshContext.Provider>
  );
}
