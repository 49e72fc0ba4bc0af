import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { DoraFigures } from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import LinearProgress from '@material-ui/core/LinearProgress';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { backendMessage } from '../common/PermittedButton';
import { DoraBandChip } from './DoraBandChip';
import { DoraControls } from './DoraControls';
import { doraFigureTexts } from './doraFormat';
import { DoraTrendChart } from './DoraTrendChart';

/** The four figures side by side (wrapping when narrow), each with its band. */
export function DoraFigureGrid(props: { figures: DoraFigures }) {
  return (
    <Box
      display="grid"
      gridTemplateColumns="repeat(auto-fit, minmax(160px, 1fr))"
      style={{ gap: 16 }}
      my={2}
    >
      {doraFigureTexts(props.figures).map(figure => (
        <Box key={figure.key} data-testid={`dora-${figure.key}`}>
          <Typography variant="caption" color="textSecondary" component="h3">
            {figure.title}
          </Typography>
          <Typography variant="h6" component="div">
            {figure.value}
          </Typography>
          <Typography variant="body2" color="textSecondary">
            {figure.detail}
          </Typography>
          <DoraBandChip band={figure.band} figure={figure.title} />
        </Box>
      ))}
    </Box>
  );
}

/**
 * An entity's four DORA figures in one environment over 7, 30 or 90 days, with a
 * weekly trend. The environment is the backend's choice until the user picks one.
 */
export function DoraCard(props: {
  entityRef: string;
  /** The entity's environments, in pipeline order. */
  environments: string[];
}) {
  const { entityRef, environments } = props;
  const api = useApi(gitopsApiRef);
  const [environment, setEnvironment] = useState<string>();
  const [days, setDays] = useState(30);
  const { value, error, loading } = useAsync(
    () => api.getEntityDora(entityRef, { environment, days }),
    [api, entityRef, environment, days],
  );
  // useAsync keeps the previous answer while the next loads: the card does not jump.
  let body;
  if (value) {
    body = (
      <>
        {loading && <LinearProgress aria-label="loading the DORA figures" />}
        <DoraFigureGrid figures={value} />
        <Typography variant="subtitle2" component="h3">
          Deployments per week
        </Typography>
        <DoraTrendChart trend={value.trend} />
      </>
    );
  } else if (error) {
    body = (
      <Alert severity="warning" data-testid="dora-error">
        Could not load the DORA figures: {backendMessage(error)}
      </Alert>
    );
  } else {
    body = <Progress />;
  }
  return (
    <div data-testid="gitops-dora-card">
      <InfoCard
        title="Delivery performance"
        subheader={
          value
            ? `DORA figures of ${value.environment} over ${value.windowDays} days`
            : 'DORA figures'
        }
      >
        <DoraControls
          environments={environments}
          environment={environment ?? value?.environment}
          onEnvironment={setEnvironment}
          days={days}
          onDays={setDays}
        />
        {body}
      </InfoCard>
    </div>
  );
}
