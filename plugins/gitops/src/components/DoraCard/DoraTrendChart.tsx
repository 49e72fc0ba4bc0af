import { DoraFigures } from '@gitops-backstage/plugin-gitops-common';
import { useTheme } from '@material-ui/core/styles';
import Typography from '@material-ui/core/Typography';

const WIDTH = 300;
const HEIGHT = 60;
const FAILED = '#c62828';

/** What the chart shows, in words: its accessible name. */
export function trendSummary(trend: DoraFigures['trend']): string {
  const deployments = trend.reduce((sum, w) => sum + w.deployments, 0);
  const failed = trend.reduce((sum, w) => sum + w.failed, 0);
  const weeks = trend
    .map(w =>
      w.failed ? `${w.deployments} (${w.failed} failed)` : w.deployments,
    )
    .join(', ');
  return `Deployments per week over ${trend.length} weeks, oldest first: ${weeks}. ${deployments} in all, ${failed} failed.`;
}

/**
 * Deployments per week as bars, the failed part of each in red at its foot: a small
 * inline SVG, scaled to the busiest week.
 */
export function DoraTrendChart(props: { trend: DoraFigures['trend'] }) {
  const { trend } = props;
  const theme = useTheme();
  if (trend.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        No weeks to show.
      </Typography>
    );
  }
  const max = Math.max(1, ...trend.map(w => w.deployments));
  const slot = WIDTH / trend.length;
  const barWidth = Math.max(1, slot * 0.7);
  const heightOf = (n: number) => (n / max) * (HEIGHT - 2);
  const summary = trendSummary(trend);
  return (
    <svg
      role="img"
      aria-label={summary}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      width="100%"
      height={HEIGHT}
      preserveAspectRatio="none"
      data-testid="dora-trend"
    >
      <title>{summary}</title>
      <line
        x1={0}
        x2={WIDTH}
        y1={HEIGHT - 0.5}
        y2={HEIGHT - 0.5}
        stroke={theme.palette.divider}
      />
      {trend.map((week, i) => {
        const x = i * slot + (slot - barWidth) / 2;
        const total = heightOf(week.deployments);
        const failed = heightOf(week.failed);
        return (
          <g key={week.weekStart}>
            <title>
              Week of {week.weekStart.slice(0, 10)}: {week.deployments}{' '}
              deployments, {week.failed} failed
            </title>
            <rect
              x={x}
              y={HEIGHT - total}
              width={barWidth}
              height={total}
              fill={theme.palette.primary.main}
            />
            {week.failed > 0 && (
              <rect
                x={x}
                y={HEIGHT - failed}
                width={barWidth}
                height={failed}
                fill={FAILED}
                data-failed={week.failed}
              />
            )}
          </g>
        );
      })}
    </svg>
  );
}
