import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chartMetadata, packageChart, runHelm } from '../helm';
import { RegistryCredentials } from '../registry/auth';
import { OciRegistry } from '../registry/RegistryServer';
import { ChartRepositoryFinder, resolveVersion } from './chartRepository';

export interface PushedChart {
  name: string;
  version: string;
  /** Of the chart's manifest. */
  digest: string;
  /** As an Application names an OCI repository: `127.0.0.1:<port>/<path>`, no scheme. */
  repoURL: string;
}

/**
 * The registry's charts as Argo CD reads an OCI repository (one registered with
 * enableOCI): repoURL `<host>/<path>` (`oci://` tolerated), the chart in
 * `<path>/<chart>`, its versions the tags, where helm writes `+` as `_`.
 */
export function ociCharts(registry: OciRegistry): ChartRepositoryFinder {
  const hosts = [
    registry.host,
    registry.host.replace('127.0.0.1', 'localhost'),
  ];
  return repoURL => {
    const bare = repoURL.replace(/^oci:\/\//, '').replace(/\/+$/, '');
    const [host, ...rest] = bare.split('/');
    if (!hosts.includes(host.toLowerCase())) return undefined;
    const repository = (chart: string) => [...rest, chart].join('/');
    return {
      resolve: async (chart, targetRevision) => {
        const tags = registry.tags(repository(chart));
        return resolveVersion(
          tags.map(t => t.replaceAll('_', '+')),
          targetRevision,
          {
            missing: v => `${bare}/${chart}:${v}: not found`,
            noMatch: `constraint not found in ${tags.length} tags`,
          },
        );
      },
      package: async (chart, version) => {
        const tag = version.replaceAll('+', '_');
        const found = registry.chartPackage(repository(chart), tag);
        if (!found) {
          throw new Error(`${bare}/${chart}:${tag} is not a Helm chart`);
        }
        return found;
      },
    };
  };
}

/**
 * The real `helm push` of a chart directory (packaged with `helm package`) or `.tgz`
 * to `oci://<host>/<repository>`, after `helm registry login` in a private helm home.
 */
export async function pushChart(
  chart: string,
  target: {
    host: string;
    repository: string;
    credentials: RegistryCredentials;
  },
): Promise<PushedChart> {
  const home = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-helm-push-'));
  try {
    const tgz = (await fs.stat(chart)).isFile()
      ? path.resolve(chart)
      : await packageChart(chart, home);
    const { username, password } = target.credentials;
    await runHelm(
      ['registry', 'login', target.host, '--insecure'].concat([
        '--username',
        username,
        '--password-stdin',
      ]),
      { home, input: password },
    );
    const repoURL = `${target.host}/${target.repository}`;
    const { stdout, stderr } = await runHelm(
      ['push', tgz, `oci://${repoURL}`, '--plain-http'],
      { home },
    );
    const digest = /Digest: (sha256:[a-f0-9]{64})/.exec(stdout + stderr)?.[1];
    if (!digest) throw new Error(`helm push answered: ${stdout}${stderr}`);
    const { name, version } = await chartMetadata(tgz, home);
    return { name, version, digest, repoURL };
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}
