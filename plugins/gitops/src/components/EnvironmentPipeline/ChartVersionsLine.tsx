import { ChartVersions } from '@gitops-backstage/plugin-gitops-common';
import Chip from '@material-ui/core/Chip';
import Typography from '@material-ui/core/Typography';

/**
 * The chart of an Application deploying from a chart repository: the version
 * running, what Git asks for (and what that resolves to), the repository's newest.
 */
export function ChartVersionsLine(props: { chart: ChartVersions }) {
  const { chart } = props;
  const pinned = chart.resolved === chart.wanted;
  const where = pinnedWhere(chart);
  return (
    <Typography variant="body2" component="div" data-testid="chart-versions">
      Chart {chart.chart}:{' '}
      <Chip
        size="small"
        label={chart.running ?? 'not deployed'}
        title={`${chart.chart} ${chart.running ?? ''} from ${chart.repoURL}`}
        data-testid="chart-running"
      />{' '}
      in Git{' '}
      <Chip
        size="small"
        variant="outlined"
        label={
          pinned || !chart.resolved
            ? chart.wanted
            : `${chart.wanted} → ${chart.resolved}`
        }
        title={where}
        data-testid="chart-wanted"
      />
      {chart.newest && chart.newest !== chart.resolved && (
        <>
          {' '}
          <Chip
            size="small"
            color="primary"
            variant="outlined"
            label={`newest ${chart.newest}`}
            title={`The newest release ${chart.repoURL} offers`}
            data-testid="chart-newest"
          />
        </>
      )}
      {chart.error && (
        <Typography variant="caption" color="textSecondary" component="div">
          {chart.error.code === 'invalid-annotation'
            ? chart.error.message
            : `Newest version unknown: ${chart.error.message}`}
        </Typography>
      )}
    </Typography>
  );
}

/** Where Git pins the version, as the entity says (`gitops/chart-version-at`). */
function pinnedWhere(chart: ChartVersions) {
  if (!chart.deployedBy)
    return 'targetRevision of the Application (not from Git)';
  const deployer = chart.deployedBy.name;
  return chart.pinnedAt?.kind === 'values'
    ? `${chart.pinnedAt.key} in the values of ${deployer}, which renders the Application`
    : `targetRevision of the Application manifest deployed by ${deployer}`;
}
