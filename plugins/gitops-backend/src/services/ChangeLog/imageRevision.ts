import { Config } from '@backstage/config';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import { OciRepository } from '../ChartRepository/chartHttp';

/** The label CI's image build sets to the commit it built (OCI image spec). */
export const REVISION_LABEL = 'org.opencontainers.image.revision';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/**
 * An image registry the backend may read labels from (`gitops.imageRegistries`).
 * Holds a secret. Images of any other registry are never looked up, so a catalog
 * author cannot make the backend call a host of their choosing.
 */
export interface ImageRegistryConfig {
  /** As image references name it: `ghcr.io`, `registry.example.com:5000`, `docker.io`. */
  host: string;
  /** Where its API answers, when not `https://<host>` (a mirror, Docker Hub's). */
  url: string;
  username?: string;
  password?: string;
}

export function readImageRegistries(config: Config): ImageRegistryConfig[] {
  return (config.getOptionalConfigArray('gitops.imageRegistries') ?? []).map(
    (registry, i) => {
      const host = registry.getString('host');
      const fallback =
        host === 'docker.io'
          ? 'https://registry-1.docker.io'
          : `https://${host}`;
      const url = (registry.getOptionalString('url') ?? fallback).replace(
        /\/+$/,
        '',
      );
      if (!/^https?:\/\/[^/]+$/.test(url)) {
        throw new Error(
          `gitops.imageRegistries[${i}].url must be an http(s) URL with no path, e.g. https://ghcr.io`,
        );
      }
      return {
        host,
        url,
        username: registry.getOptionalString('username'),
        password: registry.getOptionalString('password'),
      };
    },
  );
}

/** `registry.example.com/team/app` → its registry host and path; Docker Hub's defaults. */
export function splitImageRepository(repository: string) {
  const [first, ...rest] = repository.split('/');
  if (
    rest.length &&
    (first.includes('.') || first.includes(':') || first === 'localhost')
  ) {
    return { host: first, path: rest.join('/') };
  }
  return {
    host: 'docker.io',
    path: rest.length ? repository : `library/${repository}`,
  };
}

/**
 * The commit an image was built from, as its config's `org.opencontainers.image.revision`
 * label says (of the linux/amd64 image of a multi-arch index, else the first): read
 * through the registry's HTTP API (manifest, then config blob). Undefined when the
 * registry is not configured, the image has no such label, or the tag is unknown.
 */
export async function imageRevision(
  registries: ImageRegistryConfig[],
  image: { repository: string; reference: string },
  signal: AbortSignal,
): Promise<string | undefined> {
  const { host, path } = splitImageRepository(image.repository);
  const registry = registries.find(r => r.host === host);
  if (!registry) return undefined;
  const { protocol, host: apiHost } = new URL(registry.url);
  const repo = new OciRepository(
    {
      url: apiHost,
      enableOCI: true,
      insecure: protocol === 'http:',
      username: registry.username,
      password: registry.password,
    },
    path,
    signal,
  );
  try {
    let manifest = await json(
      await repo.get(`manifests/${image.reference}`, {
        accept: MANIFEST_TYPES,
      }),
    );
    if (Array.isArray(manifest.manifests)) {
      const entries: any[] = manifest.manifests;
      const chosen =
        entries.find(
          m =>
            m.platform?.os === 'linux' && m.platform?.architecture === 'amd64',
        ) ?? entries[0];
      if (!chosen?.digest) return undefined;
      manifest = await json(
        await repo.get(`manifests/${chosen.digest}`, {
          accept: MANIFEST_TYPES,
        }),
      );
    }
    const digest = manifest.config?.digest;
    if (typeof digest !== 'string') return undefined;
    // Registries may answer a blob with a redirect to storage.
    const config = await json(
      await repo.get(`blobs/${digest}`, { follow: true }),
    );
    const revision = config.config?.Labels?.[REVISION_LABEL];
    return typeof revision === 'string' && revision ? revision : undefined;
  } catch (error) {
    if (error instanceof GitopsSourceError && error.code === 'not-found')
      return undefined;
    throw error;
  }
}

async function json(res: Response): Promise<any> {
  try {
    return await res.json();
  } catch {
    throw new GitopsSourceError(
      'invalid-response',
      `The image registry answered ${new URL(res.url).pathname} with no JSON`,
    );
  }
}
