import {
  EntityDeploymentStatus,
  EnvironmentStatus,
  formatImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import ArrowForwardIcon from '@material-ui/icons/ArrowForward';
import { versionOf } from '../common/format';
import { hasNoVersionYet, noVersionRefusal } from '../common/NoVersionYet';
import { EnvironmentLane, MissingLane } from './EnvironmentLane';
import { notWritableReason } from './ApplicationAction';
import { PromoteButton } from './PromoteButton';

function versionIn(env?: EnvironmentStatus): string | undefined {
  if (!env) return undefined;
  if (env.desired?.image)
    return versionOf(formatImageReference(env.desired.image));
  return env.live.images[0] ? versionOf(env.live.images[0]) : undefined;
}

/** Between two lanes: what promoting the first into the second would change. */
function PromotionStep(props: {
  entityRef: string;
  from?: EnvironmentStatus;
  to?: EnvironmentStatus;
  /** `from` is the pipeline's first environment. */
  fromFirst: boolean;
}) {
  const from = versionIn(props.from);
  const to = versionIn(props.to);
  // A new service: nothing to promote yet, or the next environment's first version.
  const fromEmpty = hasNoVersionYet(props.from);
  const toEmpty = hasNoVersionYet(props.to);
  let text = '';
  if (fromEmpty) text = 'nothing to promote yet';
  else if (from && toEmpty) text = `promote: none → ${from}`;
  else if (from && to)
    text = from === to ? 'in step' : `promote: ${to} → ${from}`;
  const promotable = Boolean(from && (toEmpty || (to && from !== to)));
  return (
    <Box
      display="flex"
      flexDirection="column"
      alignItems="center"
      justifyContent="center"
      px={1}
      minWidth={96}
      data-testid="promotion-step"
    >
      <ArrowForwardIcon color="action" />
      <Typography variant="caption" color="textSecondary" align="center">
        {text}
      </Typography>
      {props.from && props.to && (
        // Mounted while there is nothing to promote too: a promotion's dialog stays
        // open with its result when the refresh after it puts the two in step.
        <PromoteButton
          entityRef={props.entityRef}
          from={props.from.environment}
          to={props.to.environment}
          hidden={!promotable && !fromEmpty}
          refusal={
            fromEmpty
              ? noVersionRefusal(props.from, props.fromFirst)
              : notWritableReason(props.to)
          }
        />
      )}
    </Box>
  );
}

/**
 * The environments in pipeline order, as lanes; environments beyond the configured
 * order follow. An environment nobody answered for names the failing instances.
 */
export function EnvironmentPipeline(props: { status: EntityDeploymentStatus }) {
  const { status } = props;
  const names = [
    ...status.environmentOrder,
    ...status.environments
      .map(e => e.environment)
      .filter(e => !status.environmentOrder.includes(e)),
  ].filter((e, i, all) => all.indexOf(e) === i);
  const lanes = names.map(name => ({
    name,
    envs: status.environments.filter(e => e.environment === name),
  }));
  return (
    <Box
      display="flex"
      alignItems="stretch"
      overflow="auto"
      data-testid="pipeline"
    >
      {lanes.map(({ name, envs }, i) => (
        <Box
          key={name}
          display="flex"
          alignItems="stretch"
          flex="1 1 0"
          minWidth={280}
        >
          {i > 0 && (
            <PromotionStep
              entityRef={status.entityRef}
              from={lanes[i - 1].envs[0]}
              to={envs[0]}
              fromFirst={i === 1}
            />
          )}
          <Box
            flex={1}
            display="flex"
            flexDirection="column"
            style={{ gap: 8 }}
          >
            {envs.length > 0 ? (
              envs.map(env => (
                <EnvironmentLane
                  key={`${env.instance}/${env.application.name}`}
                  entityRef={status.entityRef}
                  env={env}
                  first={i === 0}
                />
              ))
            ) : (
              <MissingLane environment={name} errors={status.errors} />
            )}
          </Box>
        </Box>
      ))}
    </Box>
  );
}
