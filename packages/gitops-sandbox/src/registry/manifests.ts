import { RegistryError } from './errors';
import { parseDigest } from './digests';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST =
  'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST =
  'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';
export const HELM_CHART_LAYER =
  'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

export const MANIFEST_TYPES = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_LIST,
] as const;
export type ManifestType = (typeof MANIFEST_TYPES)[number];

export const isIndexType = (type: string) =>
  type === OCI_INDEX || type === DOCKER_LIST;

/** As the reference registry's limit; the spec asks for at least 4 MB. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
}

/** What a stored manifest references, found when it was pushed. */
export interface ParsedManifest {
  mediaType: ManifestType;
  /** Config and layers (image manifests). */
  blobs: Descriptor[];
  /** Child manifests (indexes and manifest lists). */
  children: Descriptor[];
  config?: Descriptor;
  subject?: Descriptor;
}

const invalid = (detail: string) =>
  new RegistryError(400, 'MANIFEST_INVALID', detail);

/** Strips parameters (`; charset=…`), as the spec tells registries to. */
export function bareMediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

function descriptor(value: unknown, where: string): Descriptor {
  const d = value as Descriptor;
  if (!d || typeof d !== 'object' || Array.isArray(d)) {
    throw invalid(`${where}: a descriptor object is required`);
  }
  if (typeof d.mediaType !== 'string' || !d.mediaType) {
    throw invalid(`${where}.mediaType: a string is required`);
  }
  if (!Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(`${where}.size: a non-negative integer is required`);
  }
  if (typeof d.digest !== 'string') {
    throw invalid(`${where}.digest: a string is required`);
  }
  parseDigest(d.digest);
  if (d.platform !== undefined) {
    const p = d.platform;
    if (typeof p?.os !== 'string' || typeof p?.architecture !== 'string') {
      throw invalid(`${where}.platform: os and architecture are required`);
    }
  }
  return d;
}

/**
 * Parses a pushed manifest as the reference registry does: the type is the request's
 * Content-Type (or the body's mediaType when the header says nothing specific), the
 * two must agree, and the body must be a schemaVersion 2 manifest of that type.
 */
export function parseManifest(
  contentType: string | undefined,
  bytes: Buffer,
): ParsedManifest {
  let body: any;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch (e: any) {
    throw invalid(`not JSON: ${e.message}`);
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalid('a JSON object is required');
  }
  const header = bareMediaType(contentType);
  const declared = typeof body.mediaType === 'string' ? body.mediaType : '';
  const generic = header === '' || header === 'application/json';
  const mediaType = (generic ? declared : header) as ManifestType;
  if (!MANIFEST_TYPES.includes(mediaType)) {
    throw invalid(`unsupported manifest media type "${mediaType || header}"`);
  }
  if (declared && declared !== mediaType) {
    throw invalid(
      `mediaType "${declared}" does not match Content-Type "${mediaType}"`,
    );
  }
  if (body.schemaVersion !== 2) {
    throw invalid('schemaVersion must be 2');
  }
  if (
    (mediaType === DOCKER_MANIFEST || mediaType === DOCKER_LIST) &&
    !declared
  ) {
    throw invalid('Docker manifests must declare their mediaType');
  }
  const subject =
    body.subject === undefined
      ? undefined
      : descriptor(body.subject, 'subject');

  if (isIndexType(mediaType)) {
    if (!Array.isArray(body.manifests)) {
      throw invalid('manifests: an array is required');
    }
    const children = body.manifests.map((m: unknown, i: number) =>
      descriptor(m, `manifests[${i}]`),
    );
    return { mediaType, blobs: [], children, subject };
  }
  const config = descriptor(body.config, 'config');
  if (!Array.isArray(body.layers)) {
    throw invalid('layers: an array is required');
  }
  const layers = body.layers.map((l: unknown, i: number) =>
    descriptor(l, `layers[${i}]`),
  );
  return {
    mediaType,
    blobs: [config, ...layers],
    children: [],
    config,
    subject,
  };
}

/**
 * The reference registry's content negotiation: an OCI manifest or index is served only
 * to a client whose Accept names its type (else 404 MANIFEST_UNKNOWN); a Docker manifest
 * list fetched by tag by a client that does not accept lists falls back to its
 * linux/amd64 image. Docker image manifests are served to anyone.
 */
export function acceptedTypes(accept: string | string[] | undefined) {
  const values = Array.isArray(accept) ? accept : [accept ?? ''];
  return new Set(values.flatMap(v => v.split(',')).map(v => bareMediaType(v)));
}
