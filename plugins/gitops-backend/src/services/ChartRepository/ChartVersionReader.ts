import { ChartVersions } from '@gitops-backstage/plugin-gitops-common';
import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { Cached, UpstreamCache } from '../UpstreamCache';
import {
  ChartRepositoryConfig,
  chartVersions,
  releasesNewestFirst,
  sameRepository,
} from './chartRepositories';
import { parentOf } from './applicationManifests';
import { valuesFiles } from '../DeploymentStatus/desiredState';

/** The chart source of an Application and its position (its index in `revisions`). */
export function chartSourceOf(app: ArgoApplication) {
  const sources =
    app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
  const index = sources.findIndex(s => s.chart && s.path === undefined);
  return index < 0 ? undefined : { source: sources[index], index, sources };
}

/**
 * The chart versions of Applications that deploy a chart from a chart repository:
 * wanted (the Application's targetRevision), resolved (Argo CD's sync revision),
 * running (its last deployment) and the newest release of the repository, read from
 * configured repositories only and cached for `cacheSeconds`.
 */
export class ChartVersionReader {
  constructor(
    private readonly options: {
      repositories: ChartRepositoryConfig[];
      cache: UpstreamCache;
      cacheSeconds: number;
      timeoutMs: number;
    },
  ) {}

  async read(app: ArgoApplication): Promise<ChartVersions | undefined> {
    const found = chartSourceOf(app);
    if (!found) return undefined;
    const { source, index, sources } = found;
    const single = sources.length === 1 && !app.spec.sources;
    const revisionOf = (record?: { revision?: string; revisions?: string[] }) =>
      (single ? record?.revision : record?.revisions?.[index]) || undefined;
    const history = app.status?.history ?? [];
    const versions = await this.versions(source.repoURL, source.chart!);
    const parent = parentOf(app);
    const values = valuesFiles(source, sources).map(file => ({
      repoURL: file.source.repoURL,
      targetRevision: file.source.targetRevision || 'HEAD',
      path: file.path,
    }));
    return {
      repoURL: source.repoURL,
      chart: source.chart!,
      wanted: source.targetRevision || '*',
      ...optional('resolved', revisionOf(app.status?.sync)),
      ...optional('running', revisionOf(history[history.length - 1])),
      ...(parent && { deployedBy: parent }),
      ...(values.length > 0 && { values }),
      ...(source.helm?.releaseName && { releaseName: source.helm.releaseName }),
      ...('value' in versions
        ? optional('newest', releasesNewestFirst(versions.value)[0])
        : { error: versions.error }),
    };
  }

  /** The versions a chart repository offers; an error for one not configured. */
  versions(repoURL: string, chart: string): Promise<Cached<string[]>> {
    const repo = this.options.repositories.find(r =>
      sameRepository(r.url, repoURL),
    );
    if (!repo) {
      return Promise.resolve({
        error: {
          code: 'not-found',
          message: `${repoURL} is not among gitops.chartRepositories: its versions are not read`,
        },
      });
    }
    return this.options.cache.get(
      `chart-versions:${repo.url}:${chart}`,
      this.options.cacheSeconds * 1000,
      () => chartVersions(repo, chart, this.options.timeoutMs),
    );
  }
}

function optional<K extends string>(key: K, value: string | undefined) {
  return (value ? { [key]: value } : {}) as Partial<Record<K, string>>;
}
