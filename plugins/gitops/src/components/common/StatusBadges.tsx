import {
  StatusAborted,
  StatusError,
  StatusOK,
  StatusPending,
  StatusRunning,
  StatusWarning,
} from '@backstage/core-components';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';

/** Argo CD's sync status: Synced, OutOfSync or Unknown. */
export function SyncBadge(props: { status: string }) {
  const { status } = props;
  const Status =
    { Synced: StatusOK, OutOfSync: StatusWarning }[status] ?? StatusAborted;
  return (
    <Typography variant="body2" component="span" data-testid="sync-status">
      <Status>{status === 'OutOfSync' ? 'Out of sync' : status}</Status>
    </Typography>
  );
}

/** Argo CD's health: Healthy, Progressing, Degraded, Suspended, Missing, Unknown. */
export function HealthBadge(props: { status: string; message?: string }) {
  const { status, message } = props;
  const Status =
    {
      Healthy: StatusOK,
      Progressing: StatusRunning,
      Degraded: StatusError,
      Suspended: StatusPending,
      Missing: StatusWarning,
    }[status] ?? StatusAborted;
  return (
    <Tooltip title={message ?? ''}>
      <Typography variant="body2" component="span" data-testid="health-status">
        <Status>{status}</Status>
      </Typography>
    </Tooltip>
  );
}

/** Grey: unknown, or nothing to judge yet. */
export const NEUTRAL = '#757575';

/**
 * Colour of an environment at a glance, for the fleet grid: a background for white
 * text, each dark enough for WCAG AA contrast (4.5:1) with it.
 */
export function statusColor(sync: string, health: string): string {
  if (health === 'Degraded') return '#d32f2f';
  if (sync === 'OutOfSync') return '#b35300';
  if (health === 'Progressing' || health === 'Suspended') return '#0277bd';
  if (sync === 'Synced' && health === 'Healthy') return '#2e7d32';
  return NEUTRAL;
}
