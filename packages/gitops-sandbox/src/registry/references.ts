import { TAG_PATTERN, isValidName, parseDigest } from './digests';
import { isIndexType } from './manifests';
import { RegistryStore, StoredManifest } from './store';

export interface ImageReference {
  /** Lower-cased registry host, `docker.io` for short names. */
  host: string;
  /** Repository path without the host (`library/nginx` for `nginx`). */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface ResolvedImage {
  /** Digest of the top-level manifest (the index of a multi-arch image). */
  digest: string;
  /** `os/architecture[/variant]` of each image, e.g. `linux/arm64`. */
  platforms: string[];
}

const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
]);

/** Lower-cased, with Docker Hub's aliases as `docker.io`. */
export function normalizeHost(host: string): string {
  const lower = host.toLowerCase();
  return DOCKER_HUB_ALIASES.has(lower) ? 'docker.io' : lower;
}

/**
 * Splits a reference as Docker's normalisation does: the first path component is a
 * host when it has a dot or a port or is `localhost`; otherwise the host is docker.io,
 * where a one-component name lives under `library/`. Undefined when malformed.
 */
export function parseImageReference(ref: string): ImageReference | undefined {
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch {
      return undefined;
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_PATTERN.test(tag)) return undefined;
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let host = 'docker.io';
  let repository = rest;
  if (first && (/[.:]/.test(first) || first === 'localhost')) {
    host = normalizeHost(first);
    repository = rest.slice(slash + 1);
  }
  if (host === 'docker.io' && !repository.includes('/')) {
    repository = `library/${repository}`;
  }
  if (!isValidName(repository)) return undefined;
  return { host, repository, tag, digest };
}

function platformOf(p: { os: string; architecture: string; variant?: string }) {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Platforms of a stored manifest: the index entries, or an image's own config. */
export function platformsOf(
  store: RegistryStore,
  repository: string,
  manifest: StoredManifest,
): string[] {
  if (isIndexType(manifest.mediaType)) {
    return manifest.parsed.children
      .filter(c => c.platform && c.platform.os !== 'unknown')
      .map(c => platformOf(c.platform!));
  }
  const config = manifest.parsed.config;
  if (!config || !/image\.config|container\.image/.test(config.mediaType)) {
    return [];
  }
  const data = store.getBlob(repository, config.digest);
  try {
    const parsed = JSON.parse(data?.toString('utf8') ?? '');
    return parsed.os && parsed.architecture ? [platformOf(parsed)] : [];
  } catch {
    return [];
  }
}

/**
 * The stored image a reference names, when its host is one the registry stands in for;
 * with `hosts` undefined, any host's (a mirror is asked for the path only).
 */
export function resolveImage(
  store: RegistryStore,
  hosts: Set<string> | undefined,
  ref: string,
): ResolvedImage | undefined {
  const parsed = parseImageReference(ref);
  if (!parsed || (hosts && !hosts.has(parsed.host))) return undefined;
  // As Docker: a digest wins over a tag; no tag means latest.
  const manifest = store.getManifest(
    parsed.repository,
    parsed.digest ?? parsed.tag ?? 'latest',
  );
  if (!manifest) return undefined;
  return {
    digest: manifest.digest,
    platforms: platformsOf(store, parsed.repository, manifest),
  };
}
