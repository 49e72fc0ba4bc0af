import { existsSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { minimatch } from 'minimatch';
import { parseAllDocuments } from 'yaml';
import { BareRepository } from '../git/repoFiles';
import { renderChart } from '../helm';

type Json = any;

/** The desired (or synced) state of an Application at given commits. */
export interface Rendered {
  /** The first source's commit (Argo CD's `revision`). */
  revision: string;
  /** One commit per source (Argo CD's `revisions` for multi-source). */
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

/** Whether `target` is `root` or inside it. */
function inside(root: string, target: string) {
  const relative = path.relative(root, target);
  return !(
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  );
}

/**
 * A values file as Argo CD's repo server resolves it: relative to `dir`, or to the
 * repository root when absolute; symlinks followed; refused when outside the root.
 */
function inRepository(root: string, dir: string, file: string): string {
  const joined = path.isAbsolute(file)
    ? path.join(root, file)
    : path.join(dir, file);
  const outside = new Error(
    `file '${file}' resolved to outside repository root`,
  );
  if (!inside(root, joined)) throw outside;
  let resolved: string;
  try {
    resolved = realpathSync(joined);
  } catch {
    return joined; // missing: helm names it
  }
  if (!inside(realpathSync(root), resolved)) throw outside;
  return resolved;
}

/**
 * Renders an Application's sources from the sandbox's Git repositories with the
 * real `helm template`, as Argo CD's repo server does; caches by commit.
 */
export class Renderer {
  private readonly cache = new Map<string, Promise<Json[]>>();
  private readonly exports = new Map<string, Promise<string>>();

  constructor(
    private readonly gitUrl: string,
    private readonly reposDir: string,
    private readonly workDir: string,
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

  /**
   * Renders at the sources' target revisions, or at `revisions` (one per source)
   * for a sync to a given revision or a rollback.
   */
  async render(manifest: Json, revisions?: string[]): Promise<Rendered> {
    const { spec, metadata } = manifest;
    const sources: Json[] = spec.sources ?? [spec.source];
    const commits = await Promise.all(
      sources.map(async (source, i) => {
        const wanted = revisions?.[i] ?? source.targetRevision ?? 'HEAD';
        const commit = await this.repository(source.repoURL).resolve(wanted);
        if (!commit) {
          throw new Error(
            `unable to resolve '${wanted}' to a commit SHA in ${source.repoURL}`,
          );
        }
        return commit;
      }),
    );

    // `$<ref>/file` in valueFiles points into the source with that `ref`.
    const refRoots = new Map<string, string>();
    for (const [i, source] of sources.entries()) {
      if (source.ref) {
        refRoots.set(
          source.ref,
          await this.exportAt(source.repoURL, commits[i]),
        );
      }
    }

    const manifests: Json[] = [];
    for (const [i, source] of sources.entries()) {
      if (source.path === undefined) continue;
      const root = await this.exportAt(source.repoURL, commits[i]);
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
      const valueFiles = (source.helm?.valueFiles ?? []).map((file: string) => {
        const ref = file.match(/^\$([^/]+)\/(.*)$/);
        if (!ref) return inRepository(root, chartDir, file);
        const refRoot = refRoots.get(ref[1]);
        if (!refRoot)
          throw new Error(`source referenced by $${ref[1]} not found`);
        return inRepository(refRoot, refRoot, ref[2]);
      });
      manifests.push(
        ...(await this.cached(
          [
            chartDir,
            valueFiles,
            metadata.name,
            spec.destination.namespace,
            source.helm?.releaseName,
          ],
          () =>
            renderChart({
              chartDir,
              releaseName: source.helm?.releaseName ?? metadata.name,
              namespace: spec.destination.namespace ?? 'default',
              valueFiles,
            }),
        )),
      );
    }
    return { revision: commits[0], revisions: commits, sources, manifests };
  }

  /** Manifests by what they were made from: an exported tree never changes. */
  private cached(key: unknown[], make: () => Promise<Json[]>) {
    const cacheKey = JSON.stringify(key);
    if (!this.cache.has(cacheKey)) {
      const making = make();
      making.catch(() => this.cache.delete(cacheKey));
      this.cache.set(cacheKey, making);
    }
    return this.cache.get(cacheKey)!;
  }

  /** The repository's tree at `commit`, unpacked once into the work dir. */
  private exportAt(repoURL: string, commit: string): Promise<string> {
    const repo = this.repository(repoURL);
    const dir = path.join(this.workDir, path.basename(repo.dir), commit);
    if (!this.exports.has(dir)) {
      const exporting = (async () => {
        await fs.rm(dir, { recursive: true, force: true });
        await repo.exportTree(commit, dir);
        return dir;
      })();
      exporting.catch(() => this.exports.delete(dir));
      this.exports.set(dir, exporting);
    }
    return this.exports.get(dir)!;
  }
}

/**
 * A directory source as Argo CD's repo server reads it: every YAML and JSON file in
 * the path (subfolders only with `recurse`), filtered by the `include` and `exclude`
 * globs, which match paths relative to it.
 */
async function readDirectory(
  dir: string,
  options: { recurse?: boolean; include?: string; exclude?: string } = {},
): Promise<Json[]> {
  const entries = await fs.readdir(dir, {
    recursive: Boolean(options.recurse),
    withFileTypes: true,
  });
  const files = entries
    .filter(e => e.isFile())
    .map(e => path.relative(dir, path.join(e.parentPath, e.name)))
    .filter(
      f =>
        /\.(ya?ml|json)$/.test(f) &&
        (!options.include || minimatch(f, options.include)) &&
        !(options.exclude && minimatch(f, options.exclude)),
    )
    .sort();
  const manifests: Json[] = [];
  for (const file of files) {
    const text = await fs.readFile(path.join(dir, file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) {
        throw new Error(`${file}: ${doc.errors[0].message}`);
      }
      const m = doc.toJS();
      if (m === null || m === undefined) continue;
      if (!m.apiVersion || !m.kind || !m.metadata?.name) {
        throw new Error(
          `${file}: Object 'Kind' is missing in '${JSON.stringify(m)}'`,
        );
      }
      manifests.push(m);
    }
  }
  return manifests;
}
