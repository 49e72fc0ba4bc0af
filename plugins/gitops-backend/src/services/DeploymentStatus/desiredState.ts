import path from 'node:path';
import { parse } from 'yaml';
import {
  DesiredState,
  ImageReference,
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

function valueAt(values: unknown, keyPath: string): unknown {
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
function scalar(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

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

  async read(app: ArgoApplication): Promise<DesiredState> {
    const sources =
      app.spec.sources ?? (app.spec.source ? [app.spec.source] : []);
    const chart = sources.find(s => s.path !== undefined);
    if (!chart) {
      return {
        repoURL: sources[0]?.repoURL ?? '',
        targetRevision: sources[0]?.targetRevision ?? 'HEAD',
        error: {
          code: 'not-found',
          message: `Application ${app.metadata.name} has no source with a path (a chart from a Helm repository has no values file in Git)`,
        },
      };
    }
    const files = valuesFiles(chart, sources);
    const base: DesiredState = {
      repoURL: chart.repoURL,
      targetRevision: chart.targetRevision ?? 'HEAD',
    };

    // One read per repository and revision, for all of its files.
    const byRepo = new Map<string, typeof files>();
    for (const file of files) {
      const key = JSON.stringify([
        file.source.repoURL,
        file.source.targetRevision ?? 'HEAD',
      ]);
      byRepo.set(key, [...(byRepo.get(key) ?? []), file]);
    }
    const contents = new Map<(typeof files)[number], string | undefined>();
    for (const [key, repoFiles] of byRepo) {
      const [repoURL, ref] = JSON.parse(key);
      const paths = repoFiles.map(f => f.path).sort();
      const answer = await this.cache.get(
        `values:${repoURL}:${ref}:${paths.join(',')}`,
        this.ttlMs,
        () => this.reader.readFiles(repoURL, ref, paths),
      );
      if ('error' in answer) return { ...base, error: answer.error };
      repoFiles.forEach(f => contents.set(f, answer.value.files[f.path]));
    }

    const image: Partial<ImageReference> = {};
    let valuesFile: string | undefined;
    for (const file of files) {
      const text = contents.get(file);
      if (text === undefined) continue;
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
      const repository = scalar(valueAt(values, this.keys.repository));
      const tag = scalar(valueAt(values, this.keys.tag));
      const digest = scalar(valueAt(values, this.keys.digest));
      if (repository) image.repository = repository;
      if (tag) image.tag = tag;
      if (digest) image.digest = digest;
      if (tag || digest) valuesFile = file.path;
    }
    if (!image.repository || !(image.tag || image.digest)) {
      return {
        ...base,
        ...(valuesFile && { valuesFile }),
        error: {
          code: 'not-found',
          message: `No image at ${this.keys.repository} and ${
            this.keys.tag
          } (or ${this.keys.digest}) in ${files.map(f => f.path).join(', ')}`,
        },
      };
    }
    return { ...base, valuesFile, image: image as ImageReference };
  }
}

/** The values files of a chart source in Helm's merge order, with their repository. */
function valuesFiles(
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
      files.push({ source: chart, path: path.posix.join(chart.path!, file) });
    }
  }
  return files;
}
