import { ConflictError } from '@backstage/errors';
import {
  ArgoApplication,
  GitopsLiveStateSource,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { parseAllDocuments } from 'yaml';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';

/** Argo CD 3's resource tracking (its default) and Argo CD 2's label tracking. */
const TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';
const INSTANCE_LABEL = 'app.kubernetes.io/instance';

/**
 * The Application that deployed `app` (app of apps), as Argo CD's resource tracking
 * names it: `<app>:<group>/<kind>:<namespace>/<name>`, `<app>` being
 * `<namespace>_<name>` outside the control plane's namespace.
 */
export function parentOf(
  app: ArgoApplication,
): { name: string; namespace?: string } | undefined {
  const tracking = app.metadata.annotations?.[TRACKING_ANNOTATION];
  const instance = tracking
    ? tracking.split(':')[0]
    : app.metadata.labels?.[INSTANCE_LABEL];
  if (!instance) return undefined;
  const separator = instance.indexOf('_');
  return separator < 0
    ? { name: instance }
    : {
        namespace: instance.slice(0, separator),
        name: instance.slice(separator + 1),
      };
}

/** An Application's manifest in Git: the file, and the key of its chart's version. */
export interface ManifestLocation {
  repoURL: string;
  branch: string;
  file: string;
  /** e.g. `spec.source.targetRevision`, `spec.sources.0.targetRevision`. */
  versionKey: string;
}

/**
 * Finds where an Application deploying a chart from a chart repository pins the
 * chart's version: its manifest in the repository of the Application that deployed it
 * (app of apps, read from Argo CD, not from the catalog), the file under that
 * Application's path that holds an Application of this name and namespace.
 */
export class ApplicationManifests {
  constructor(
    private readonly options: {
      sources: () => GitopsLiveStateSource[];
      reader: GitConfigRepoReader;
    },
  ) {}

  async locate(options: {
    instance: string;
    application: { name: string; namespace: string };
    parent?: { name: string; namespace?: string };
    chart: { repoURL: string; chart: string };
  }): Promise<ManifestLocation> {
    const { application, parent, chart } = options;
    if (!parent) {
      throw new ConflictError(
        `Application ${application.name} was not deployed by an Application from Git (no ${TRACKING_ANNOTATION} annotation or ${INSTANCE_LABEL} label names one): its chart version is not in Git, so it cannot be promoted`,
      );
    }
    const source = this.options.sources().find(s => s.id === options.instance);
    const [deployer] = source
      ? await source.listApplications({
          names: [parent.name],
          ...(parent.namespace && { appNamespace: parent.namespace }),
        })
      : [];
    const gitSource = deployer?.spec.source;
    if (!gitSource || gitSource.chart || gitSource.path === undefined) {
      throw new ConflictError(
        `Application ${application.name} was deployed by ${
          parent.name
        }, which ${
          deployer ? 'has no single Git directory source' : 'is not found'
        }: the file pinning its chart version cannot be found`,
      );
    }
    const branch = gitSource.targetRevision || 'HEAD';
    const { files } = await this.options.reader.readYamlFilesUnder(
      gitSource.repoURL,
      branch,
      gitSource.path ?? '',
    );
    const found = Object.entries(files).flatMap(([file, text]) => {
      const key = text && versionKeyIn(text, application, chart);
      return key ? [{ file, versionKey: key }] : [];
    });
    if (found.length !== 1) {
      throw new ConflictError(
        `${
          found.length === 0 ? 'No' : `${found.length} files, not one,`
        } file under ${gitSource.path} of ${redactUrl(
          gitSource.repoURL,
        )} holds Application ${application.namespace}/${
          application.name
        } with chart ${chart.chart} from ${chart.repoURL}${
          found.length ? `: ${found.map(f => f.file).join(', ')}` : ''
        }`,
      );
    }
    return { repoURL: gitSource.repoURL, branch, ...found[0] };
  }
}

/**
 * The key of the chart's targetRevision when `text` is a file with this Application
 * alone (a file of several documents cannot be edited keeping its comments safely).
 */
export function versionKeyIn(
  text: string,
  application: { name: string; namespace: string },
  chart: { repoURL: string; chart: string },
): string | undefined {
  let docs: any[];
  try {
    docs = parseAllDocuments(text).map(doc =>
      doc.errors.length ? undefined : doc.toJS(),
    );
  } catch {
    return undefined;
  }
  if (docs.length !== 1) return undefined;
  const [m] = docs;
  if (
    m?.kind !== 'Application' ||
    !String(m.apiVersion).startsWith('argoproj.io/') ||
    m.metadata?.name !== application.name ||
    (m.metadata?.namespace ?? 'argocd') !== application.namespace
  ) {
    return undefined;
  }
  const isChart = (s: any) =>
    s?.chart === chart.chart && s?.repoURL === chart.repoURL;
  if (isChart(m.spec?.source)) return 'spec.source.targetRevision';
  const index = Array.isArray(m.spec?.sources)
    ? m.spec.sources.findIndex(isChart)
    : -1;
  return index < 0 ? undefined : `spec.sources.${index}.targetRevision`;
}
