import {
  EnvironmentStatus,
  RolloutProgress,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import { ApplicationAction, notWritableReason } from './ApplicationAction';

/**
 * An environment's Rollout: its progress, and the actions Argo CD offers for it now
 * (promote, promote full, abort, retry), as the Argo Rollouts dashboard shows them.
 */
export function RolloutLane(props: {
  entityRef: string;
  env: EnvironmentStatus;
  rollout: RolloutProgress;
}) {
  const { entityRef, env, rollout } = props;
  return (
    <>
      <RolloutProgressView rollout={rollout} />
      {rollout.aborted && (
        <Typography variant="body2" color="error" data-testid="rollout-aborted">
          Update aborted: traffic is back on the stable version
        </Typography>
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
              notWritableReason={notWritableReason(env)}
            />
          ))}
        </Box>
      )}
    </>
  );
}

/** Argo Rollouts: canary step N of M with weights, or blue/green active and preview. */
function RolloutProgressView(props: { rollout: RolloutProgress }) {
  const { rollout } = props;
  if (rollout.strategy === 'blueGreen') {
    return (
      <Typography variant="body2" data-testid="rollout">
        Blue/green {rollout.phase}: active {rollout.activeSelector ?? '—'},
        preview {rollout.previewSelector ?? '—'}
      </Typography>
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
      </Typography>
      <LinearProgress
        variant="determinate"
        value={steps ? (100 * step) / steps : 100}
        aria-label={`canary step ${step} of ${steps}`}
      />
    </div>
  );
}
