import { useApi } from '@backstage/core-plugin-api';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { Link } from '@backstage/core-components';
import { RelativeTime } from '../common/RelativeTime';
import { shortSha } from '../common/format';

/** The promotions and rollbacks of one environment, from the backend's audit trail, newest first. */
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
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map(p => (
            <TableRow key={p.id} data-testid="promotion-row">
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
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </>
  );
}
