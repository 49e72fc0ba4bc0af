import { InputError } from '@backstage/errors';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * What may reach helm's command line. Every value that comes from a user or from Git
 * (a template input, an Argo CD Application) is checked here before helm runs, so none
 * can be read as a flag (`--post-renderer=sh`) or lead helm to a file outside the
 * repository.
 */

/** helm's own rule for release names: a DNS-1123 subdomain of at most 53 characters. */
const RELEASE_NAME =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_RELEASE_NAME = 53;
/** A Kubernetes namespace: a DNS-1123 label. */
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAMESPACE = 63;
/** Files and directories a chart may have; beyond, it is refused rather than walked. */
const MAX_CHART_ENTRIES = 10_000;

/** A value for a message: quoted, and cut short so a huge input stays out of logs. */
function quote(value: string) {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Throws an InputError naming the problem when `name` is no valid Helm release name.
 *
 * @public
 */
export function checkReleaseName(name: string): void {
  if (!RELEASE_NAME.test(name)) {
    throw new InputError(
      `releaseName ${quote(
        name,
      )} is not a valid Helm release name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  }
  if (name.length > MAX_RELEASE_NAME) {
    throw new InputError(
      `releaseName ${quote(name)} is not a valid Helm release name: it has ${
        name.length
      } characters, at most ${MAX_RELEASE_NAME} are allowed`,
    );
  }
}

/**
 * Throws an InputError naming the problem when `namespace` is no valid Kubernetes namespace.
 *
 * @public
 */
export function checkNamespace(namespace: string): void {
  if (namespace.length > MAX_NAMESPACE || !NAMESPACE.test(namespace)) {
    throw new InputError(
      `namespace ${quote(
        namespace,
      )} is not a valid Kubernetes namespace: use at most ${MAX_NAMESPACE} lower-case letters, digits and '-', starting and ending with a letter or digit`,
    );
  }
}

/** Whether `target` is `root` or inside it; both absolute, `..` resolved. */
function within(root: string, target: string) {
  const relative = path.relative(root, target);
  return (
    relative === '' ||
    (relative !== '..' &&
      !relative.startsWith(`..${path.sep}`) &&
      !path.isAbsolute(relative))
  );
}

/** The real path (symlinks resolved), or undefined when there is nothing there. */
async function realpathOrUndefined(target: string) {
  try {
    return await fs.realpath(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') {
      return undefined;
    }
    throw error;
  }
}

/**
 * The real path of the chart directory `chartPath` (relative to `root`), after checking
 * that it and everything in it, symlinks followed, stay inside `root`.
 */
export async function resolveChartDir(
  realRoot: string,
  chartPath: string,
): Promise<string> {
  const lexical = path.resolve(realRoot, chartPath);
  const chartDir = within(realRoot, lexical)
    ? await realpathOrUndefined(lexical)
    : undefined;
  if (!within(realRoot, lexical) || (chartDir && !within(realRoot, chartDir))) {
    throw new InputError(
      `chartPath ${quote(chartPath)} is outside the repository`,
    );
  }
  if (!chartDir || !(await fs.stat(chartDir)).isDirectory()) {
    throw new InputError(
      `chartPath ${quote(chartPath)} is not a directory in the repository`,
    );
  }
  await checkSymlinks(realRoot, chartDir, chartPath);
  return chartDir;
}

/**
 * Refuses a chart with a symlink that leads outside `realRoot` (helm would follow it,
 * and a template or `.Files.Get` could then show a file of the backend), or one that
 * leads nowhere. Walks the chart with lstat, into linked directories once each.
 */
async function checkSymlinks(
  realRoot: string,
  chartDir: string,
  chartPath: string,
) {
  const walked = new Set<string>();
  let entries = 0;
  const walk = async (dir: string): Promise<void> => {
    if (walked.has(dir)) return;
    walked.add(dir);
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      entries += 1;
      if (entries > MAX_CHART_ENTRIES) {
        throw new InputError(
          `chartPath ${quote(
            chartPath,
          )} has more than ${MAX_CHART_ENTRIES} files`,
        );
      }
      const file = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await realpathOrUndefined(file);
        if (!target || !within(realRoot, target)) {
          throw new InputError(
            `chartPath ${quote(chartPath)} holds a symlink, ${quote(
              path.relative(realRoot, file),
            )}, that leads ${target ? 'outside the repository' : 'nowhere'}`,
          );
        }
        if ((await fs.stat(target)).isDirectory()) await walk(target);
      } else if (entry.isDirectory()) {
        await walk(file);
      }
    }
  };
  await walk(chartDir);
}

/**
 * The real path of a values file as Argo CD reads `helm.valueFiles`: relative to the
 * chart, or to the repository root when it starts with `/`; it must be a file inside
 * the repository, symlinks followed.
 */
export async function resolveValueFile(
  realRoot: string,
  chartDir: string,
  file: string,
): Promise<string> {
  const lexical = file.startsWith('/')
    ? path.join(realRoot, file)
    : path.resolve(chartDir, file);
  const real = within(realRoot, lexical)
    ? await realpathOrUndefined(lexical)
    : undefined;
  if (!within(realRoot, lexical) || (real && !within(realRoot, real))) {
    throw new InputError(`valueFiles ${quote(file)} is outside the repository`);
  }
  if (!real || !(await fs.stat(real)).isFile()) {
    throw new InputError(
      `valueFiles ${quote(file)} is not a file in the repository${
        file.startsWith('/')
          ? " (a leading '/' is the repository root, as in Argo CD)"
          : ''
      }`,
    );
  }
  return real;
}
