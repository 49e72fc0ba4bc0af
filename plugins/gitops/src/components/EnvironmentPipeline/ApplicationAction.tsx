import { useApi } from '@backstage/core-plugin-api';
import {
  EnvironmentStatus,
  gitopsApplicationRollbackPermission,
  gitopsApplicationSyncPermission,
  gitopsRolloutControlPermission,
  ROLLOUT_ACTIONS,
  RolloutAction,
} from '@gitops-backstage/plugin-gitops-common';
import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import Alert from '@material-ui/lab/Alert';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import { useState } from 'react';
import { gitopsApiRef } from '../../api';
import { useElementId } from '../../hooks/useElementId';
import { useStatusRefresh } from '../DeploymentsContent/StatusRefreshContext';
import { backendMessage, PermittedButton } from '../common/PermittedButton';

type ActionName = 'sync' | 'refresh' | 'rollback' | RolloutAction;

interface ActionSpec {
  label: string;
  permission: ResourcePermission<'catalog-entity'>;
  question: (app: string, automatedSync?: boolean) => string;
  /** What the environment runs after it, naming both; absent for a refresh, which writes nothing. */
  runs?: (env: string, version: string) => string;
  /** The confirm button in the last environment, naming both. */
  confirm?: (env: string, version: string) => string;
}

const ACTIONS: Record<ActionName, ActionSpec> = {
  sync: {
    label: 'Sync',
    permission: gitopsApplicationSyncPermission,
    question: (app: string) =>
      `Sync ${app} to what its config repository says now? Argo CD applies the manifests of the target revision.`,
    runs: (env, version) => `${env} then runs ${version}.`,
    confirm: (env, version) => `Sync ${env} to ${version}`,
  },
  refresh: {
    label: 'Refresh',
    permission: gitopsApplicationSyncPermission,
    question: (app: string) => `Compare ${app} with Git now?`,
  },
  rollback: {
    label: 'Roll back',
    permission: gitopsApplicationRollbackPermission,
    question: (app: string, automatedSync?: boolean) =>
      automatedSync
        ? `Roll ${app} back to this deployment? Argo CD syncs it automatically, so the rollback goes through Git: this deployment's version is written back into its values file (as a commit, or a pull request where the promotion policy asks for one), and recorded in the promotion history.`
        : `Roll ${app} back to this deployment? Argo CD then runs it while Git still says otherwise (OutOfSync).`,
    runs: (env, version) =>
      `${env} then runs what config commit ${version} deployed.`,
    confirm: (env, version) => `Roll back ${env} to commit ${version}`,
  },
  // Argo Rollouts' controls, named as its dashboard names them.
  resume: {
    label: 'Promote',
    permission: gitopsRolloutControlPermission,
    question: (app: string) =>
      `Promote the Rollout of ${app}: past its current pause to the next canary step, or, for blue/green, switch the active Service to the preview?`,
    runs: (env, version) => `${version} takes more of ${env}'s traffic.`,
    confirm: (env, version) => `Promote ${version} in ${env}`,
  },
  'promote-full': {
    label: 'Promote full',
    permission: gitopsRolloutControlPermission,
    question: (app: string) =>
      `Promote the Rollout of ${app} fully: skip every remaining step and analysis, so the new version takes all traffic?`,
    runs: (env, version) => `${version} takes all of ${env}'s traffic.`,
    confirm: (env, version) => `Promote ${version} fully in ${env}`,
  },
  abort: {
    label: 'Abort',
    permission: gitopsRolloutControlPermission,
    question: (app: string) =>
      `Abort the update of ${app}? All traffic goes back to the stable version and the new one is scaled down; the Rollout stays Degraded until it is retried or updated.`,
    runs: (env, version) =>
      `${env} then runs its stable version only; ${version} is scaled down.`,
    confirm: (env, version) => `Abort ${version} in ${env}`,
  },
  retry: {
    label: 'Retry',
    permission: gitopsRolloutControlPermission,
    question: (app: string) =>
      `Retry the aborted update of ${app} from its first step?`,
    runs: (env, version) => `${env} starts the update to ${version} again.`,
    confirm: (env, version) => `Retry ${version} in ${env}`,
  },
};

const isRolloutControl = (action: string): action is RolloutAction =>
  (ROLLOUT_ACTIONS as readonly string[]).includes(action);

/** Why an environment's Application may not be changed from its entity; undefined when it may. */
export function notWritableReason(env: EnvironmentStatus): string | undefined {
  return env.writable === false
    ? env.notWritableReason ?? 'This Application may not be changed from here'
    : undefined;
}

/**
 * A button for an Argo CD action on one environment: disabled, with the reason, when
 * the user may not; asks for confirmation, then shows what Argo CD answered.
 */
export function ApplicationAction(props: {
  entityRef: string;
  environment: string;
  application: string;
  action: ActionName;
  historyId?: number;
  /** The version the action makes the environment run: the lane's desired version, or a rollback's commit. */
  version?: string;
  /** The pipeline's last environment: a write asks for an explicit confirmation. */
  last?: boolean;
  /** Argo CD syncs the Application by itself (a rollback then goes through Git). */
  automatedSync?: boolean;
  /** Why the Application may not be changed from this entity (the backend's word). */
  notWritableReason?: string;
}) {
  const { entityRef, environment, application, action, historyId } = props;
  const spec = ACTIONS[action];
  const version = props.version ?? 'an unknown version';
  const explicit = Boolean(props.last && spec.confirm);
  const api = useApi(gitopsApiRef);
  const refresh = useStatusRefresh();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const titleId = useElementId('action-title');
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();

  const run = async () => {
    setBusy(true);
    try {
      const { result, promotion } = isRolloutControl(action)
        ? await api.controlRollout(entityRef, environment, action)
        : await api.actOnApplication(entityRef, environment, action, historyId);
      let text = `${spec.label}: ${
        result.operation ? `operation ${result.operation.phase}` : 'done'
      } (${result.syncStatus}, ${result.health})`;
      // A rollback under automated sync went through Git: say how.
      if (promotion?.pullRequestUrl) {
        text = `${spec.label}: pull request opened (${promotion.pullRequestUrl}); merging it makes ${environment} say ${promotion.version} again`;
      } else if (promotion) {
        text = `${spec.label}: committed ${promotion.commit?.slice(
          0,
          7,
        )}, ${environment} says ${promotion.version} again`;
      }
      setOutcome({ ok: true, text });
      refresh();
    } catch (error) {
      setOutcome({ ok: false, text: backendMessage(error) });
    } finally {
      setBusy(false);
      setOpen(false);
    }
  };

  return (
    <>
      <PermittedButton
        size="small"
        variant="outlined"
        permission={spec.permission}
        entityRef={entityRef}
        verb={action}
        refusal={props.notWritableReason}
        disabled={busy}
        onClick={() => setOpen(true)}
      >
        {spec.label}
      </PermittedButton>
      <Dialog
        open={open}
        onClose={() => setOpen(false)}
        aria-labelledby={titleId}
      >
        <DialogTitle id={titleId}>
          {spec.label} {application} ({environment})
        </DialogTitle>
        <DialogContent>
          <DialogContentText>
            {spec.question(application, props.automatedSync)}
          </DialogContentText>
          {spec.runs &&
            (explicit ? (
              <Alert severity="warning" data-testid="last-environment-warning">
                {environment} is the last environment:{' '}
                {spec.runs(environment, version)}
              </Alert>
            ) : (
              props.version && (
                <DialogContentText>
                  {spec.runs(environment, version)}
                </DialogContentText>
              )
            ))}
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(false)}>Cancel</Button>
          <Button
            color="primary"
            variant="contained"
            onClick={run}
            disabled={busy}
          >
            {explicit ? spec.confirm!(environment, version) : spec.label}
          </Button>
        </DialogActions>
      </Dialog>
      {outcome && (
        <Alert
          severity={outcome.ok ? 'success' : 'error'}
          onClose={() => setOutcome(undefined)}
          style={{ marginTop: 8 }}
          data-testid="action-outcome"
        >
          {outcome.text}
        </Alert>
      )}
    </>
  );
}
