import path from 'node:path';
import { ConflictError } from '@backstage/errors';
import { ChartVersionLocation } from '@gitops-backstage/plugin-gitops-common';
import {
  ArgoApplication,
  GitopsLiveStateSource,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { parse, parseAllDocuments } from 'yaml';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { scalar, valueAt } from '../DeploymentStatus/desiredState';

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

/** Where Git pins an Application's chart version: the file, and the key in it. */
export interface ManifestLocation {
  repoURL: string;
  branch: string;
  file: string;
  /** e.g. `spec.source.targetRevision`, `spec.sources.0.targetRevision`, a values key. */
  versionKey: string;
  /** Whether `text` (the file as it is when written) still pins the version there. */
  stillPins: (text: string) => boolean;
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
    chart: { repoURL: string; chart: string; wanted: string };
    location: ChartVersionLocation;
  }): Promise<ManifestLocation> {
    const { application, parent, chart, location } = options;
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
    const git = {
      repoURL: gitSource.repoURL,
      branch: gitSource.targetRevision || 'HEAD',
      path: gitSource.path ?? '',
    };
    if (location.kind === 'values') {
      return this.inValues({
        ...git,
        valueFiles: gitSource.helm?.valueFiles ?? [],
        key: location.key,
        deployer: parent.name,
        wanted: chart.wanted,
      });
    }
    const { files } = await this.options.reader.readYamlFilesUnder(
      git.repoURL,
      git.branch,
      git.path,
    );
    const found = Object.entries(files).flatMap(([file, text]) => {
      const key = text && versionKeyIn(text, application, chart);
      return key ? [{ file, versionKey: key }] : [];
    });
    if (found.length !== 1) {
      throw new ConflictError(
        `${
          found.length === 0 ? 'No' : `${found.length} files, not one,`
        } file under ${git.path} of ${redactUrl(
          git.repoURL,
        )} holds Application ${application.namespace}/${
          application.name
        } with chart ${chart.chart} from ${chart.repoURL}${
          found.length ? `: ${found.map(f => f.file).join(', ')}` : ''
        }`,
      );
    }
    const [{ file, versionKey }] = found;
    return {
      repoURL: git.repoURL,
      branch: git.branch,
      file,
      versionKey,
      stillPins: text => versionKeyIn(text, application, chart) === versionKey,
    };
  }

  /**
   * The values file of the deploying Helm chart that sets `key` last, in Helm's order
   * (the chart's values.yaml, then `helm.valueFiles`): the one whose value Helm
   * renders. It must name the version the Application asks for now, or the key is not
   * what pins it.
   */
  private async inValues(options: {
    repoURL: string;
    branch: string;
    path: string;
    valueFiles: string[];
    key: string;
    deployer: string;
    wanted: string;
  }): Promise<ManifestLocation> {
    const { repoURL, branch, key, deployer, wanted } = options;
    const paths = ['values.yaml', ...options.valueFiles].map(file =>
      path.posix.join(options.path, file),
    );
    const { files } = await this.options.reader.readFiles(
      repoURL,
      branch,
      paths,
    );
    const valueIn = (text: string | undefined) => {
      try {
        return text === undefined
          ? undefined
          : scalar(valueAt(parse(text), key));
      } catch {
        return undefined;
      }
    };
    const file = [...paths]
      .reverse()
      .find(p => valueIn(files[p]) !== undefined);
    if (!file) {
      throw new ConflictError(
        `No values file of ${deployer} (${paths.join(', ')} in ${redactUrl(
          repoURL,
        )}) sets ${key}, where gitops/chart-version-at says the chart version is`,
      );
    }
    const value = valueIn(files[file]);
    if (value !== wanted) {
      throw new ConflictError(
        `${key} in ${file} of ${deployer} is ${value}, but the Application asks for ${wanted}: that key does not pin its chart version (check gitops/chart-version-at)`,
      );
    }
    return {
      repoURL,
      branch,
      file,
      versionKey: key,
      stillPins: text => valueIn(text) !== undefined,
    };
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
