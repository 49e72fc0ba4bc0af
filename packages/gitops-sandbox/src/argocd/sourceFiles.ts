import { realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { minimatch } from 'minimatch';
import { parseAllDocuments } from 'yaml';

type Json = any;

// Files of a source as Argo CD's repo server reads them: values files kept inside
// their repository (or chart), and the manifests of a directory source.

/** Whether `target` is `root` or inside it. */
export function inside(root: string, target: string) {
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
export function inRepository(root: string, dir: string, file: string): string {
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
 * A directory source as Argo CD's repo server reads it: every YAML and JSON file in
 * the path (subfolders only with `recurse`), filtered by the `include` and `exclude`
 * globs, which match paths relative to it.
 */
export async function readDirectory(
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
