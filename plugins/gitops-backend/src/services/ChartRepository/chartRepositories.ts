import { createHash } from 'node:crypto';
import { Config } from '@backstage/config';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import semver from 'semver';
import { parse } from 'yaml';
import { OciRepository, request } from './chartHttp';

/**
 * A Helm chart repository the backend may read versions from, as Argo CD's repository
 * secrets describe one (`type: helm`, `enableOCI`, `username`, `password`). Holds a
 * secret. Only listed repositories are read: an Application naming any other URL gets
 * no "newest version", never a request to a host a catalog author chose.
 */
export interface ChartRepositoryConfig {
  /** As Applications name it: `https://charts.example.com/stable`, or `ghcr.io/org/charts` for OCI. */
  url: string;
  enableOCI: boolean;
  /** OCI over plain HTTP (a registry on 127.0.0.1). */
  insecure: boolean;
  username?: string;
  password?: string;
}

export function readChartRepositories(config: Config): ChartRepositoryConfig[] {
  return (config.getOptionalConfigArray('gitops.chartRepositories') ?? []).map(
    (repo, i) => {
      const key = `gitops.chartRepositories[${i}]`;
      const enableOCI = repo.getOptionalBoolean('enableOCI') ?? false;
      const url = repo.getString('url').replace(/\/+$/, '');
      if (!enableOCI && !/^https?:\/\//.test(url)) {
        throw new Error(
          `${key}.url must be an http(s) URL, or set enableOCI: true for an OCI registry`,
        );
      }
      if (enableOCI && /^[a-z]+:\/\//.test(url.replace(/^oci:\/\//, ''))) {
        throw new Error(
          `${key}.url of an OCI registry is host/path as Argo CD takes it, e.g. ghcr.io/org/charts`,
        );
      }
      return {
        url: url.replace(/^oci:\/\//, ''),
        enableOCI,
        insecure: repo.getOptionalBoolean('insecure') ?? false,
        username: repo.getOptionalString('username'),
        password: repo.getOptionalString('password'),
      };
    },
  );
}

/** A repository URL as Applications and config write it, compared without scheme noise. */
export function sameRepository(a: string, b: string) {
  const normal = (url: string) =>
    url.replace(/^oci:\/\//, '').replace(/\/+$/, '');
  return normal(a) === normal(b);
}

/** Release versions newest first: prereleases and non-semver tags left out. */
export function releasesNewestFirst(versions: string[]): string[] {
  return versions
    .filter(v => semver.valid(v) && !semver.prerelease(v))
    .sort(semver.rcompare);
}

/** The version Argo CD resolves a targetRevision to: exact, or the highest in range. */
export function resolveVersion(
  wanted: string,
  versions: string[],
): string | undefined {
  if (versions.includes(wanted)) return wanted;
  if (!semver.validRange(wanted)) return undefined;
  return semver.maxSatisfying(versions, wanted) ?? undefined;
}

const MAX_INDEX_BYTES = 32 * 1024 * 1024;

/** The entries of a classic repository's index.yaml for `chart`. */
async function indexEntries(
  repo: ChartRepositoryConfig,
  chart: string,
  signal: AbortSignal,
): Promise<Array<{ version?: unknown; urls?: unknown }>> {
  const res = await request(`${repo.url}/index.yaml`, repo, signal);
  const text = await res.text();
  if (text.length > MAX_INDEX_BYTES) {
    throw new GitopsSourceError(
      'invalid-response',
      `${repo.url}/index.yaml is larger than ${MAX_INDEX_BYTES} bytes`,
    );
  }
  let index: any;
  try {
    index = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new GitopsSourceError(
      'invalid-response',
      `${repo.url}/index.yaml is not YAML: ${(error as Error).message}`,
    );
  }
  const entries = index?.entries?.[chart];
  if (!Array.isArray(entries)) {
    throw new GitopsSourceError(
      'not-found',
      `chart "${chart}" is not in ${repo.url}/index.yaml`,
    );
  }
  return entries;
}

/**
 * Reads the versions of a chart: `index.yaml` of a classic repository, or the tags of
 * the chart's OCI repository (distribution spec `GET /v2/<name>/tags/list`, with the
 * token exchange registries ask for, paginated by `Link`). Helm stores `+` as `_` in
 * OCI tags.
 */
export async function chartVersions(
  repo: ChartRepositoryConfig,
  chart: string,
  timeoutMs: number,
): Promise<string[]> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (!repo.enableOCI) {
    return (await indexEntries(repo, chart, signal))
      .map(entry => entry?.version)
      .filter((v: unknown): v is string => typeof v === 'string');
  }
  const registry = new OciRepository(repo, chart, signal);
  const tags: string[] = [];
  let next: string | undefined = `tags/list?n=1000`;
  for (let page = 0; next && page < 50; page++) {
    const res = await registry.get(next);
    const body: any = await res.json().catch(() => undefined);
    if (!Array.isArray(body?.tags)) {
      throw new GitopsSourceError(
        'invalid-response',
        `${repo.url} answered the tags of ${chart} without a tags list`,
      );
    }
    tags.push(...body.tags.filter((t: unknown) => typeof t === 'string'));
    const link = /<([^>]+)>;\s*rel="?next"?/.exec(
      res.headers.get('link') ?? '',
    );
    next = link ? registry.relative(link[1]) : undefined;
  }
  return tags.map(tag => tag.replace(/_/g, '+'));
}

const MAX_CHART_BYTES = 20 * 1024 * 1024;
const HELM_CHART_LAYER = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

/**
 * One version of a chart as its package (`.tgz`): from the URL index.yaml names (on
 * the repository's own host only), or the chart layer of the OCI manifest, checked
 * against its digest.
 */
export async function chartPackage(
  repo: ChartRepositoryConfig,
  chart: string,
  version: string,
  timeoutMs: number,
): Promise<Buffer> {
  const signal = AbortSignal.timeout(timeoutMs);
  if (!repo.enableOCI) {
    const entry = (await indexEntries(repo, chart, signal)).find(
      e => e?.version === version,
    );
    const first = Array.isArray(entry?.urls) ? entry!.urls[0] : undefined;
    if (typeof first !== 'string') {
      throw new GitopsSourceError(
        'not-found',
        `${repo.url}/index.yaml has no ${chart} ${version}`,
      );
    }
    const url = new URL(first, `${repo.url}/`);
    if (url.origin !== new URL(repo.url).origin) {
      throw new GitopsSourceError(
        'invalid-response',
        `${repo.url}/index.yaml sends ${chart} ${version} to another host (${url.host}); it is not downloaded`,
      );
    }
    return bounded(await request(url.toString(), repo, signal), repo);
  }
  const registry = new OciRepository(repo, chart, signal);
  const manifest: any = await (
    await registry.get(`manifests/${version.replace(/\+/g, '_')}`, {
      accept: 'application/vnd.oci.image.manifest.v1+json',
    })
  )
    .json()
    .catch(() => undefined);
  const layer = manifest?.layers?.find(
    (l: any) => l?.mediaType === HELM_CHART_LAYER,
  );
  if (
    typeof layer?.digest !== 'string' ||
    !/^sha256:[a-f0-9]{64}$/.test(layer.digest)
  ) {
    throw new GitopsSourceError(
      'invalid-response',
      `${repo.url}/${chart}:${version} is not a Helm chart (no ${HELM_CHART_LAYER} layer)`,
    );
  }
  // Registries may send blobs on to storage elsewhere: a redirect is followed here.
  const data = await bounded(
    await registry.get(`blobs/${layer.digest}`, { follow: true }),
    repo,
  );
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (digest !== layer.digest) {
    throw new GitopsSourceError(
      'invalid-response',
      `${repo.url}/${chart}:${version} does not match its digest`,
    );
  }
  return data;
}

async function bounded(res: Response, repo: ChartRepositoryConfig) {
  const data = Buffer.from(await res.arrayBuffer());
  if (data.length > MAX_CHART_BYTES) {
    throw new GitopsSourceError(
      'invalid-response',
      `a chart package of ${repo.url} is larger than ${MAX_CHART_BYTES} bytes`,
    );
  }
  return data;
}
