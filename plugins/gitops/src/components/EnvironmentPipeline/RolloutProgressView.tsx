import { RolloutProgress } from '@gitops-backstage/plugin-gitops-common';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';

/** Argo Rollouts: canary step N of M with weights, or blue/green active and preview. */
export function RolloutProgressView(props: { rollout: RolloutProgress }) {
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
