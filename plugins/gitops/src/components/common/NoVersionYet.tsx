import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import Chip from '@material-ui/core/Chip';
import HourglassEmptyIcon from '@material-ui/icons/HourglassEmpty';

/** Whether the environment's config names no version yet: a new service. */
export function hasNoVersionYet(env?: EnvironmentStatus): boolean {
  return Boolean(env?.desired?.noVersionYet);
}

/**
 * Who gives an environment with no version its first one: CI's first build of main in
 * the first environment, a promotion after it in the others.
 */
export function noVersionHint(first: boolean): string {
  return first
    ? 'waiting for the first build of main'
    : 'waiting for the first build of main, then a promotion';
}

/** Why a promotion from such an environment is refused, as the backend says it too. */
export function noVersionRefusal(env: EnvironmentStatus, first: boolean) {
  return `${
    env.environment
  } has no version yet, so there is nothing to promote (${noVersionHint(
    first,
  )})`;
}

/**
 * "No version yet" in a neutral style: nothing failed, the environment is waiting for
 * its first version (its chart runs no workload until then).
 */
export function NoVersionYet(props: {
  env: EnvironmentStatus;
  first: boolean;
}) {
  const { env, first } = props;
  const file = env.desired?.valuesFile;
  return (
    <Chip
      size="small"
      variant="outlined"
      icon={<HourglassEmptyIcon />}
      label="No version yet"
      title={`No version yet: ${noVersionHint(first)}${
        file ? ` (${file} names no image tag)` : ''
      }`}
      data-testid="no-version-yet"
    />
  );
}
