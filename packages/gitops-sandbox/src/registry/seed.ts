import { gzipSync } from 'node:zlib';
import { sha256 } from './digests';
import {
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  Platform,
} from './manifests';

export interface PushImageOptions {
  /** `os/architecture[/variant]`; default linux/amd64 and linux/arm64. */
  platforms?: string[];
  /** Image config labels, e.g. `org.opencontainers.image.revision`. */
  labels?: Record<string, string>;
  /** Annotations on the index. */
  annotations?: Record<string, string>;
}

export const DEFAULT_PLATFORMS = ['linux/amd64', 'linux/arm64'];

/** Content in push order: blobs, then image manifests, then the index. */
export interface SeedImage {
  blobs: Buffer[];
  manifests: { mediaType: string; bytes: Buffer }[];
  index: Buffer;
}

const EPOCH = '1970-01-01T00:00:00Z';
const PLATFORM = /^([a-z0-9_]+)\/([a-z0-9_]+)(?:\/([a-z0-9_]+))?$/;

export function parsePlatform(value: string): Platform {
  const match = PLATFORM.exec(value);
  if (!match) {
    throw new Error(`Invalid platform "${value}" (os/architecture[/variant])`);
  }
  const [, os, architecture, variant] = match;
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** One POSIX ustar header block; numbers are octal, NUL-terminated. */
function tarHeader(name: string, size: number, type: '0' | '5'): Buffer {
  const header = Buffer.alloc(512);
  const octal = (value: number, width: number) =>
    `${value.toString(8).padStart(width - 1, '0')}\0`;
  header.write(name, 0, 100, 'utf8');
  header.write(octal(type === '5' ? 0o755 : 0o644, 8), 100);
  header.write(octal(0, 8), 108);
  header.write(octal(0, 8), 116);
  header.write(octal(size, 12), 124);
  header.write(octal(0, 12), 136);
  header.fill(' ', 148, 156);
  header.write(type, 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  header.write('root', 265);
  header.write('root', 297);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/** A tar archive of the given files (and their parent directory entries). */
export function tarArchive(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const dirs = new Set<string>();
  for (const [name, text] of Object.entries(files)) {
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      if (!dirs.has(dir)) {
        dirs.add(dir);
        parts.push(tarHeader(dir, 0, '5'));
      }
    }
    const content = Buffer.from(text, 'utf8');
    parts.push(tarHeader(name, content.length, '0'), content);
    const pad = (512 - (content.length % 512)) % 512;
    parts.push(Buffer.alloc(pad));
  }
  // Two zero blocks end the archive.
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

const descriptor = (mediaType: string, data: Buffer) => ({
  mediaType,
  digest: sha256(data),
  size: data.length,
});

/**
 * A small but complete multi-arch image: an OCI index of one image manifest per
 * platform, each with a config naming its os/architecture and one gzipped tar layer
 * whose content names the image, tag and platform (so every tag differs).
 */
export function buildImage(
  repository: string,
  tag: string,
  options: PushImageOptions = {},
): SeedImage {
  const platforms = (options.platforms ?? DEFAULT_PLATFORMS).map(parsePlatform);
  if (platforms.length === 0)
    throw new Error('At least one platform is needed');
  const blobs: Buffer[] = [];
  const manifests: SeedImage['manifests'] = [];
  const entries = platforms.map(platform => {
    const name = [platform.os, platform.architecture, platform.variant]
      .filter(Boolean)
      .join('/');
    const tar = tarArchive({
      'etc/gitops-sandbox/image': `${repository}:${tag} ${name}\n`,
    });
    const layer = gzipSync(tar, { level: 9 });
    const config = json({
      created: EPOCH,
      ...platform,
      config: {
        Env: [
          'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        ],
        ...(options.labels ? { Labels: options.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      history: [{ created: EPOCH, created_by: 'gitops-sandbox pushImage' }],
    });
    blobs.push(config, layer);
    const manifest = json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: descriptor(OCI_CONFIG, config),
      layers: [descriptor(OCI_LAYER_GZIP, layer)],
    });
    manifests.push({ mediaType: OCI_MANIFEST, bytes: manifest });
    return { ...descriptor(OCI_MANIFEST, manifest), platform };
  });
  const index = json({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: entries,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  });
  return { blobs, manifests, index };
}
