import { DoraBand, DoraFigures } from '@gitops-backstage/plugin-gitops-common';

/** The windows a user picks from, in days. */
export const DORA_WINDOWS = [7, 30, 90] as const;

const round1 = (n: number) => Math.round(n * 10) / 10;
const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Hours in the unit a person reads best: minutes, hours or days. */
export function formatDuration(hours?: number): string {
  if (hours === undefined) return '—';
  if (hours < 1) return unit(Math.max(1, Math.round(hours * 60)), 'minute');
  if (hours < 24) return unit(round1(hours), 'hour');
  return unit(round1(hours / 24), 'day');
}

/** Per day from one a day up, per week below (0.2/day reads worse than 1.4/week). */
export function formatFrequency(perDay: number): string {
  if (perDay === 0) return 'none';
  return perDay >= 1 ? `${round1(perDay)}/day` : `${round1(perDay * 7)}/week`;
}

export function formatRate(rate?: number): string {
  return rate === undefined ? '—' : `${round1(rate * 100)}%`;
}

/** The four DORA figures in their usual order, with a short name for table columns. */
export const DORA_FIGURES = [
  {
    key: 'deploymentFrequency',
    title: 'Deployment frequency',
    short: 'Deploys/day',
  },
  { key: 'leadTime', title: 'Lead time for changes', short: 'Lead time' },
  {
    key: 'changeFailureRate',
    title: 'Change failure rate',
    short: 'Failure rate',
  },
  { key: 'timeToRestore', title: 'Time to restore', short: 'Restore' },
] as const;

export type DoraFigureKey = (typeof DORA_FIGURES)[number]['key'];

/** One of the four figures, as text: its value, what it is made of, and its band. */
export interface DoraFigureText {
  key: DoraFigureKey;
  title: string;
  value: string;
  detail: string;
  band?: DoraBand;
  /** For sorting: the raw number, undefined without data. */
  sortValue?: number;
}

/** The four DORA figures as text, in `DORA_FIGURES`' order. */
export function doraFigureTexts(figures: DoraFigures): DoraFigureText[] {
  const {
    deployments,
    windowDays,
    deploymentFrequency,
    leadTime,
    changeFailureRate,
    timeToRestore,
  } = figures;
  const parts: Record<DoraFigureKey, Omit<DoraFigureText, 'key' | 'title'>> = {
    deploymentFrequency: {
      value: formatFrequency(deploymentFrequency.perDay),
      detail: `${unit(deployments, 'deployment')} in ${windowDays} days`,
      band: deploymentFrequency.band,
      sortValue: deploymentFrequency.perDay,
    },
    leadTime: {
      value: formatDuration(leadTime.medianHours),
      detail:
        leadTime.medianHours === undefined
          ? 'no commits shipped'
          : `median; p90 ${formatDuration(leadTime.p90Hours)}, ${unit(
              leadTime.commits,
              'commit',
            )}`,
      band: leadTime.band,
      sortValue: leadTime.medianHours,
    },
    changeFailureRate: {
      value: formatRate(changeFailureRate.rate),
      detail: `${changeFailureRate.failed} of ${unit(
        deployments,
        'deployment',
      )} failed`,
      band: changeFailureRate.band,
      sortValue: changeFailureRate.rate,
    },
    timeToRestore: {
      value: formatDuration(timeToRestore.medianHours),
      detail: `median; ${timeToRestore.restored} restored, ${timeToRestore.open} open`,
      band: timeToRestore.band,
      sortValue: timeToRestore.medianHours,
    },
  };
  return DORA_FIGURES.map(({ key, title }) => ({ key, title, ...parts[key] }));
}
