import Tooltip from '@material-ui/core/Tooltip';
import { relativeTime } from './format';

/** "3 hours ago", with the exact time on hover. */
export function RelativeTime(props: { iso: string }) {
  const { relative, exact } = relativeTime(props.iso);
  return (
    <Tooltip title={exact}>
      <time dateTime={props.iso}>{relative}</time>
    </Tooltip>
  );
}
