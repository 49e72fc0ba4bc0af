import { useApi } from '@backstage/core-plugin-api';
import { PromotionRecord } from '@gitops-backstage/plugin-gitops-common';
import LinearProgress from '@material-ui/core/LinearProgress';
import Alert from '@material-ui/lab/Alert';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { ChangeLogList } from '../ChangeLog/ChangeLogList';
import { backendMessage } from '../common/PermittedButton';

/** The app commits a promotion or rollback moved its environment by, loaded when shown. */
export function PromotionChanges(props: {
  entityRef: string;
  record: PromotionRecord & { previousVersion: string };
}) {
  const { entityRef, record } = props;
  const api = useApi(gitopsApiRef);
  const { value, error, loading } = useAsync(
    () =>
      api.getChangeLog(entityRef, {
        environment: record.to,
        from: record.previousVersion,
        to: record.version,
      }),
    [api, entityRef, record.to, record.previousVersion, record.version],
  );
  if (loading) return <LinearProgress aria-label="loading the changes" />;
  if (error) {
    return (
      <Alert severity="warning" data-testid="change-log-error">
        Could not list the changes: {backendMessage(error)}
      </Alert>
    );
  }
  return value ? (
    <ChangeLogList changeLog={value} environment={record.to} />
  ) : null;
}
