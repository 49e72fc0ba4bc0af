import {
  EnvironmentStatus,
  formatImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import ArrowDownwardIcon from '@material-ui/icons/ArrowDownward';
import ArrowForwardIcon from '@material-ui/icons/ArrowForward';
import { versionOf } from '../common/format';
import { hasNoVersionYet, noVersionRefusal } from '../common/NoVersionYet';
import { notWritableReason } from './ApplicationAction';
import { PromoteButton } from './PromoteButton';

/** The version an environment's config names, else the one it runs. */
export function versionIn(env?: EnvironmentStatus): string | undefined {
  if (!env) return undefined;
  if (env.desired?.image)
    return versionOf(formatImageReference(env.desired.image));
  return env.live.images[0] ? versionOf(env.live.images[0]) : undefined;
}

/** Between two lanes: what promoting the first into the second would change. */
export function PromotionStep(props: {
  entityRef: string;
  from?: EnvironmentStatus;
  to?: EnvironmentStatus;
  /** `from` is the pipeline's first environment. */
  fromFirst: boolean;
  /** `to` is the pipeline's last environment. */
  toLast: boolean;
  /** The lanes are stacked: the step points down, between them. */
  stacked: boolean;
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
  const Arrow = props.stacked ? ArrowDownwardIcon : ArrowForwardIcon;
  return (
    <Box
      display="flex"
      flexDirection={props.stacked ? 'row' : 'column'}
      flexWrap="wrap"
      alignItems="center"
      alignSelf="center"
      justifyContent="center"
      minWidth={0}
      p={1}
      // On the paper, not the page's grey: muted text keeps its contrast there.
      bgcolor="background.paper"
      border={1}
      borderColor="divider"
      borderRadius={4}
      style={{
        gap: 4,
        overflowWrap: 'anywhere',
        justifySelf: props.stacked ? 'center' : undefined,
      }}
      data-testid="promotion-step"
    >
      <Arrow color="action" />
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
          last={props.toLast}
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
