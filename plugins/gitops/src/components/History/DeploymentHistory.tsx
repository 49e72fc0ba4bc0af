import { InfoCard } from '@backstage/core-components';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import Tab from '@material-ui/core/Tab';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TablePagination from '@material-ui/core/TablePagination';
import TableRow from '@material-ui/core/TableRow';
import Tabs from '@material-ui/core/Tabs';
import { useState } from 'react';
import { RelativeTime } from '../common/RelativeTime';
import { PromotionHistory } from './PromotionHistory';
import { Revision } from '../common/Revision';
import { shortSha } from '../common/format';
import { lastEnvironment } from '../common/pipelineOrder';
import {
  ApplicationAction,
  notWritableReason,
} from '../EnvironmentPipeline/ApplicationAction';

const PAGE_SIZE = 5;

/** Argo CD's deployment history per environment, newest first, a page at a time. */
export function DeploymentHistory(props: { status: EntityDeploymentStatus }) {
  const { status } = props;
  const [selected, setSelected] = useState(0);
  const [page, setPage] = useState(0);
  const env =
    status.environments[Math.min(selected, status.environments.length - 1)];
  if (!env) return null;
  const rows = env.live.history.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  return (
    <InfoCard
      title="History"
      subheader="Deployments Argo CD recorded, newest first"
    >
      <Tabs
        value={Math.min(selected, status.environments.length - 1)}
        onChange={(_, value) => {
          setSelected(value);
          setPage(0);
        }}
        indicatorColor="primary"
      >
        {status.environments.map(e => (
          <Tab
            key={`${e.instance}/${e.application.name}`}
            label={e.environment}
          />
        ))}
      </Tabs>
      <Table
        size="small"
        aria-label={`deployment history of ${env.environment}`}
      >
        <TableHead>
          <TableRow>
            <TableCell>#</TableCell>
            <TableCell>Deployed</TableCell>
            <TableCell>By</TableCell>
            <TableCell>Config commit</TableCell>
            <TableCell />
          </TableRow>
        </TableHead>
        <TableBody>
          {rows.map(entry => (
            <TableRow key={entry.id} data-testid="history-row">
              <TableCell>{entry.id}</TableCell>
              <TableCell>
                <RelativeTime iso={entry.deployedAt} />
              </TableCell>
              <TableCell>
                {entry.initiatedBy?.automated
                  ? 'automated sync'
                  : entry.initiatedBy?.username ?? '—'}
              </TableCell>
              <TableCell>
                <Revision
                  entityRef={status.entityRef}
                  environment={env.environment}
                  repoURL={env.desired?.repoURL}
                  revision={entry.revision}
                />
              </TableCell>
              <TableCell>
                {entry.id !== env.live.deployed?.id && (
                  <ApplicationAction
                    entityRef={status.entityRef}
                    environment={env.environment}
                    application={env.application.name}
                    action="rollback"
                    historyId={entry.id}
                    version={shortSha(entry.revision)}
                    last={env.environment === lastEnvironment(status)}
                    automatedSync={env.live.automatedSync}
                    notWritableReason={notWritableReason(env)}
                  />
                )}
              </TableCell>
            </TableRow>
          ))}
          {rows.length === 0 && (
            <TableRow>
              <TableCell colSpan={5}>No deployments recorded.</TableCell>
            </TableRow>
          )}
        </TableBody>
      </Table>
      <TablePagination
        component="div"
        count={env.live.history.length}
        page={page}
        rowsPerPage={PAGE_SIZE}
        rowsPerPageOptions={[PAGE_SIZE]}
        onPageChange={(_, p) => setPage(p)}
      />
      <PromotionHistory
        entityRef={status.entityRef}
        environment={env.environment}
        version={status}
      />
    </InfoCard>
  );
}
