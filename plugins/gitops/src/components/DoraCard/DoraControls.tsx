import Box from '@material-ui/core/Box';
import FormControl from '@material-ui/core/FormControl';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import ToggleButton from '@material-ui/lab/ToggleButton';
import ToggleButtonGroup from '@material-ui/lab/ToggleButtonGroup';
import { useElementId } from '../../hooks/useElementId';
import { DORA_WINDOWS } from './doraFormat';

/** Which DORA figures: the environment and the window in days. */
export function DoraControls(props: {
  environments: string[];
  environment?: string;
  onEnvironment: (environment: string) => void;
  days: number;
  onDays: (days: number) => void;
}) {
  const { environment, days } = props;
  const labelId = useElementId('dora-environment');
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
        <InputLabel id={labelId}>DORA environment</InputLabel>
        <Select
          labelId={labelId}
          value={environment ?? ''}
          onChange={e => props.onEnvironment(e.target.value as string)}
        >
          {environments.map(name => (
            <MenuItem key={name} value={name}>
              {name}
            </MenuItem>
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
