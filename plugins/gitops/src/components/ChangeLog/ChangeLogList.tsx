import { Link } from '@backstage/core-components';
import {
  ChangeLog,
  ChangeLogCommit,
  ChangeLogPullRequest,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import Chip from '@material-ui/core/Chip';
import List from '@material-ui/core/List';
import ListItem from '@material-ui/core/ListItem';
import ListItemText from '@material-ui/core/ListItemText';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { RelativeTime } from '../common/RelativeTime';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** What the change log means for `environment`, in one line. */
export function changeLogHeadline(
  changeLog: ChangeLog,
  environment: string,
): string {
  const { total } = changeLog;
  switch (changeLog.direction) {
    case 'ahead':
      return `${environment} gets ${
        total === 1 ? 'this change' : `these ${total} changes`
      }`;
    case 'behind':
      return `${environment} rolls back ${plural(total, 'change')}`;
    case 'same':
      return `${environment} stays on the same commit: no changes`;
    case 'diverged':
      return `The versions have diverged: ${environment} gets ${plural(
        total,
        'commit',
      )} of another line of history`;
    default:
      return `The changes for ${environment} could not be listed`;
  }
}

function PullRequestItem(props: { pullRequest: ChangeLogPullRequest }) {
  const { number, title, author, url } = props.pullRequest;
  const label = `#${number}`;
  return (
    <ListItem disableGutters dense>
      <ListItemText
        primary={
          <>
            {url ? <Link to={url}>{label}</Link> : label} {title}
          </>
        }
        secondary={author}
      />
    </ListItem>
  );
}

function CommitItem(props: { commit: ChangeLogCommit }) {
  const { sha, subject, author, date, url, issueKeys } = props.commit;
  const short = <code>{sha.slice(0, 7)}</code>;
  return (
    <ListItem disableGutters dense data-testid="change-log-commit">
      <ListItemText
        primary={
          <>
            {url ? <Link to={url}>{short}</Link> : short} {subject}{' '}
            {issueKeys.map(key => (
              <Chip
                key={key}
                size="small"
                variant="outlined"
                label={key}
                component="span"
                style={{ marginRight: 4 }}
              />
            ))}
          </>
        }
        secondary={
          (author || date) && (
            <>
              {author}
              {author && date && ' · '}
              {date && <RelativeTime iso={date} />}
            </>
          )
        }
      />
    </ListItem>
  );
}

/**
 * The app-repository commits a version move carries: a headline, the pull requests,
 * then the commits, newest first, in a list that scrolls past `maxHeight`. A change log
 * that could not be listed says why; it never throws.
 */
export function ChangeLogList(props: {
  changeLog: ChangeLog;
  /** The environment the change log is for: the one that gets (or loses) the commits. */
  environment: string;
  maxHeight?: number;
}) {
  const { changeLog, environment, maxHeight = 240 } = props;
  const { commits, pullRequests, total, compareUrl } = changeLog;
  const more = total - commits.length;
  const warning =
    changeLog.error?.message ??
    (changeLog.direction === 'unknown'
      ? 'A commit of the two versions could not be found.'
      : undefined);
  return (
    <Box data-testid="change-log" mb={1}>
      <Typography
        variant="subtitle2"
        component="h3"
        data-testid="change-log-headline"
      >
        {changeLogHeadline(changeLog, environment)}
      </Typography>
      {warning && (
        <Alert severity="warning" data-testid="change-log-error">
          {warning}
        </Alert>
      )}
      {(commits.length > 0 || pullRequests.length > 0 || more > 0) && (
        // Focusable: a keyboard user must be able to scroll it.
        <Box
          maxHeight={maxHeight}
          overflow="auto"
          tabIndex={0}
          role="region"
          aria-label={`changes for ${environment}`}
        >
          {pullRequests.length > 0 && (
            <List dense aria-label="pull requests" disablePadding>
              {pullRequests.map(pr => (
                <PullRequestItem key={pr.number} pullRequest={pr} />
              ))}
            </List>
          )}
          {commits.length > 0 && (
            <List dense aria-label="commits" disablePadding>
              {commits.map(commit => (
                <CommitItem key={commit.sha} commit={commit} />
              ))}
            </List>
          )}
          {more > 0 && (
            <Typography variant="body2" data-testid="change-log-more">
              {compareUrl ? (
                <Link to={compareUrl}>and {more} more</Link>
              ) : (
                `and ${more} more`
              )}
            </Typography>
          )}
        </Box>
      )}
    </Box>
  );
}
