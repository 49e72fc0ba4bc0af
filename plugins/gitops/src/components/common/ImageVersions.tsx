import Chip from '@material-ui/core/Chip';
import { versionOf } from './format';

/**
 * Images as chips of their versions, each titled with its whole reference; a long
 * version ends in an ellipsis rather than push the lane wider.
 */
export function ImageVersions(props: { images: string[] }) {
  return (
    <>
      {props.images.map(image => (
        <Chip
          key={image}
          size="small"
          label={versionOf(image)}
          title={image}
          style={{ maxWidth: '100%' }}
        />
      ))}
    </>
  );
}
