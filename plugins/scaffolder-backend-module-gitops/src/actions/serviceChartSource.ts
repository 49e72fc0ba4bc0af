import { InputError } from '@backstage/errors';
import { checkRemoteUrl } from './gitRemote';

/** Where a service's chart lives: its config repository, or a chart repository. */
export type ChartSource = 'git' | 'chartRepository';

/**
 * The version the template publishes first (the chart's Chart.yaml says it too), and
 * every environment's Application starts with: CI's builds come after it.
 */
export const INITIAL_CHART_VERSION = '0.1.0';

/** What the plan action's inputs and output say of them. */
export const CHART_SOURCE_DOCS = {
  chartSource:
    'git (default): the chart in the config repository; chartRepository: the chart in the app repository, released by its CI to a chart repository',
  chartRepository:
    'URL of the development chart repository (a classic Helm repository with a ChartMuseum upload API), with chartSource chartRepository',
  argocdLayout:
    'The Argo CD objects the template writes; chartRepository needs applications',
  chart:
    "Where the service's chart lives (config/chart or app/chart), its chart repository and first version (empty for git), and each environment's values file relative to it",
};

export interface ChartPlan {
  source: ChartSource;
  name: string;
  repository: string;
  path: string;
  version: string;
  valuesFilePattern: string;
}

/**
 * The chart's source from the form: refuses a chart repository URL that is not
 * http(s), carries credentials, a query or a fragment (Applications name it, and CI
 * appends `/api/charts` to upload).
 */
export function planChartSource(input: {
  name: string;
  chartSource?: ChartSource;
  chartRepository?: string;
  argocdLayout?: 'applications' | 'applicationSet';
}): ChartPlan {
  const source = input.chartSource ?? 'git';
  if (source === 'git') {
    return {
      source,
      name: input.name,
      repository: '',
      path: 'config/chart',
      version: '',
      valuesFilePattern: 'values-{environment}.yaml',
    };
  }
  if (input.argocdLayout === 'applicationSet') {
    throw new InputError(
      "chartSource chartRepository needs argocdLayout applications: promotion pins each environment's chart version in its own Application file, which an ApplicationSet's Applications do not have",
    );
  }
  if (!input.chartRepository) {
    throw new InputError(
      'chartRepository (the URL of the development chart repository) is required with chartSource chartRepository',
    );
  }
  const url = checkRemoteUrl(input.chartRepository, 'chartRepository');
  if (url.search || url.hash) {
    throw new InputError(
      'chartRepository must not have a query or fragment: CI uploads to <chartRepository>/api/charts',
    );
  }
  return {
    source,
    name: input.name,
    repository: input.chartRepository.replace(/\/+$/, ''),
    path: 'app/chart',
    version: INITIAL_CHART_VERSION,
    // The chart is in the app repository; the values files stay in the config one.
    valuesFilePattern: '../../config/chart/values-{environment}.yaml',
  };
}
