import {
  EnvironmentStatus,
  RolloutProgress,
} from '@gitops-backstage/plugin-gitops-common';
import { Link } from '@backstage/core-components';
import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { ImageVersions } from '../common/ImageVersions';
import { ApplicationAction, notWritableReason } from './ApplicationAction';

/**
 * An environment's Rollout: its progress, and the actions Argo CD offers for it now
 * (promote, promote full, abort, retry), as the Argo Rollouts dashboard shows them.
 */
export function RolloutLane(props: {
  entityRef: string;
  env: EnvironmentStatus;
  rollout: RolloutProgress;
  /** The version being rolled out: the lane's desired version. */
  version?: string;
  /** The pipeline's last environment: its controls ask for an explicit confirmation. */
  last?: boolean;
}) {
  const { entityRef, env, rollout } = props;
  return (
    <>
      <RolloutProgressView rollout={rollout} />
      {rollout.aborted && (
        // An alert's colours keep AA contrast; the theme's error red as text does not.
        <Alert severity="error" data-testid="rollout-aborted">
          Update aborted: traffic is back on the stable version
        </Alert>
      )}
      {rollout.actions.length > 0 && (
        <Box
          display="flex"
          style={{ gap: 8 }}
          mt={1}
          flexWrap="wrap"
          data-testid="rollout-actions"
        >
          {rollout.actions.map(action => (
            <ApplicationAction
              key={action}
              entityRef={entityRef}
              environment={env.environment}
              application={env.application.name}
              action={action}
              version={props.version}
              last={props.last}
              notWritableReason={notWritableReason(env)}
            />
          ))}
        </Box>
      )}
    </>
  );
}

/** Argo Rollouts' own words for a pause: `CanaryPauseStep`, `BlueGreenPause`, … */
function PauseReasons(props: { rollout: RolloutProgress }) {
  const reasons = props.rollout.pauseReasons;
  if (!reasons?.length) return null;
  return <> (paused: {reasons.join(', ')})</>;
}

/** Argo Rollouts: canary step N of M with weights, or blue/green active and preview. */
function RolloutProgressView(props: { rollout: RolloutProgress }) {
  const { rollout } = props;
  if (rollout.strategy === 'blueGreen') {
    return (
      <div data-testid="rollout">
        <Typography variant="body2">
          Blue/green {rollout.phase}
          <PauseReasons rollout={rollout} />
        </Typography>
        {rollout.previewImages ? (
          <>
            <Typography
              variant="body2"
              component="div"
              data-testid="rollout-preview"
            >
              Preview ({rollout.previewSelector}):{' '}
              <ImageVersions images={rollout.previewImages} />
              {rollout.previewUrl && (
                <>
                  {' at '}
                  <Link to={rollout.previewUrl}>{rollout.previewUrl}</Link>
                </>
              )}
            </Typography>
            <Typography
              variant="body2"
              component="div"
              data-testid="rollout-active"
            >
              Active ({rollout.activeSelector ?? '—'}):{' '}
              {rollout.activeImages ? (
                <ImageVersions images={rollout.activeImages} />
              ) : (
                <em>unknown</em>
              )}
            </Typography>
          </>
        ) : (
          <Typography variant="body2" color="textSecondary">
            No preview: the active ReplicaSet ({rollout.activeSelector ?? '—'})
            runs the current version
          </Typography>
        )}
      </div>
    );
  }
  const steps = rollout.stepCount ?? 0;
  const step = Math.min(rollout.currentStepIndex ?? steps, steps);
  return (
    <div data-testid="rollout">
      <Typography variant="body2">
        Canary {rollout.phase}: step {step} of {steps}
        {rollout.canaryWeight !== undefined &&
          `, ${rollout.canaryWeight}% canary / ${
            rollout.stableWeight ?? 100 - rollout.canaryWeight
          }% stable`}
        <PauseReasons rollout={rollout} />
      </Typography>
      <LinearProgress
        variant="determinate"
        value={steps ? (100 * step) / steps : 100}
        aria-label={`canary step ${step} of ${steps}`}
      />
    </div>
  );
}
