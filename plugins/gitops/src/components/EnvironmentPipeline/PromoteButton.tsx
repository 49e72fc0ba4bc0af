import { useApi } from '@backstage/core-plugin-api';
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
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemIcon from '@material-ui/core/ListItemIcon';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import BlockIcon from '@material-ui/icons/Block';
import CheckCircleIcon from '@material-ui/icons/CheckCircle';
import { Link } from '@backstage/core-components';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import { gitopsApiRef } from '../../api';
import { useElementId } from '../../hooks/useElementId';
import { useStatusRefresh } from '../DeploymentsContent/StatusRefreshContext';
import { backendMessage, PermittedButton } from '../common/PermittedButton';
import { DiffView } from '../common/DiffView';
import { ChangeLogList } from '../ChangeLog/ChangeLogList';

/** "Promote 9f8e7d6", or "Promote 9f8e7d6 to prod" into the last environment. */
function confirmLabel(version?: string, lastEnvironment?: string) {
  return ['Promote', version, lastEnvironment && `to ${lastEnvironment}`]
    .filter(Boolean)
    .join(' ');
}

/**
 * Promote `from` into `to`: a preview first (what moves, the app commits it ships,
 * every gate's verdict, the values-file and rendered-manifest diffs), then the commit or pull request, with an
 * idempotency key so a retry writes once.
 */
export function PromoteButton(props: {
  entityRef: string;
  from: string;
  to: string;
  /**
   * Why the backend would refuse whatever the permission says: `from` has no version
   * yet, or `to`'s Application may not be written from this entity.
   */
  refusal?: string;
  /** Nothing to promote now: no button, but an open dialog stays open. */
  hidden?: boolean;
  /** `to` is the pipeline's last environment: the dialog warns, and its button names it. */
  last?: boolean;
}) {
  const { entityRef, from, to, last } = props;
  const api = useApi(gitopsApiRef);
  const refresh = useStatusRefresh();
  const [open, setOpen] = useState(false);
  const [key, setKey] = useState('');
  const [preview, setPreview] = useState<PromotionResult>();
  const [result, setResult] = useState<PromotionResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const titleId = useElementId('promote-title');

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
      setError(backendMessage(e));
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
      setError(backendMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {!props.hidden && (
        <PermittedButton
          size="small"
          color="primary"
          variant="contained"
          permission={gitopsPromotionCreatePermission}
          entityRef={entityRef}
          verb="promote"
          refusal={props.refusal}
          onClick={start}
        >
          Promote
        </PermittedButton>
      )}
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        maxWidth="md"
        fullWidth
        aria-labelledby={titleId}
      >
        <DialogTitle id={titleId}>
          Promote {from} → {to}
        </DialogTitle>
        <DialogContent>
          {busy && <LinearProgress />}
          {preview && !result && (
            <>
              <Typography variant="body1" data-testid="promotion-summary">
                {preview.moves && preview.moves.length > 1 ? (
                  <>{to} moves its chart and its image together</>
                ) : (
                  <>
                    {to} moves{' '}
                    {preview.moves?.[0]?.what === 'chart' ? 'its chart ' : ''}
                    from <code>
                      {preview.previousVersion ?? 'nothing'}
                    </code> to <code>{preview.version}</code>
                  </>
                )}
                , by a{' '}
                {preview.method === 'pull-request' ? 'pull request' : 'commit'}{' '}
                to its config repository.
              </Typography>
              {preview.moves && (
                <List dense data-testid="promotion-moves">
                  {preview.moves.map(move => (
                    <ListItem key={move.what} disableGutters>
                      <ListItemText
                        primary={
                          <>
                            {move.what === 'chart' ? 'Chart' : 'Image'}{' '}
                            <code>{move.from ?? 'nothing'}</code> →{' '}
                            <code>{move.to}</code>
                          </>
                        }
                        secondary={`${move.key} in ${move.file}`}
                      />
                    </ListItem>
                  ))}
                </List>
              )}
              {preview.changeLog && (
                // What ships, before how the config changes: what a reviewer asks first.
                <ChangeLogList changeLog={preview.changeLog} environment={to} />
              )}
              {last && (
                <Alert
                  severity="warning"
                  style={{ marginTop: 8 }}
                  data-testid="last-environment-warning"
                >
                  {to} is the last environment: confirming makes it run{' '}
                  <code>{preview.version}</code>.
                </Alert>
              )}
              <List dense data-testid="promotion-gates">
                {preview.gates.map(gate => (
                  <ListItem key={gate.name} disableGutters>
                    <ListItemIcon>
                      {gate.passed ? (
                        <CheckCircleIcon
                          fontSize="small"
                          style={{ color: '#2e7d32' }}
                          titleAccess="passed"
                        />
                      ) : (
                        <BlockIcon
                          fontSize="small"
                          color="error"
                          titleAccess="refused"
                        />
                      )}
                    </ListItemIcon>
                    <ListItemText
                      primary={gate.name}
                      secondary={gate.message}
                    />
                  </ListItem>
                ))}
              </List>
              <Typography variant="subtitle2" component="h3">
                Config repository
              </Typography>
              <DiffView
                diff={preview.diff}
                label={`config repository diff of ${to}`}
                data-testid="promotion-diff"
              />
              <Typography variant="subtitle2" component="h3">
                Rendered manifests
              </Typography>
              {preview.renderedDiff ? (
                <DiffView
                  diff={preview.renderedDiff}
                  label={`rendered manifests diff of ${to}`}
                  maxHeight={300}
                  data-testid="promotion-rendered-diff"
                />
              ) : (
                <Typography variant="body2" color="textSecondary">
                  {preview.renderedDiffNote}
                </Typography>
              )}
            </>
          )}
          {result && (
            <Alert severity="success" data-testid="promotion-result">
              {result.pullRequestUrl ? (
                <>
                  Opened <Link to={result.pullRequestUrl}>a pull request</Link>:
                  once merged, {to} says <code>{result.version}</code>.
                </>
              ) : (
                <>
                  Committed <code>{result.commit?.slice(0, 7)}</code>: {to} now
                  says <code>{result.version}</code>. Argo CD deploys it on its
                  next sync.
                </>
              )}
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
              disabled={
                !preview ||
                busy ||
                Boolean(error) ||
                preview.gates.some(g => !g.passed)
              }
              onClick={confirm}
            >
              {confirmLabel(preview?.version, last ? to : undefined)}
            </Button>
          )}
        </DialogActions>
      </Dialog>
    </>
  );
}
