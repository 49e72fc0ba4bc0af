import path from 'node:path';
import { parse } from 'yaml';
import {
  DesiredState,
  ImageReference,
  isImageRunning,
  parseImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ArgoApplication,
  ArgoApplicationSource,
} from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { UpstreamCache } from '../UpstreamCache';

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

/**
 * The image an Application's config says should run: its Helm values files, read at
 * the target revision in the order Helm merges them (the chart's values.yaml, then
 * `helm.valueFiles`, `$ref/` files from the referenced source).
 */
export class DesiredStateReader {
  constructor(
    private readonly reader: GitConfigRepoReader,
    private readonly cache: UpstreamCache,
    private readonly keys: ImageKeys,
    private readonly ttlMs: number,
  ) {}

  /**
   * The desired state of each Application. Each config repository is read once for
   * all of them (one shallow fetch for an entity's environments); the results are
   * cached, so a warm view parses no YAML.
   */
  async readAll(
    apps: ArgoApplication[],
    options: { fresh?: boolean } = {},
  ): Promise<DesiredState[]> {
    const plans = apps.map(app => this.plan(app));

    const byRepo = new Map<string, Set<string>>();
    for (const plan of plans) {
      for (const file of 'files' in plan ? plan.files : []) {
        const repo = repoKey(file.source);
        byRepo.set(repo, (byRepo.get(repo) ?? new Set()).add(file.path));
      }
    }
    if (options.fresh) {
      await Promise.all([
        ...plans.map(plan =>
          'files' in plan ? this.cache.forget(desiredKey(plan.files)) : null,
        ),
        ...[...byRepo].map(([repo, paths]) =>
          this.cache.forget(readKey(repo, paths)),
        ),
      ]);
    }
    // Started on first need: a cached desired state needs no read at all.
    const reads = new Map<string, ReturnType<typeof this.readRepo>>();
    const read = (repo: string) => {
      if (!reads.has(repo))
        reads.set(repo, this.readRepo(repo, byRepo.get(repo)!));
      return reads.get(repo)!;
    };
    return Promise.all(
      plans.map(async plan => {
        if (!('files' in plan)) return plan.result;
        const answer = await this.cache.get(
          desiredKey(plan.files),
          this.ttlMs,
          async () => {
            const contents: Array<string | undefined> = [];
            for (const file of plan.files) {
              const files = await read(repoKey(file.source));
              if ('error' in files) return { ...plan.base, error: files.error };
              contents.push(files.value.files[file.path]);
            }
            return this.imageOf(plan.base, plan.files, contents);
          },
        );
        // The computation itself never fails: its answer is always a value.
        return 'value' in answer
          ? answer.value
          : { ...plan.base, error: answer.error };
      }),
    );
  }

  /** The desired state if a recent entity view computed it; never reads Git. */
  peek(app: ArgoApplication): DesiredState | undefined {
    const plan = this.plan(app);
    return 'files' in plan
      ? this.cache.peek<DesiredState>(desiredKey(plan.files))
      : undefined;
  }

  private readRepo(repo: string, paths: Set<string>) {
    const [repoURL, ref] = JSON.parse(repo);
    return this.cache.get(readKey(repo, paths), this.ttlMs, () =>
      this.reader.readFiles(repoURL, ref, [...paths].sort()),
    );
  }

  /** Which files to read for an Application, or why there are none. */
  private plan(
    app: ArgoApplication,
  ): { base: DesiredState; files: ValuesFile[] } | { result: DesiredState } {
    const sources =
      app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
    const chart = sources.find(s => s.path !== undefined);
    if (!chart) {
      return {
        result: {
          repoURL: sources[0]?.repoURL ?? '',
          targetRevision: sources[0]?.targetRevision ?? 'HEAD',
          error: {
            code: 'not-found',
            message: `Application ${app.metadata.name} has no source with a path (a chart from a Helm repository has no values file in Git)`,
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
        ...(!valueFiles.some(f => f.startsWith('$')) && {
          chart: {
            path: chart.path!,
            valueFiles,
            ...(chart.helm?.releaseName && {
              releaseName: chart.helm.releaseName,
            }),
          },
        }),
      },
      files: valuesFiles(chart, sources),
    };
  }

  /**
   * Merges the image keys over the files in order; the last file setting a tag is the
   * one to change. With no version anywhere, the last file that has the key (empty) is.
   */
  private imageOf(
    base: DesiredState,
    files: ValuesFile[],
    contents: Array<string | undefined>,
  ): DesiredState {
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
        ...(file.source.repoURL !== base.repoURL && {
          valuesRepoURL: file.source.repoURL,
        }),
        noVersionYet: { repository: image.repository },
      };
    }
    if (!image.repository) {
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
      ...(valuesFile!.source.repoURL !== base.repoURL && {
        valuesRepoURL: valuesFile!.source.repoURL,
      }),
      image: image as ImageReference,
    };
  }
}

function desiredKey(files: ValuesFile[]) {
  return `desired:${JSON.stringify(
    files.map(f => [repoKey(f.source), f.path]),
  )}`;
}

function readKey(repo: string, paths: Set<string>) {
  const [repoURL, ref] = JSON.parse(repo);
  return `values:${repoURL}:${ref}:${[...paths].sort().join(',')}`;
}

function repoKey(source: ArgoApplicationSource) {
  return JSON.stringify([source.repoURL, source.targetRevision ?? 'HEAD']);
}

/** The values files of a chart source in Helm's merge order, with their repository. @internal */
export function valuesFiles(
  chart: ArgoApplicationSource,
  sources: ArgoApplicationSource[],
) {
  const files = [
    { source: chart, path: path.posix.join(chart.path!, 'values.yaml') },
  ];
  for (const file of chart.helm?.valueFiles ?? []) {
    const ref = file.match(/^\$([^/]+)\/(.*)$/);
    const refSource = ref && sources.find(s => s.ref === ref[1]);
    if (ref && refSource) {
      files.push({ source: refSource, path: path.posix.normalize(ref[2]) });
    } else if (!ref) {
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
 * Whether what runs differs from what Git names; undefined when either is unknown. With
 * no version yet the chart renders no workload: the service's image running is drift.
 */
export function driftOf(
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
