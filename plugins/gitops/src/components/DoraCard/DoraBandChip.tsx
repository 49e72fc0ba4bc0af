import { DoraBand } from '@gitops-backstage/plugin-gitops-common';
import Chip from '@material-ui/core/Chip';

// Each background with its text colour at WCAG AA contrast (4.5:1); the label says the
// band too, so colour is never the only sign.
const BAND_STYLE: Record<DoraBand, { background: string; color: string }> = {
  elite: { background: '#2e7d32', color: '#fff' },
  high: { background: '#00796b', color: '#fff' },
  medium: { background: '#ffb300', color: 'rgba(0, 0, 0, 0.87)' },
  low: { background: '#c62828', color: '#fff' },
};

const LABEL: Record<DoraBand, string> = {
  elite: 'Elite',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

/** A figure's DORA band as a coloured chip; "No data" without one. */
export function DoraBandChip(props: { band?: DoraBand; figure?: string }) {
  const { band, figure } = props;
  const title = figure && `${figure}: ${band ? `${band} band` : 'no data'}`;
  if (!band) {
    return (
      <Chip
        size="small"
        variant="outlined"
        label="No data"
        title={title}
        data-band="none"
      />
    );
  }
  return (
    <Chip
      size="small"
      label={LABEL[band]}
      title={title}
      style={BAND_STYLE[band]}
      data-band={band}
    />
  );
}
