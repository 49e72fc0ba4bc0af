import Box from '@material-ui/core/Box';
import FormControl from '@material-ui/core/FormControl';
import InputLabel from '@material-ui/core/InputLabel';
import Select from '@material-ui/core/Select';
import { makeStyles } from '@material-ui/core/styles';
import ToggleButton from '@material-ui/lab/ToggleButton';
import ToggleButtonGroup from '@material-ui/lab/ToggleButtonGroup';
import { useElementId } from '../../hooks/useElementId';
import { DORA_WINDOWS } from './doraFormat';

const useStyles = makeStyles(theme => ({
  // The label's default grey falls under AA contrast on the pages' grey background.
  label: { color: theme.palette.text.primary },
}));

/**
 * Which DORA figures: the environment and the window in days. A native select: its
 * name is its label and its value is what it shows, as assistive technology expects.
 */
export function DoraControls(props: {
  environments: string[];
  environment?: string;
  onEnvironment: (environment: string) => void;
  days: number;
  onDays: (days: number) => void;
}) {
  const { environment, days } = props;
  const classes = useStyles();
  const selectId = useElementId('dora-environment');
  // The one the backend chose may be missing from a list that is still loading.
  const environments = [
    ...new Set([...props.environments, ...(environment ? [environment] : [])]),
  ];
  return (
    <Box
      display="flex"
      alignItems="flex-end"
      flexWrap="wrap"
      style={{ gap: 16 }}
    >
      <FormControl style={{ minWidth: 160 }}>
        <InputLabel htmlFor={selectId} className={classes.label} shrink>
          DORA environment
        </InputLabel>
        <Select
          native
          inputProps={{ id: selectId }}
          value={environment ?? ''}
          onChange={e => props.onEnvironment(e.target.value as string)}
        >
          {environments.map(name => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </Select>
      </FormControl>
      <ToggleButtonGroup
        size="small"
        exclusive
        value={days}
        // Clicking the selected window again would select none: keep it.
        onChange={(_, value: number | null) => value && props.onDays(value)}
        aria-label="DORA window"
      >
        {DORA_WINDOWS.map(n => (
          <ToggleButton key={n} value={n}>
            {n} days
          </ToggleButton>
        ))}
      </ToggleButtonGroup>
    </Box>
  );
}
