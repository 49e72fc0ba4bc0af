import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  gitopsPromotionCreatePermission,
  PromotionResult,
} from '@gitops-backstage/plugin-gitops-common';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogTitle from '@material-ui/core/DialogTitle';
import LinearProgress from '@material-ui/core/LinearProgress';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import { gitopsApiRef } from '../../api';
import { useStatusRefresh } from '../DeploymentsContent/StatusRefreshContext';

function messageOf(error: unknown): string {
  // The backend's message (ResponseError carries it in its body) names the gate or problem.
  const body = (error as { body?: { error?: { message?: string } } }).body;
  return body?.error?.message ?? (error as Error).message;
}

/**
 * Promote `from` into `to`: a preview first (what moves, the values-file diff, or the
 * gate that refuses), then the commit, with an idempotency key so a retry commits once.
 */
export function PromoteButton(props: {
  entityRef: string;
  from: string;
  to: string;
}) {
  const { entityRef, from, to } = props;
  const api = useApi(gitopsApiRef);
  const refresh = useStatusRefresh();
  const { allowed, loading } = usePermission({
    permission: gitopsPromotionCreatePermission,
    resourceRef: entityRef,
  });
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const [preview, setPreview] = useState<PromotionResult>();
  const [result, setResult] = useState<PromotionResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const start = async () => {
    setOpen(true);
    setPreview(undefined);
    setResult(undefined);
    setError(undefined);
    setKey(crypto.randomUUID());
    setBusy(true);
    try {
      setPreview(await api.promote(entityRef, { from, to, dryRun: true }));
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const confirm = async () => {
    setBusy(true);
    try {
      setResult(
        await api.promote(entityRef, { from, to, idempotencyKey: key }),
      );
      refresh();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };

  const button = (
    <Button
      size="small"
      color="primary"
      variant="contained"
      disabled={!allowed || loading}
      onClick={start}
    >
      Promote
    </Button>
  );
  return (
    <>
      {allowed || loading ? (
        button
      ) : (
        <Tooltip
          title={`You may not promote ${entityRef} (${gitopsPromotionCreatePermission.name})`}
        >
          <span>{button}</span>
        </Tooltip>
      )}
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        maxWidth="md"
        fullWidth
      >
        <DialogTitle>
          Promote {from} → {to}
        </DialogTitle>
        <DialogContent>
          {busy && <LinearProgress />}
          {preview && !result && (
            <>
              <Typography variant="body1" data-testid="promotion-summary">
                {to} moves from{' '}
                <code>{preview.previousVersion ?? 'nothing'}</code> to{' '}
                <code>{preview.version}</code>, by a {preview.method} to its
                config repository. The gates passed.
              </Typography>
              <pre data-testid="promotion-diff" style={{ overflow: 'auto' }}>
                {preview.diff}
              </pre>
            </>
          )}
          {result && (
            <Alert severity="success" data-testid="promotion-result">
              Committed <code>{result.commit?.slice(0, 7)}</code>: {to} now says{' '}
              <code>{result.version}</code>. Argo CD deploys it on its next
              sync.
            </Alert>
          )}
          {error && (
            <Alert severity="error" data-testid="promotion-error">
              {error}
            </Alert>
          )}
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(false)}>
            {result ? 'Close' : 'Cancel'}
          </Button>
          {!result && (
            <Button
              color="primary"
              variant="contained"
              disabled={!preview || busy || Boolean(error)}
              onClick={confirm}
            >
              Promote {preview?.version ?? ''}
            </Button>
          )}
        </DialogActions>
      </Dialog>
    </>
  );
}
