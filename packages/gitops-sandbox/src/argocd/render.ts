import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import {
  ChartRepository,
  ChartRepositoryFinder,
} from '../charts/chartRepository';
import { BareRepository } from '../git/repoFiles';
import { renderChart } from '../helm';
import { inRepository, inside, readDirectory } from './sourceFiles';

const exec = promisify(execFile);

type Json = any;

/** The desired (or synced) state of an Application at given revisions. */
export interface Rendered {
  /** The first source's revision (Argo CD's `revision`). */
  revision: string;
  /**
   * One per source (Argo CD's `revisions` for multi-source): a commit SHA, or for a
   * chart from a chart repository the chart version targetRevision resolved to.
   */
  revisions: string[];
  sources: Json[];
  manifests: Json[];
}

function podSpecOf(m: Json): Json {
  if (m.kind === 'Pod') return m.spec;
  if (m.kind === 'CronJob') return m.spec?.jobTemplate?.spec?.template?.spec;
  return m.spec?.template?.spec;
}

/** Container images of the workloads in `manifests`, as Argo CD's `summary.images`. */
export function imagesOf(manifests: Json[]): string[] {
  const images = new Set<string>();
  for (const m of manifests) {
    const podSpec = podSpecOf(m);
    for (const c of [
      ...(podSpec?.initContainers ?? []),
      ...(podSpec?.containers ?? []),
    ]) {
      if (c.image) images.add(c.image);
    }
  }
  return [...images].sort();
}

const sha256 = (data: string | Buffer) =>
  createHash('sha256').update(data).digest('hex');

/**
 * Renders an Application's sources as Argo CD's repo server does, with the real
 * `helm template`: Git paths of the sandbox's Git server (cached by commit) and charts
 * of its chart repositories, classic or OCI (cached by package digest).
 */
export class Renderer {
  private readonly cache = new Map<string, Promise<Json[]>>();
  /** Unpacked trees (Git commits, chart packages) by their directory. */
  private readonly trees = new Map<string, Promise<string>>();

  constructor(
    private readonly gitUrl: string,
    private readonly reposDir: string,
    private readonly workDir: string,
    private readonly charts: ChartRepositoryFinder = () => undefined,
  ) {}

  /** The bare repository a repoURL of this sandbox's Git server names. */
  repository(repoURL: string): BareRepository {
    const prefix = `${this.gitUrl}/git/`;
    const name = repoURL.startsWith(prefix)
      ? repoURL
          .slice(prefix.length)
          .replace(/\.git$/, '')
          .replace(/\/$/, '')
      : undefined;
    if (!name || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
      throw new Error(
        `repository not found: ${repoURL} is not a repository of this Git server`,
      );
    }
    return new BareRepository(path.join(this.reposDir, `${name}.git`));
  }

  /** The chart repository (classic or OCI) a chart source's repoURL names. */
  chartRepository(repoURL: string): ChartRepository {
    const found = this.charts(repoURL);
    if (!found) {
      throw new Error(
        `repository not found: ${repoURL} is not a chart repository of this sandbox`,
      );
    }
    return found;
  }

  /**
   * Renders at the sources' target revisions, or at `revisions` (one per source)
   * for a sync to a given revision or a rollback.
   */
  async render(manifest: Json, revisions?: string[]): Promise<Rendered> {
    const { spec } = manifest;
    const sources: Json[] = spec.sources ?? [spec.source];
    const resolved = await Promise.all(
      sources.map((source, i) => this.revisionOf(source, revisions?.[i])),
    );

    // `$<ref>/file` in valueFiles points into the Git source with that `ref`.
    const refRoots = new Map<string, string>();
    for (const [i, source] of sources.entries()) {
      if (source.ref && !source.chart) {
        refRoots.set(
          source.ref,
          await this.exportAt(source.repoURL, resolved[i]),
        );
      }
    }

    const manifests: Json[] = [];
    for (const [i, source] of sources.entries()) {
      if (source.chart) {
        const chartDir = await this.chartAt(source, resolved[i]);
        manifests.push(
          ...(await this.template(manifest, source, chartDir, refRoots)),
        );
        continue;
      }
      if (source.path === undefined) continue;
      const root = await this.exportAt(source.repoURL, resolved[i]);
      const chartDir = path.join(root, source.path);
      if (!inside(root, chartDir)) {
        throw new Error(`${source.path}: app path outside repository root`);
      }
      if (!existsSync(chartDir)) {
        throw new Error(`${source.path}: app path does not exist`);
      }
      if (!existsSync(path.join(chartDir, 'Chart.yaml'))) {
        manifests.push(
          ...(await this.cached([chartDir, source.directory], () =>
            readDirectory(chartDir, source.directory),
          )),
        );
        continue;
      }
      manifests.push(
        ...(await this.template(manifest, source, chartDir, refRoots, root)),
      );
    }
    return { revision: resolved[0], revisions: resolved, sources, manifests };
  }

  /**
   * Argo CD's ChartDetails of a chart source at a revision (a version or constraint):
   * Chart.yaml's description, home and maintainers (`Name <email>`).
   */
  async chartDetails(source: Json, revision: string): Promise<Json> {
    const version = await this.revisionOf(source, revision);
    const chartDir = await this.chartAt(source, version);
    const chart = parse(
      await fs.readFile(path.join(chartDir, 'Chart.yaml'), 'utf8'),
    );
    return {
      description: chart.description,
      home: chart.home,
      maintainers: (chart.maintainers ?? []).map((m: Json) =>
        m.email ? `${m.name ?? ''} <${m.email}>`.trim() : m.name,
      ),
    };
  }

  /** A source's commit SHA, or the chart version its (or the wanted) revision names. */
  private async revisionOf(source: Json, wanted?: string): Promise<string> {
    if (source.chart) {
      const revision = wanted || source.targetRevision;
      return this.chartRepository(source.repoURL).resolve(
        source.chart,
        revision && revision !== 'HEAD' ? revision : '*',
      );
    }
    const revision = wanted ?? source.targetRevision ?? 'HEAD';
    const commit = await this.repository(source.repoURL).resolve(revision);
    if (!commit) {
      throw new Error(
        `unable to resolve '${revision}' to a commit SHA in ${source.repoURL}`,
      );
    }
    return commit;
  }

  /**
   * `helm template` of a chart directory with the source's `helm` settings, in Argo
   * CD's order: valueFiles (in `root`, or `$ref/…`), values/valuesObject, parameters.
   */
  private async template(
    manifest: Json,
    source: Json,
    chartDir: string,
    refRoots: Map<string, string>,
    root = chartDir,
  ): Promise<Json[]> {
    const { metadata, spec } = manifest;
    const helm = source.helm ?? {};
    const valueFiles = (helm.valueFiles ?? []).map((file: string) => {
      const ref = file.match(/^\$([^/]+)\/(.*)$/);
      if (!ref) return inRepository(root, chartDir, file);
      const refRoot = refRoots.get(ref[1]);
      if (!refRoot)
        throw new Error(`source referenced by $${ref[1]} not found`);
      return inRepository(refRoot, refRoot, ref[2]);
    });
    const inline =
      helm.valuesObject ?? (helm.values ? String(helm.values) : undefined);
    if (inline !== undefined) valueFiles.push(await this.valuesFile(inline));
    const parameters: Json[] = helm.parameters ?? [];
    const set = (forced: boolean) =>
      parameters
        .filter(p => Boolean(p.forceString) === forced)
        .map(p => `${p.name}=${p.value}`);
    const options = {
      chartDir,
      releaseName: helm.releaseName ?? metadata.name,
      namespace: spec.destination.namespace ?? 'default',
      valueFiles,
      set: set(false),
      setString: set(true),
    };
    return this.cached([options], () => renderChart(options));
  }

  /** Inline values as a file, named by its content. */
  private async valuesFile(values: Json): Promise<string> {
    const text = typeof values === 'string' ? values : stringify(values);
    const file = path.join(this.workDir, 'values', `${sha256(text)}.yaml`);
    if (!existsSync(file)) {
      // Written aside and renamed: a concurrent render never reads half of it.
      await fs.mkdir(path.dirname(file), { recursive: true });
      const partial = `${file}.${process.pid}.${Date.now()}.partial`;
      await fs.writeFile(partial, text);
      await fs.rename(partial, file);
    }
    return file;
  }

  /** Manifests by what they were made from: an unpacked tree never changes. */
  private cached(key: unknown[], make: () => Promise<Json[]>) {
    const cacheKey = JSON.stringify(key);
    if (!this.cache.has(cacheKey)) {
      const making = make();
      making.catch(() => this.cache.delete(cacheKey));
      this.cache.set(cacheKey, making);
    }
    return this.cache.get(cacheKey)!;
  }

  /** A tree unpacked once into `dir` of the work dir; answers its root. */
  private unpackOnce(dir: string, unpack: () => Promise<string>) {
    if (!this.trees.has(dir)) {
      const unpacking = (async () => {
        await fs.rm(dir, { recursive: true, force: true });
        return unpack();
      })();
      unpacking.catch(() => this.trees.delete(dir));
      this.trees.set(dir, unpacking);
    }
    return this.trees.get(dir)!;
  }

  /** The repository's tree at `commit`. */
  private exportAt(repoURL: string, commit: string): Promise<string> {
    const repo = this.repository(repoURL);
    const dir = path.join(this.workDir, path.basename(repo.dir), commit);
    return this.unpackOnce(dir, async () => {
      await repo.exportTree(commit, dir);
      return dir;
    });
  }

  /**
   * A chart version's directory, as Argo CD's repo server extracts the package it
   * pulled; by the package's digest, since an OCI tag can be pushed again.
   */
  private async chartAt(source: Json, version: string): Promise<string> {
    const tgz = await this.chartRepository(source.repoURL).package(
      source.chart,
      version,
    );
    const dir = path.join(this.workDir, 'charts', sha256(tgz));
    return this.unpackOnce(dir, async () => {
      const unpacked = path.join(dir, 'chart');
      await fs.mkdir(unpacked, { recursive: true });
      await fs.writeFile(path.join(dir, 'package.tgz'), tgz);
      await exec('tar', [
        '-xzf',
        path.join(dir, 'package.tgz'),
        '-C',
        unpacked,
      ]);
      // A package holds one directory, named as the chart.
      const [top] = await fs.readdir(unpacked);
      return path.join(unpacked, top ?? '');
    });
  }
}
