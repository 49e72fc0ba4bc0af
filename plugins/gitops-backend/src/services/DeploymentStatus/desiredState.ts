import path from 'node:path';
import { parse } from 'yaml';
import {
  ChartVersions,
  DesiredState,
  ImageReference,
  isImageRunning,
  parseImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ArgoApplication,
  ArgoApplicationSource,
} from '@gitops-backstage/plugin-gitops-node';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { ConfigRepoIndex } from '../ConfigRepo/configRepoIndex';
import { ConfigRepoFiles } from '../ConfigRepo/GitConfigRepoReader';
import { Cached } from '../UpstreamCache';

/** Where the image reference sits in a values file (Helm-style key paths). */
export interface ImageKeys {
  repository: string;
  tag: string;
  digest: string;
}

export function valueAt(values: unknown, keyPath: string): unknown {
  return keyPath
    .split('.')
    .reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object'
          ? (node as Record<string, unknown>)[key]
          : undefined,
      values,
    );
}

/** A scalar value as a string (a tag written as a number is still a tag). */
export function scalar(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

/**
 * The image keys one parsed values file sets. A tag or digest key that is present but
 * empty (or null) is `''`: it clears what an earlier file set, as in Helm's merge.
 */
export function imageIn(
  values: unknown,
  keys: ImageKeys,
): { repository?: string; tag?: string; digest?: string } {
  const read = (key: string) => {
    const value = valueAt(values, key);
    return value === undefined ? undefined : scalar(value) ?? '';
  };
  return {
    repository: scalar(valueAt(values, keys.repository)),
    tag: read(keys.tag),
    digest: read(keys.digest),
  };
}

type ValuesFile = { source: ArgoApplicationSource; path: string };

/** What to read for an Application: its files, each with its repository's key. */
type Plan = {
  base: DesiredState;
  files: Array<ValuesFile & { repo: string }>;
  /** The chart comes from a chart repository: it pins its image itself. */
  chartFromRepository: boolean;
};

/** Repositories read at once when reading ahead. */
const READ_AHEAD_AT_ONCE = 4;

/** Computed desired states kept, least recently used dropped first. */
const COMPUTED_MAX = 20_000;

/**
 * The image an Application's config says should run: its Helm values files, read at
 * the target revision in the order Helm merges them (the chart's values.yaml, then
 * `helm.valueFiles`, `$ref/` files from the referenced source), from the index of the
 * config repositories (which reads Git only when it must).
 */
export class DesiredStateReader {
  /** Each Application's desired state, with the commits it was computed from. */
  private readonly computed = new LRUCache<
    string,
    { commits: string; state: DesiredState }
  >({ max: COMPUTED_MAX });

  constructor(
    private readonly index: ConfigRepoIndex,
    private readonly keys: ImageKeys,
  ) {}

  /**
   * The desired state of each Application. Each config repository is asked once for
   * all of them; the index answers from memory unless it must read Git (`fresh`, for
   * an action, always does). A state computed at the same commits is not computed again.
   */
  async readAll(
    apps: ArgoApplication[],
    options: { fresh?: boolean } = {},
  ): Promise<DesiredState[]> {
    const plans = apps.map(app => this.plan(app));
    const byRepo = filesByRepo(plans);
    const reads = new Map(
      [...byRepo].map(([repo, paths]) => {
        const [repoURL, ref] = JSON.parse(repo);
        return [
          repo,
          this.index.files(repoURL, ref, [...paths].sort(), options),
        ] as const;
      }),
    );
    return Promise.all(
      plans.map(async plan => {
        if (!('files' in plan)) return plan.result;
        const read: Array<Cached<ConfigRepoFiles>> = [];
        for (const file of plan.files) read.push(await reads.get(file.repo)!);
        return this.stateOf(plan, read);
      }),
    );
  }

  /**
   * Reads the config of these Applications into the index where it has nothing for
   * them yet (not even a failure), a few repositories at a time, beside the views,
   * which do not wait for it. What it holds is kept current by pushes and ref checks.
   */
  async readAhead(apps: ArgoApplication[]) {
    const byRepo = new Map<string, ArgoApplication[]>();
    for (const app of apps) {
      const plan = this.plan(app);
      if (!('files' in plan)) continue;
      const known = plan.files.every(file => {
        const [repoURL, ref] = JSON.parse(file.repo);
        return this.index.knows(repoURL, ref, [file.path]);
      });
      if (known) continue;
      const repo = plan.files[0].repo;
      byRepo.set(repo, [...(byRepo.get(repo) ?? []), app]);
    }
    const limit = pLimit(READ_AHEAD_AT_ONCE);
    await Promise.all(
      [...byRepo.values()].map(group => limit(() => this.readAll(group))),
    );
  }

  /** The desired state if the index holds all it needs now; never reads Git. */
  peek(app: ArgoApplication): DesiredState | undefined {
    const plan = this.plan(app);
    if (!('files' in plan)) return undefined;
    const read: Array<Cached<ConfigRepoFiles>> = [];
    for (const file of plan.files) {
      const [repoURL, ref] = JSON.parse(file.repo);
      const held = this.index.peek(repoURL, ref, [file.path]);
      if (!held) return undefined;
      read.push(held);
    }
    return this.stateOf(plan, read);
  }

  /** The state from each file's read (same order as the plan's files). */
  private stateOf(plan: Plan, read: Array<Cached<ConfigRepoFiles>>) {
    const failed = read.find(r => 'error' in r);
    if (failed && 'error' in failed) {
      return { ...plan.base, error: failed.error };
    }
    const files = read.map(r => ('value' in r ? r.value : undefined)!);
    const commits = files.map(f => f.commit).join(' ');
    const k = JSON.stringify([
      plan.base,
      plan.files.map(f => [f.repo, f.path]),
    ]);
    const held = this.computed.get(k);
    if (held?.commits === commits) return held.state;
    const state = this.imageOf(
      plan,
      plan.files.map((file, i) => files[i].files[file.path]),
    );
    this.computed.set(k, { commits, state });
    return state;
  }

  /** Which files to read for an Application, or why there are none. */
  private plan(app: ArgoApplication): Plan | { result: DesiredState } {
    const sources =
      app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
    // A chart in Git, else a chart from a chart repository (its values may be in Git).
    const chart =
      sources.find(s => s.path !== undefined) ?? sources.find(s => s.chart);
    if (!chart) {
      return {
        result: {
          repoURL: sources[0]?.repoURL ?? '',
          targetRevision: sources[0]?.targetRevision ?? 'HEAD',
          error: {
            code: 'not-found',
            message: `Application ${app.metadata.name} has no source with a path or a chart`,
          },
        },
      };
    }
    const valueFiles = chart.helm?.valueFiles ?? [];
    return {
      base: {
        repoURL: chart.repoURL,
        targetRevision: chart.targetRevision ?? 'HEAD',
        // Renderable from one checkout when no values file lives in another source.
        ...(chart.path !== undefined &&
          !valueFiles.some(f => f.startsWith('$')) && {
            chart: {
              path: chart.path!,
              valueFiles,
              ...(chart.helm?.releaseName && {
                releaseName: chart.helm.releaseName,
              }),
            },
          }),
      },
      files: valuesFiles(chart, sources).map(file => ({
        ...file,
        repo: repoKey(file.source),
      })),
      chartFromRepository: chart.path === undefined,
    };
  }

  /**
   * Merges the image keys over the files in order; the last file setting a tag is the
   * one to change. With no version anywhere, the last file that has the key (empty) is.
   */
  private imageOf(
    plan: Plan,
    contents: Array<string | undefined>,
  ): DesiredState {
    const { base, files } = plan;
    const image: Partial<ImageReference> = {};
    let valuesFile: ValuesFile | undefined;
    let keyIn: ValuesFile | undefined;
    let lastRead: ValuesFile | undefined;
    for (const [i, file] of files.entries()) {
      const text = contents[i];
      if (text === undefined) continue;
      lastRead = file;
      let values: unknown;
      try {
        values = parse(text);
      } catch (error) {
        return {
          ...base,
          valuesFile: file.path,
          error: {
            code: 'invalid-response',
            message: `${file.path} in ${
              file.source.repoURL
            } is not valid YAML: ${(error as Error).message}`,
          },
        };
      }
      const own = imageIn(values, this.keys);
      if (own.repository) image.repository = own.repository;
      for (const key of ['tag', 'digest'] as const) {
        // As Helm merges: a later file's key wins, an empty one clears the version.
        if (own[key]) image[key] = own[key];
        else if (own[key] === '') delete image[key];
      }
      if (own.tag || own.digest) valuesFile = file;
      if (own.tag !== undefined || own.digest !== undefined) keyIn = file;
    }
    if (image.repository && !(image.tag || image.digest)) {
      // A new service before CI's first build: a state of its own, not an error. Its
      // version goes where the empty key is, unless that is the chart's shared
      // values.yaml: then into the environment's last values file, Helm's last word.
      const file = keyIn && keyIn !== files[0] ? keyIn : lastRead!;
      return {
        ...base,
        valuesFile: file.path,
        ...valuesSourceOf(file, base),
        noVersionYet: { repository: image.repository },
      };
    }
    if (!image.repository) {
      // A chart from a chart repository pins its image itself: its version is the chart's.
      if (plan.chartFromRepository) return base;
      return {
        ...base,
        ...(valuesFile && { valuesFile: valuesFile.path }),
        error: {
          code: 'not-found',
          message: `No image at ${this.keys.repository} and ${
            this.keys.tag
          } (or ${this.keys.digest}) in ${files.map(f => f.path).join(', ')}`,
        },
      };
    }
    return {
      ...base,
      valuesFile: valuesFile!.path,
      ...valuesSourceOf(valuesFile!, base),
      image: image as ImageReference,
    };
  }
}

/** Where a values file is when it is not beside the chart (a `$ref/` file). */
function valuesSourceOf(file: ValuesFile, base: DesiredState) {
  const revision = file.source.targetRevision ?? 'HEAD';
  return {
    ...(file.source.repoURL !== base.repoURL && {
      valuesRepoURL: file.source.repoURL,
    }),
    ...(revision !== base.targetRevision && {
      valuesTargetRevision: revision,
    }),
  };
}

/** The paths to read in each repository (by repoKey), for all plans. */
function filesByRepo(plans: Array<Plan | { result: DesiredState }>) {
  const byRepo = new Map<string, Set<string>>();
  for (const plan of plans) {
    for (const file of 'files' in plan ? plan.files : []) {
      byRepo.set(
        file.repo,
        (byRepo.get(file.repo) ?? new Set()).add(file.path),
      );
    }
  }
  return byRepo;
}

function repoKey(source: ArgoApplicationSource) {
  return JSON.stringify([source.repoURL, source.targetRevision ?? 'HEAD']);
}

/** The values files of a chart source in Helm's merge order, with their repository. @internal */
export function valuesFiles(
  chart: ArgoApplicationSource,
  sources: ArgoApplicationSource[],
) {
  // A chart from a chart repository has its own values.yaml and relative files inside
  // the package: only `$ref/` files are in Git.
  const inGit = chart.path !== undefined;
  const files = inGit
    ? [{ source: chart, path: path.posix.join(chart.path!, 'values.yaml') }]
    : [];
  for (const file of chart.helm?.valueFiles ?? []) {
    const ref = file.match(/^\$([^/]+)\/(.*)$/);
    const refSource = ref && sources.find(s => s.ref === ref[1]);
    if (ref && refSource) {
      files.push({ source: refSource, path: path.posix.normalize(ref[2]) });
    } else if (!ref && inGit) {
      // As Argo CD (and helm in HelmRunner) reads it: a leading `/` is the
      // repository's root, anything else is relative to the chart.
      const inRepo = file.startsWith('/')
        ? path.posix.normalize(file.slice(1))
        : path.posix.join(chart.path!, file);
      files.push({ source: chart, path: inRepo });
    }
  }
  return files;
}

/**
 * Whether what runs differs from what Git names (the image, and the chart version of a
 * chart from a chart repository); undefined when either side is unknown. With no
 * version yet the chart renders no workload: the service's image running is drift.
 */
export function driftOf(
  desired: DesiredState,
  images: string[],
  chart?: ChartVersions,
): boolean | undefined {
  const chartDrift =
    chart?.running && chart.resolved
      ? chart.running !== chart.resolved
      : undefined;
  const imageDrift = imageDriftOf(desired, images);
  if (chartDrift === undefined) return imageDrift;
  return chartDrift || Boolean(imageDrift);
}

function imageDriftOf(
  desired: DesiredState,
  images: string[],
): boolean | undefined {
  if (desired.noVersionYet) {
    const { repository } = desired.noVersionYet;
    return images.some(i => parseImageReference(i).repository === repository);
  }
  if (!desired.image || images.length === 0) return undefined;
  return !isImageRunning(desired.image, images);
}
