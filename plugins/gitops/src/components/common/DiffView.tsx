import { alpha, makeStyles } from '@material-ui/core/styles';

export type DiffLineKind = 'added' | 'removed' | 'hunk' | 'header' | 'context';

/** Lines that head a file's diff: `diff --git`, `Index:`, `===`, `--- a/x`, `+++ b/x`. */
const FILE_HEADER = /^(diff |Index: |=+$|--- |\+\+\+ )/;

/**
 * The lines of a unified diff with their kinds. File headers come only before the
 * first hunk: inside one, `--- x` is a removed `-- x` line.
 */
export function diffLines(
  diff: string,
): { text: string; kind: DiffLineKind }[] {
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let inHunk = false;
  return lines.map(text => {
    let kind: DiffLineKind = 'context';
    if (text.startsWith('@@')) {
      inHunk = true;
      kind = 'hunk';
    } else if (!inHunk && FILE_HEADER.test(text)) kind = 'header';
    else if (text.startsWith('+')) kind = 'added';
    else if (text.startsWith('-')) kind = 'removed';
    return { text, kind };
  });
}

// Tints of the palette's colours under the primary text colour, as GitHub and Argo CD
// show diffs: at these strengths the text keeps WCAG AA contrast in light and dark themes.
const useStyles = makeStyles(theme => {
  const tint = (color: string) => ({
    backgroundColor: alpha(color, theme.palette.type === 'dark' ? 0.24 : 0.16),
  });
  return {
    diff: {
      margin: 0,
      overflow: 'auto',
      fontSize: theme.typography.pxToRem(13),
      color: theme.palette.text.primary,
      border: `1px solid ${theme.palette.divider}`,
      borderRadius: theme.shape.borderRadius,
    },
    // At least as wide as the box, so a line's tint spans the longest line too.
    lines: { display: 'inline-block', minWidth: '100%' },
    line: { display: 'block', padding: theme.spacing(0, 1) },
    added: tint(theme.palette.success.main),
    removed: tint(theme.palette.error.main),
    hunk: tint(theme.palette.info.main),
    header: { fontWeight: theme.typography.fontWeightBold as number },
    context: {},
  };
});

/**
 * A unified diff, its added, removed and hunk-header lines tinted. It scrolls, so it
 * takes the keyboard focus (arrow keys scroll it) and is named for screen readers.
 */
export function DiffView(props: {
  diff: string;
  label: string;
  maxHeight?: number;
  'data-testid'?: string;
}) {
  const classes = useStyles();
  return (
    <pre
      role="region"
      aria-label={props.label}
      // A scrolling region is reached by keyboard only if it takes the focus (WCAG 2.1.1).
      // eslint-disable-next-line jsx-a11y/no-noninteractive-tabindex
      tabIndex={0}
      className={classes.diff}
      style={{ maxHeight: props.maxHeight }}
      data-testid={props['data-testid']}
    >
      <code className={classes.lines}>
        {diffLines(props.diff).map(({ text, kind }, i) => (
          <span
            key={i}
            className={`${classes.line} ${classes[kind]}`}
            data-diff={kind}
          >
            {text}
            {'\n'}
          </span>
        ))}
      </code>
    </pre>
  );
}
