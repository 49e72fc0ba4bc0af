import { Link } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';

/**
 * The image tags of an environment and the next one's when both name one and they
 * differ: only then is there something to count.
 */
export function tagsApart(
  env: EnvironmentStatus,
  next?: EnvironmentStatus,
): { version: string; nextVersion: string } | undefined {
  const version = env.desired?.image?.tag;
  const nextVersion = next?.desired?.image?.tag;
  if (!version || !nextVersion || version === nextVersion) return undefined;
  return { version, nextVersion };
}

/**
 * "7 commits ahead of staging": how many app commits promoting this environment's
 * version into the next would ship. Nothing while loading or when the change log
 * cannot say; a failure never breaks the lane.
 */
export function CommitsAhead(props: {
  entityRef: string;
  /** The next environment. */
  environment: string;
  /** This environment's version. */
  version: string;
  /** The next environment's version: the change log starts there. */
  nextVersion: string;
}) {
  const { entityRef, environment, version, nextVersion } = props;
  const api = useApi(gitopsApiRef);
  // The backend starts from the version the next environment names now: a new one
  // there asks again.
  const { value } = useAsync(
    () => api.getChangeLog(entityRef, { environment, to: version }),
    [api, entityRef, environment, version, nextVersion],
  );
  if (!value || value.direction !== 'ahead' || value.total === 0) return null;
  const text = `${value.total} commit${
    value.total === 1 ? '' : 's'
  } ahead of ${environment}`;
  return (
    <Typography variant="body2" component="div" data-testid="commits-ahead">
      {value.compareUrl ? <Link to={value.compareUrl}>{text}</Link> : text}
    </Typography>
  );
}
