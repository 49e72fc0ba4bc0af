import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { PushedChart, pushChart } from './charts/ociCharts';
import { BareRepository } from './git/repoFiles';
import { EXAMPLE_BUILT_FROM } from './examples';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
import { RegistryCredentials } from './registry/auth';
import { ResolvedImage, parseImageReference } from './registry/references';
import { OciRegistry, startRegistry } from './registry/RegistryServer';
import { PushImageOptions } from './registry/seed';

/** The label CI's image build sets to the commit it built. */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

/**
 * The sandbox's image registry: the OCI distribution API for skopeo, docker and helm,
 * and the mirror every image of the sandbox's cluster is pulled through.
 */
export interface SandboxRegistry {
  /** e.g. `http://127.0.0.1:7093` */
  url: string;
  /** e.g. `127.0.0.1:7093`, for `skopeo login` and image references. */
  host: string;
  credentials: RegistryCredentials;
  /**
   * Pushes a small multi-arch image under a full reference as a values file names it
   * (`registry.example.com/checkout/service-a:4c5d6e7`, `nginx:1.25`); stored, as a
   * mirror serves it, under the path without the host. Resolves to its digest.
   */
  pushImage(imageRef: string, options?: PushImageOptions): Promise<string>;
  /** The image the cluster's nodes pull for a reference, undefined when there is none. */
  resolve(imageRef: string): ResolvedImage | undefined;
  /**
   * The OCI chart registry: pushes a chart directory (packaged with the real `helm
   * package`) or `.tgz` with the real `helm push`, logged in with `credentials`, to
   * `oci://<host>/<repository>` (`charts` by default). Answers, with the digest, the
   * repoURL an Application names it by (`<host>/charts`).
   */
  pushChart(
    chart: string,
    options?: { repository?: string },
  ): Promise<PushedChart>;
}

/** Starts the registry with the given credentials (token auth, as Docker Hub's). */
export async function startSandboxRegistry(options: {
  port?: number;
  credentials: RegistryCredentials;
}): Promise<{ server: OciRegistry; registry: SandboxRegistry }> {
  const server = await startRegistry(options);
  const registry: SandboxRegistry = {
    url: server.url,
    host: server.host,
    credentials: options.credentials,
    async pushImage(imageRef, pushOptions) {
      const parsed = parseImageReference(imageRef);
      if (!parsed) throw new Error(`Invalid image reference "${imageRef}"`);
      if (parsed.digest || !parsed.tag) {
        // A digest is what the content hashes to: it cannot be chosen by the pusher.
        throw new Error(
          `Push "${imageRef}" by tag; reference it by the digest pushImage answers`,
        );
      }
      return server.pushImage(parsed.repository, parsed.tag, pushOptions);
    },
    resolve: imageRef => server.resolveAsMirror(imageRef),
    pushChart: (chart, pushOptions) =>
      pushChart(chart, {
        host: server.host,
        repository: pushOptions?.repository ?? 'charts',
        credentials: options.credentials,
      }),
  };
  return { server, registry };
}

/**
 * Image references a values file names, by Helm's convention: a map with a string
 * `repository` and a `tag` (`image: {repository, tag}` and nested ones alike).
 */
export function imagesInValues(values: unknown): string[] {
  const found: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    if (!node || typeof node !== 'object' || Array.isArray(node)) return;
    const map = node as Record<string, unknown>;
    if (
      typeof map.repository === 'string' &&
      (typeof map.tag === 'string' || typeof map.tag === 'number')
    ) {
      found.push(`${map.repository}:${map.tag}`);
    }
    Object.values(map).forEach(walk);
  };
  walk(values);
  return found;
}

/**
 * Pushes, as CI would have, every image the examples' values files name (every
 * environment of every `services/<name>/config/chart/values-*.yaml`): multi-arch
 * (linux/amd64, linux/arm64), labelled with the revision built: the app-repository
 * commit each environment's version was built from (EXAMPLE_BUILT_FROM), as CI labels
 * its builds with the full commit SHA.
 */
export async function seedExampleImages(
  registry: SandboxRegistry,
  examplesDir: string,
  reposDir: string,
): Promise<string[]> {
  const servicesDir = path.join(examplesDir, 'services');
  const pushed: string[] = [];
  for (const service of (await fs.readdir(servicesDir)).sort()) {
    const chartDir = path.join(servicesDir, service, 'config', 'chart');
    const files = await fs.readdir(chartDir).catch(() => [] as string[]);
    const appRepo = path.join(reposDir, `${service}-app.git`);
    const appCommit = await new BareRepository(appRepo).resolve('main');
    for (const file of files.filter(f => /^values-.+\.ya?ml$/.test(f))) {
      const environment = /^values-(.+)\.ya?ml$/.exec(file)![1];
      const builtFrom = await revParse(
        appRepo,
        EXAMPLE_BUILT_FROM[environment] ?? 'main',
      );
      const values = parse(
        await fs.readFile(path.join(chartDir, file), 'utf8'),
      );
      for (const image of imagesInValues(values)) {
        if (pushed.includes(image)) continue;
        const tag = parseImageReference(image)?.tag ?? '';
        const revision =
          builtFrom ?? (/^[0-9a-f]{7,40}$/.test(tag) ? tag : appCommit ?? tag);
        await registry.pushImage(image, {
          labels: { [REVISION_LABEL]: revision },
        });
        pushed.push(image);
      }
    }
  }
  return pushed;
}

/** The commit `revision` (`main~4`, a tag) names in a bare repository, if any. */
async function revParse(bare: string, revision: string) {
  try {
    const { stdout } = await exec('git', [
      '-C',
      bare,
      'rev-parse',
      '--verify',
      '--quiet',
      `${revision}^{commit}`,
    ]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
