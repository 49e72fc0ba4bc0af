import { Link } from '@backstage/core-components';
import {
  EnvironmentStatus,
  formatImageReference,
  InstanceError,
  parseImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import Card from '@material-ui/core/Card';
import CardContent from '@material-ui/core/CardContent';
import CardHeader from '@material-ui/core/CardHeader';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';
import ReportProblemOutlinedIcon from '@material-ui/icons/ReportProblemOutlined';
import Alert from '@material-ui/lab/Alert';
import { HealthBadge, SyncBadge } from '../common/StatusBadges';
import { noVersionHint, NoVersionYet } from '../common/NoVersionYet';
import { RelativeTime } from '../common/RelativeTime';
import { ImageVersions } from '../common/ImageVersions';
import { Revision } from '../common/Revision';
import { versionOf } from '../common/format';
import { ApplicationAction, notWritableReason } from './ApplicationAction';
import { ChartVersionsLine } from './ChartVersionsLine';
import { CommitsAhead, tagsApart } from './CommitsAhead';
import { RolloutLane } from './RolloutLane';

/** The running images, the one the config names first. */
function runningImages(env: EnvironmentStatus): string[] {
  const repository = env.desired?.image?.repository;
  return [...env.live.images].sort(
    (a, b) =>
      Number(parseImageReference(b).repository === repository) -
      Number(parseImageReference(a).repository === repository),
  );
}

// Lanes share the pipeline's width equally: long names wrap, and a long version ends in
// an ellipsis (its chip's title has all of it) rather than push the lane wider.
const LANE_STYLE = {
  height: '100%',
  minWidth: 0,
  overflowWrap: 'anywhere',
} as const;
const CHIP_STYLE = { maxWidth: '100%' };

const OPERATION_SEVERITY: Record<string, 'info' | 'error'> = {
  Running: 'info',
  Terminating: 'info',
  Failed: 'error',
  Error: 'error',
};

function DriftChip() {
  return (
    // Not the theme's pink: white on it fails AA contrast.
    <Chip
      size="small"
      icon={<ReportProblemOutlinedIcon />}
      label="Drift: Git differs from what runs"
      style={CHIP_STYLE}
      data-testid="drift"
    />
  );
}

/** What the environment's config names: a version, no version yet, or why unknown. */
function DesiredVersion(props: { env: EnvironmentStatus; first: boolean }) {
  const { env, first } = props;
  const { desired } = env;
  if (desired?.image) {
    return (
      <Chip
        size="small"
        variant="outlined"
        label={versionOf(formatImageReference(desired.image))}
        title={`${formatImageReference(desired.image)} (${desired.valuesFile})`}
        style={CHIP_STYLE}
      />
    );
  }
  if (desired?.noVersionYet) {
    return (
      <>
        <NoVersionYet env={env} first={first} />{' '}
        <Typography variant="caption" color="textSecondary">
          {noVersionHint(first)}
        </Typography>
      </>
    );
  }
  return (
    <em>{desired?.error ? `unknown — ${desired.error.message}` : 'unknown'}</em>
  );
}

/** One environment: what runs, what Git says, and how the last deployment went. */
export function EnvironmentLane(props: {
  entityRef: string;
  env: EnvironmentStatus;
  /** The pipeline's first environment: the one CI's builds of main go to. */
  first: boolean;
  /** The pipeline's last environment: its writes ask for an explicit confirmation. */
  last?: boolean;
  /** The next environment in the pipeline: the lane counts the commits it lacks. */
  next?: EnvironmentStatus;
}) {
  const { entityRef, env, first, last, next } = props;
  const { live, desired } = env;
  const apart = tagsApart(env, next);
  const running = runningImages(env);
  const desiredVersion =
    desired?.image && versionOf(formatImageReference(desired.image));
  // A chart from a chart repository whose values name no image: its version is the chart's.
  const chartOnly =
    !!env.chart && !desired?.image && !desired?.noVersionYet && !desired?.error;
  const operationSeverity =
    live.operation && OPERATION_SEVERITY[live.operation.phase];
  return (
    <Card
      variant="outlined"
      data-testid={`lane-${env.environment}`}
      style={LANE_STYLE}
    >
      <CardHeader
        title={env.environment}
        subheader={`${env.application.name} · Argo CD ${env.instance}`}
        action={
          env.application.url && (
            <Link
              to={env.application.url}
              aria-label={`${env.application.name} in Argo CD`}
            >
              Argo CD
            </Link>
          )
        }
      />
      <CardContent>
        {env.error && (
          <Alert
            severity="error"
            style={{ marginBottom: 8 }}
            data-testid="application-error"
          >
            {env.error.message}
          </Alert>
        )}
        <Box display="flex" flexWrap="wrap" style={{ gap: 16 }} mb={1}>
          <SyncBadge status={live.syncStatus} />
          <HealthBadge
            status={live.health.status}
            message={live.health.message}
          />
        </Box>
        {operationSeverity && (
          <Alert severity={operationSeverity} style={{ marginBottom: 8 }}>
            Operation {live.operation!.phase}
            {live.operation!.message && `: ${live.operation!.message}`}
          </Alert>
        )}
        {live.health.message && live.health.status === 'Degraded' && (
          <Alert severity="error" style={{ marginBottom: 8 }}>
            {live.health.message}
          </Alert>
        )}
        <Typography
          variant="body2"
          component="div"
          data-testid="running-version"
        >
          Running:{' '}
          {running.length > 0 ? (
            <ImageVersions images={running} />
          ) : (
            <em>nothing</em>
          )}
        </Typography>
        {env.chart && <ChartVersionsLine chart={env.chart} />}
        {chartOnly ? (
          env.drift && <DriftChip />
        ) : (
          <Typography
            variant="body2"
            component="div"
            data-testid="desired-version"
          >
            In Git: <DesiredVersion env={env} first={first} />{' '}
            {env.drift && <DriftChip />}
          </Typography>
        )}
        {apart && next && (
          <CommitsAhead
            entityRef={entityRef}
            environment={next.environment}
            version={apart.version}
            nextVersion={apart.nextVersion}
          />
        )}
        {live.deployed && (
          <Typography variant="body2" component="div">
            Deployed <RelativeTime iso={live.deployed.deployedAt} />
            {live.deployed.initiatedBy?.automated ? ' by automated sync' : ''}
            {live.deployed.initiatedBy?.username
              ? ` by ${live.deployed.initiatedBy.username}`
              : ''}
            :{' '}
            {env.chart ? (
              // A chart repository's revision is the chart version, not a commit.
              `chart ${env.chart.chart} ${live.deployed.revision}`
            ) : (
              <Revision
                entityRef={entityRef}
                environment={env.environment}
                repoURL={desired?.repoURL}
                revision={live.deployed.revision}
              />
            )}
          </Typography>
        )}
        {live.rollout && (
          <RolloutLane
            entityRef={entityRef}
            env={env}
            rollout={live.rollout}
            version={desiredVersion}
            last={last}
          />
        )}
        <Box display="flex" style={{ gap: 8 }} mt={1} flexWrap="wrap">
          {(['sync', 'refresh'] as const).map(action => (
            <ApplicationAction
              key={action}
              entityRef={entityRef}
              environment={env.environment}
              application={env.application.name}
              action={action}
              version={desiredVersion}
              last={last}
              notWritableReason={notWritableReason(env)}
            />
          ))}
        </Box>
      </CardContent>
    </Card>
  );
}

/** An environment no instance answered for, and why. */
export function MissingLane(props: {
  environment: string;
  errors: InstanceError[];
}) {
  const { environment, errors } = props;
  return (
    <Card
      variant="outlined"
      data-testid={`lane-${environment}`}
      style={LANE_STYLE}
    >
      <CardHeader title={environment} subheader="No answer" />
      <CardContent>
        {errors.length > 0 ? (
          errors.map(error => (
            <Alert
              key={error.instance}
              severity="warning"
              data-testid="instance-error"
            >
              Argo CD instance <strong>{error.instance}</strong>: {error.code} —{' '}
              {error.message}
            </Alert>
          ))
        ) : (
          <Typography variant="body2">
            No Argo CD Application of this entity is labelled{' '}
            <code>gitops/environment: {environment}</code>.
          </Typography>
        )}
      </CardContent>
    </Card>
  );
}
