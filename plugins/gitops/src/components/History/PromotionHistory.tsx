import { useApi } from '@backstage/core-plugin-api';
import { PromotionRecord } from '@gitops-backstage/plugin-gitops-common';
import IconButton from '@material-ui/core/IconButton';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import KeyboardArrowDownIcon from '@material-ui/icons/KeyboardArrowDown';
import KeyboardArrowUpIcon from '@material-ui/icons/KeyboardArrowUp';
import { Fragment, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { Link } from '@backstage/core-components';
import { RelativeTime } from '../common/RelativeTime';
import { shortSha } from '../common/format';
import { PromotionChanges } from './PromotionChanges';

/** A record whose two versions are known: its app commits can be listed. */
function hasVersions(
  record: PromotionRecord,
): record is PromotionRecord & { previousVersion: string } {
  return Boolean(record.previousVersion && record.version);
}

/**
 * The promotions and rollbacks of one environment, from the backend's audit trail, newest
 * first; each opens onto the app commits it moved the environment by.
 */
export function PromotionHistory(props: {
  entityRef: string;
  environment: string;
  /** Changes when the status reloads, so a new promotion shows up. */
  version: unknown;
}) {
  const { entityRef, environment, version } = props;
  const api = useApi(gitopsApiRef);
  const { value } = useAsync(
    () => api.listPromotions(entityRef),
    [api, entityRef, version],
  );
  const rows = (value?.items ?? []).filter(p => p.to === environment);
  const [expanded, setExpanded] = useState<string>();
  if (rows.length === 0) return null;
  return (
    <>
      <Typography variant="subtitle2" style={{ marginTop: 16 }}>
        Promotions and rollbacks of {environment}
      </Typography>
      <Table
        size="small"
        aria-label={`promotions and rollbacks of ${environment}`}
      >
        <TableHead>
          <TableRow>
            <TableCell>Requested</TableCell>
            <TableCell>By</TableCell>
            <TableCell>Version</TableCell>
            <TableCell>Status</TableCell>
            <TableCell>Changes</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map(p => (
            <Fragment key={p.id}>
              <TableRow data-testid="promotion-row">
                <TableCell>
                  <RelativeTime iso={p.createdAt} />
                </TableCell>
                <TableCell>{p.actor}</TableCell>
                <TableCell>
                  {p.previousVersion ?? '—'} → {p.version}{' '}
                  {p.kind === 'rollback' ? '(rollback)' : `(from ${p.from})`}
                </TableCell>
                <TableCell>
                  {p.status}
                  {p.commit && ` · ${shortSha(p.commit)}`}
                  {p.pullRequestUrl && (
                    <>
                      {' · '}
                      <Link to={p.pullRequestUrl}>pull request</Link>
                    </>
                  )}
                  {p.status === 'failed' && p.message && ` — ${p.message}`}
                </TableCell>
                <TableCell padding="checkbox">
                  {hasVersions(p) && (
                    <IconButton
                      size="small"
                      aria-label={`changes from ${p.previousVersion} to ${p.version}`}
                      aria-expanded={expanded === p.id}
                      onClick={() =>
                        setExpanded(expanded === p.id ? undefined : p.id)
                      }
                    >
                      {expanded === p.id ? (
                        <KeyboardArrowUpIcon fontSize="small" />
                      ) : (
                        <KeyboardArrowDownIcon fontSize="small" />
                      )}
                    </IconButton>
                  )}
                </TableCell>
              </TableRow>
              {expanded === p.id && hasVersions(p) && (
                <TableRow data-testid="promotion-changes">
                  <TableCell colSpan={5}>
                    <PromotionChanges entityRef={entityRef} record={p} />
                  </TableCell>
                </TableRow>
              )}
            </Fragment>
          ))}
        </TableBody>
      </Table>
    </>
  );
}
