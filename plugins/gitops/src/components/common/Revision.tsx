import { Link } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { commitUrl, shortSha } from './format';

/**
 * A config-repository commit: short SHA (linked where the Git host has commit pages)
 * with its author and message, loaded when shown.
 */
export function Revision(props: {
  entityRef: string;
  environment: string;
  repoURL?: string;
  revision: string;
}) {
  const { entityRef, environment, repoURL, revision } = props;
  const api = useApi(gitopsApiRef);
  const { value: metadata } = useAsync(
    () => api.getRevisionMetadata(entityRef, environment, revision),
    [api, entityRef, environment, revision],
  );
  const url = repoURL ? commitUrl(repoURL, revision) : undefined;
  const sha = <code>{shortSha(revision)}</code>;
  return (
    <Typography variant="body2" component="span">
      {url ? <Link to={url}>{sha}</Link> : sha}
      {metadata?.message && (
        <>
          {' '}
          {metadata.message.split('\n')[0]}
          {metadata.author && (
            <Typography
              variant="caption"
              color="textSecondary"
              component="span"
            >
              {' '}
              — {metadata.author.replace(/\s*<.*>$/, '')}
            </Typography>
          )}
        </>
      )}
    </Typography>
  );
}
