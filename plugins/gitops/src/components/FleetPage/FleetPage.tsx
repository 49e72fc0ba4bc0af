import {
  Content,
  Header,
  Link,
  Page,
  Progress,
  ResponseErrorPanel,
  Table,
  TableColumn,
} from '@backstage/core-components';
import { useApi, useRouteRef } from '@backstage/core-plugin-api';
import { parseEntityRef } from '@backstage/catalog-model';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import {
  EnvironmentStatus,
  FleetStatus,
  FLEET_SIGNAL_CHANNEL,
} from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import Checkbox from '@material-ui/core/Checkbox';
import FormControl from '@material-ui/core/FormControl';
import FormControlLabel from '@material-ui/core/FormControlLabel';
import InputLabel from '@material-ui/core/InputLabel';
import MenuItem from '@material-ui/core/MenuItem';
import Select from '@material-ui/core/Select';
import Tab from '@material-ui/core/Tab';
import Tabs from '@material-ui/core/Tabs';
import Alert from '@material-ui/lab/Alert';
import { useCallback, useMemo, useState } from 'react';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { useLiveStatus } from '../../hooks/useLiveStatus';
import { NEUTRAL, statusColor } from '../common/StatusBadges';
import { versionOf } from '../common/format';
import { noVersionHint } from '../common/NoVersionYet';
import { backendMessage } from '../common/PermittedButton';
import { DoraControls } from '../DoraCard/DoraControls';
import { doraColumns, FleetTeamsTable } from './FleetDora';

type Row = FleetStatus['entities'][number] & { id: string; name: string };

const FLAGS = {
  outOfSync: {
    label: 'Out of sync',
    test: (e: EnvironmentStatus) => e.live.syncStatus === 'OutOfSync',
  },
  degraded: {
    label: 'Degraded',
    test: (e: EnvironmentStatus) => e.live.health.status === 'Degraded',
  },
  drift: { label: 'Drift', test: (e: EnvironmentStatus) => e.drift === true },
};
type Flag = keyof typeof FLAGS;

/** What a cell says: the running version, or "No version yet" for a new service. */
function cellText(env: EnvironmentStatus, first: boolean) {
  if (env.desired?.noVersionYet && env.live.images.length === 0) {
    return {
      text: 'No version yet',
      hint: `no version yet, ${noVersionHint(first)}`,
      // Neutral: nothing failed, the environment waits for its first version.
      color: NEUTRAL,
    };
  }
  return {
    text: `${env.live.images[0] ? versionOf(env.live.images[0]) : '—'}${
      env.drift ? ' ≠ Git' : ''
    }`,
    hint: env.drift ? 'drift' : undefined,
    color: statusColor(env.live.syncStatus, env.live.health.status),
  };
}

function EnvironmentCell(props: { envs: EnvironmentStatus[]; first: boolean }) {
  if (props.envs.length === 0) return <span>—</span>;
  return (
    <>
      {props.envs.map(env => {
        const { text, hint, color } = cellText(env, props.first);
        return (
          <Box
            key={`${env.instance}/${env.application.name}`}
            component="span"
            px={1}
            py={0.25}
            mr={0.5}
            borderRadius={4}
            color="#fff"
            style={{ background: color }}
            title={`${env.live.syncStatus}, ${env.live.health.status}${
              hint ? `, ${hint}` : ''
            } (Argo CD ${env.instance})`}
            data-testid={`fleet-${env.environment}`}
          >
            {text}
          </Box>
        );
      })}
    </>
  );
}

/** A filter by one field: "All", or one of the values the fleet has. */
function FilterSelect(props: {
  label: string;
  value: string;
  options: string[];
  onChange: (value: string) => void;
}) {
  const id = `${props.label.toLocaleLowerCase('en-US')}-filter`;
  return (
    <FormControl style={{ minWidth: 180 }}>
      <InputLabel id={id}>{props.label}</InputLabel>
      <Select
        labelId={id}
        value={props.value}
        onChange={e => props.onChange(e.target.value as string)}
      >
        <MenuItem value="">All</MenuItem>
        {props.options.map(option => (
          <MenuItem key={option} value={option}>
            {option}
          </MenuItem>
        ))}
      </Select>
    </FormControl>
  );
}

/**
 * Every annotated service × environment, coloured by status, with its DORA figures in
 * one environment; filter, sort and page. The Teams view has each owner's figures.
 */
export function FleetPage() {
  const api = useApi(gitopsApiRef);
  const entityRoute = useRouteRef(entityRouteRef);
  const load = useCallback(
    (signal: AbortSignal) => api.getFleet({ signal }),
    [api],
  );
  const {
    value: fleet,
    error,
    loading,
  } = useLiveStatus(load, FLEET_SIGNAL_CHANNEL, 30_000);
  const [owner, setOwner] = useState('');
  const [system, setSystem] = useState('');
  const [flags, setFlags] = useState<Record<Flag, boolean>>({
    outOfSync: false,
    degraded: false,
    drift: false,
  });
  const [view, setView] = useState<'services' | 'teams'>('services');
  const [pickedEnvironment, setPickedEnvironment] = useState<string>();
  const [days, setDays] = useState(30);

  // Once per environment and window, not on every status refresh: the figures move
  // slowly. It waits for the fleet, whose last environment is the default.
  const fleetLoaded = Boolean(fleet);
  const doraEnvironment = pickedEnvironment ?? fleet?.environmentOrder.at(-1);
  const { value: dora, error: doraError } = useAsync(
    async () =>
      fleetLoaded
        ? api.getFleetDora({ environment: doraEnvironment, days })
        : undefined,
    [api, fleetLoaded, doraEnvironment, days],
  );
  const doraByEntity = useMemo(
    () => new Map(dora?.entities.map(e => [e.entityRef, e.figures])),
    [dora],
  );

  const rows: Row[] = useMemo(
    () =>
      (fleet?.entities ?? []).map(e => ({
        ...e,
        id: e.entityRef,
        name: e.title ?? parseEntityRef(e.entityRef).name,
      })),
    [fleet],
  );
  const owners = useMemo(
    () => [...new Set(rows.flatMap(r => (r.owner ? [r.owner] : [])))].sort(),
    [rows],
  );
  const systems = useMemo(
    () => [...new Set(rows.flatMap(r => (r.system ? [r.system] : [])))].sort(),
    [rows],
  );
  const visible = rows.filter(
    r =>
      (!owner || r.owner === owner) &&
      (!system || r.system === system) &&
      (Object.keys(FLAGS) as Flag[]).every(
        flag => !flags[flag] || r.environments.some(FLAGS[flag].test),
      ),
  );

  const columns: TableColumn<Row>[] = [
    {
      title: 'Service',
      field: 'name',
      highlight: true,
      render: row => {
        const ref = parseEntityRef(row.entityRef);
        return <Link to={`${entityRoute(ref)}/deployments`}>{row.name}</Link>;
      },
    },
    { title: 'Owner', field: 'owner' },
    { title: 'System', field: 'system' },
    ...(fleet?.environmentOrder ?? []).map(
      (environment): TableColumn<Row> => ({
        title: environment,
        sorting: true,
        customSort: (a, b) =>
          (
            a.environments.find(e => e.environment === environment)?.live
              .images[0] ?? ''
          ).localeCompare(
            b.environments.find(e => e.environment === environment)?.live
              .images[0] ?? '',
          ),
        render: row => (
          <EnvironmentCell
            envs={row.environments.filter(e => e.environment === environment)}
            first={row.environments[0]?.environment === environment}
          />
        ),
      }),
    ),
    ...(dora ? doraColumns<Row>(row => doraByEntity.get(row.entityRef)) : []),
  ];

  return (
    <Page themeId="tool">
      <Header
        title="GitOps fleet"
        subtitle="Every service in every environment"
      />
      <Content>
        <div data-testid="gitops-fleet">
          {error && !fleet && <ResponseErrorPanel error={error} />}
          {fleet?.errors.map(e => (
            <Alert
              key={e.instance}
              severity="warning"
              data-testid="instance-error"
            >
              Argo CD instance <strong>{e.instance}</strong> did not answer:{' '}
              {e.code} — {e.message}
            </Alert>
          ))}
          {doraError && (
            <Alert severity="warning" data-testid="dora-error">
              Could not load the DORA figures: {backendMessage(doraError)}
            </Alert>
          )}
          <Box
            display="flex"
            alignItems="flex-end"
            justifyContent="space-between"
            flexWrap="wrap"
            style={{ gap: 16 }}
            mt={2}
          >
            <Tabs
              value={view}
              onChange={(_, value) => setView(value)}
              indicatorColor="primary"
              aria-label="fleet view"
            >
              <Tab value="services" label="Services" />
              <Tab value="teams" label="Teams" />
            </Tabs>
            <DoraControls
              environments={fleet?.environmentOrder ?? []}
              environment={doraEnvironment}
              onEnvironment={setPickedEnvironment}
              days={days}
              onDays={setDays}
            />
          </Box>
          {view === 'services' ? (
            <>
              <Box
                display="flex"
                alignItems="center"
                flexWrap="wrap"
                style={{ gap: 16 }}
                my={2}
              >
                <FilterSelect
                  label="Owner"
                  value={owner}
                  options={owners}
                  onChange={setOwner}
                />
                <FilterSelect
                  label="System"
                  value={system}
                  options={systems}
                  onChange={setSystem}
                />
                {(Object.keys(FLAGS) as Flag[]).map(flag => (
                  <FormControlLabel
                    key={flag}
                    control={
                      <Checkbox
                        checked={flags[flag]}
                        onChange={e =>
                          setFlags({ ...flags, [flag]: e.target.checked })
                        }
                      />
                    }
                    label={FLAGS[flag].label}
                  />
                ))}
              </Box>
              <Table<Row>
                title={`${visible.length} of ${rows.length} services`}
                isLoading={loading && !fleet}
                columns={columns}
                data={visible}
                options={{
                  paging: true,
                  pageSize: 20,
                  pageSizeOptions: [20, 50, 100],
                  search: true,
                  padding: 'dense',
                  // Its drag handles would nest in the sort buttons (axe: nested-interactive).
                  draggable: false,
                }}
              />
            </>
          ) : (
            <Box mt={2}>
              {dora ? (
                <FleetTeamsTable dora={dora} />
              ) : (
                !doraError && <Progress />
              )}
            </Box>
          )}
        </div>
      </Content>
    </Page>
  );
}
