import { Table, TableColumn } from '@backstage/core-components';
import { DoraFigures, FleetDora } from '@gitops-backstage/plugin-gitops-common';
import Box from '@material-ui/core/Box';
import { DoraBandChip } from '../DoraCard/DoraBandChip';
import {
  DORA_FIGURES,
  DoraFigureText,
  doraFigureTexts,
} from '../DoraCard/doraFormat';

/** One figure in a table cell: its value and band, what it is made of on hover. */
function DoraFigureCell(props: { text?: DoraFigureText }) {
  const { text } = props;
  if (!text) return <span>—</span>;
  return (
    <Box
      display="flex"
      alignItems="center"
      flexWrap="wrap"
      style={{ gap: 4 }}
      title={`${text.title}: ${text.detail}`}
    >
      <span>{text.value}</span>
      <DoraBandChip band={text.band} figure={text.title} />
    </Box>
  );
}

/** Figures without data sort last, whichever way. */
function compareFigures(a?: number, b?: number) {
  if (a === undefined) return b === undefined ? 0 : 1;
  if (b === undefined) return -1;
  return a - b;
}

/** Four compact columns, one per DORA figure, of whatever rows have figures. */
export function doraColumns<T extends object>(
  figuresOf: (row: T) => DoraFigures | undefined,
): TableColumn<T>[] {
  const textOf = (row: T, index: number) => {
    const figures = figuresOf(row);
    return figures && doraFigureTexts(figures)[index];
  };
  return DORA_FIGURES.map(
    ({ short }, index): TableColumn<T> => ({
      title: short,
      sorting: true,
      customSort: (a, b) =>
        compareFigures(
          textOf(a, index)?.sortValue,
          textOf(b, index)?.sortValue,
        ),
      render: row => <DoraFigureCell text={textOf(row, index)} />,
    }),
  );
}

type TeamRow = FleetDora['teams'][number] & { id: string };

/** Each owner's four DORA figures over its services. */
export function FleetTeamsTable(props: { dora: FleetDora }) {
  const { dora } = props;
  const rows: TeamRow[] = dora.teams.map(team => ({ ...team, id: team.owner }));
  const columns: TableColumn<TeamRow>[] = [
    { title: 'Owner', field: 'owner', highlight: true },
    { title: 'Services', field: 'entities', type: 'numeric' },
    ...doraColumns<TeamRow>(team => team.figures),
  ];
  return (
    <Table<TeamRow>
      title={`${rows.length} ${rows.length === 1 ? 'team' : 'teams'} in ${
        dora.environment
      } over ${dora.windowDays} days`}
      columns={columns}
      data={rows}
      options={{
        paging: rows.length > 20,
        pageSize: 20,
        search: false,
        padding: 'dense',
        draggable: false,
      }}
    />
  );
}
