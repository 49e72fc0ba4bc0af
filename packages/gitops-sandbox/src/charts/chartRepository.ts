import semver from 'semver';

/** A Helm chart repository the sandbox's Argo CD reads: classic (index.yaml) or OCI. */
export interface ChartRepository {
  /**
   * The version of `chart` a source's targetRevision names (an exact version or a
   * semver constraint), as Argo CD's repo server resolves it; throws its message.
   */
  resolve(chart: string, targetRevision: string): Promise<string>;
  /** The packaged chart (`.tgz`) of a version `resolve` answered. */
  package(chart: string, version: string): Promise<Buffer>;
}

/** Finds the chart repository an Application's repoURL names; undefined when none. */
export type ChartRepositoryFinder = (
  repoURL: string,
) => ChartRepository | undefined;

/**
 * Argo CD's resolution: an exact version is taken as it is (`missing` when the
 * repository lacks it: helm pull's failure), anything else is a constraint, and the
 * highest version satisfying it wins (`noMatch` when none does).
 */
export function resolveVersion(
  versions: string[],
  targetRevision: string,
  errors: { missing: (version: string) => string; noMatch: string },
): string {
  const wanted = targetRevision.trim();
  const exact = semver.valid(wanted);
  if (exact) {
    const found =
      versions.find(v => v === wanted) ??
      versions.find(v => semver.valid(v) && semver.eq(v, exact));
    if (!found) throw new Error(errors.missing(wanted));
    return found;
  }
  // Masterminds' constraints (Argo CD's) also take `,` for AND.
  const range = semver.validRange(wanted.replace(/\s*,\s*/g, ' '));
  if (!range) {
    throw new Error(
      `invalid revision '${wanted}': improper constraint: ${wanted}`,
    );
  }
  const best = semver.maxSatisfying(
    versions.filter(v => semver.valid(v)),
    range,
  );
  if (!best) throw new Error(errors.noMatch);
  return best;
}
