import { randomUUID } from 'node:crypto';
import { RegistryError } from './errors';
import { TAG_PATTERN, digestOf, looksLikeDigest, parseDigest } from './digests';
import {
  Descriptor,
  MAX_MANIFEST_BYTES,
  ManifestType,
  ParsedManifest,
  parseManifest,
} from './manifests';

export interface StoredManifest {
  digest: string;
  bytes: Buffer;
  mediaType: ManifestType;
  parsed: ParsedManifest;
}

interface Repository {
  /** Blobs linked to this repository (uploaded or mounted here), as the reference registry keeps them. */
  blobs: Set<string>;
  manifests: Map<string, StoredManifest>;
  tags: Map<string, string>;
}

interface Upload {
  repository: string;
  chunks: Buffer[];
  size: number;
}

/** Uploads are held in memory; past this a client is told the size is refused. */
export const MAX_BLOB_BYTES = 512 * 1024 * 1024;

/**
 * In-memory content: blobs are stored once by digest and linked into repositories,
 * manifests keep the exact bytes pushed, tags point at manifest digests.
 */
export class RegistryStore {
  private readonly blobData = new Map<string, Buffer>();
  private readonly repos = new Map<string, Repository>();
  private readonly uploads = new Map<string, Upload>();

  private repo(name: string): Repository {
    let repo = this.repos.get(name);
    if (!repo) {
      repo = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      this.repos.set(name, repo);
    }
    return repo;
  }

  /** Repositories holding at least one manifest, sorted. */
  repositories(): string[] {
    return [...this.repos.entries()]
      .filter(([, r]) => r.manifests.size > 0)
      .map(([name]) => name)
      .sort();
  }

  /** Tags in "ASCIIbetical" order, or undefined for an unknown repository. */
  tags(name: string): string[] | undefined {
    const repo = this.repos.get(name);
    if (!repo || (repo.manifests.size === 0 && repo.blobs.size === 0)) {
      return undefined;
    }
    return [...repo.tags.keys()].sort();
  }

  getBlob(name: string, digest: string): Buffer | undefined {
    return this.repos.get(name)?.blobs.has(digest)
      ? this.blobData.get(digest)
      : undefined;
  }

  /** Verifies the content against the digest the client gave, then links it. */
  putBlob(name: string, data: Buffer, expected: string): string {
    const { algorithm, digest } = parseDigest(expected);
    const actual = digestOf(data, algorithm);
    if (actual !== digest) {
      throw new RegistryError(400, 'DIGEST_INVALID', {
        expected: digest,
        actual,
      });
    }
    if (!this.blobData.has(digest)) this.blobData.set(digest, data);
    this.repo(name).blobs.add(digest);
    return digest;
  }

  /** Links a blob of another repository; false when `from` does not hold it. */
  mountBlob(name: string, from: string, digest: string): boolean {
    if (!this.repos.get(from)?.blobs.has(digest)) return false;
    this.repo(name).blobs.add(digest);
    return true;
  }

  deleteBlob(name: string, digest: string) {
    if (!this.repos.get(name)?.blobs.delete(digest)) {
      throw new RegistryError(404, 'BLOB_UNKNOWN', { digest });
    }
  }

  startUpload(name: string): string {
    const id = randomUUID();
    this.repo(name);
    this.uploads.set(id, { repository: name, chunks: [], size: 0 });
    return id;
  }

  /** The upload session of this repository, or 404 BLOB_UPLOAD_UNKNOWN. */
  upload(name: string, id: string): Upload {
    const upload = this.uploads.get(id);
    if (!upload || upload.repository !== name) {
      throw new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', { uuid: id });
    }
    return upload;
  }

  /**
   * Appends a chunk. With a Content-Range, it must start right after the bytes
   * received so far (416 otherwise, as the spec requires).
   */
  appendUpload(
    name: string,
    id: string,
    chunk: Buffer,
    range: { start: number; end: number } | undefined,
  ): Upload {
    const upload = this.upload(name, id);
    if (range) {
      const length = range.end - range.start + 1;
      if (range.start !== upload.size || length !== chunk.length) {
        throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', {
          received: upload.size,
          range: `${range.start}-${range.end}`,
          length: chunk.length,
        });
      }
    }
    if (upload.size + chunk.length > MAX_BLOB_BYTES) {
      throw new RegistryError(413, 'SIZE_INVALID', { max: MAX_BLOB_BYTES });
    }
    upload.chunks.push(chunk);
    upload.size += chunk.length;
    return upload;
  }

  /** Ends the session: verifies the whole blob against the digest, then links it. */
  finishUpload(name: string, id: string, digest: string): string {
    const upload = this.upload(name, id);
    const result = this.putBlob(name, Buffer.concat(upload.chunks), digest);
    this.uploads.delete(id);
    return result;
  }

  cancelUpload(name: string, id: string) {
    this.upload(name, id);
    this.uploads.delete(id);
  }

  /** By tag or digest; undefined when unknown. */
  getManifest(name: string, reference: string): StoredManifest | undefined {
    const repo = this.repos.get(name);
    if (!repo) return undefined;
    const digest = looksLikeDigest(reference)
      ? reference
      : repo.tags.get(reference);
    return digest ? repo.manifests.get(digest) : undefined;
  }

  /**
   * Stores the exact bytes after checking them as the reference registry does: the
   * body parses as the declared type, every config/layer blob is linked in this
   * repository and every child manifest is stored in it (MANIFEST_BLOB_UNKNOWN
   * otherwise); a push by digest must match the bytes (DIGEST_INVALID).
   */
  putManifest(
    name: string,
    reference: string,
    contentType: string | undefined,
    bytes: Buffer,
    extraTags: string[] = [],
  ): StoredManifest {
    if (bytes.length > MAX_MANIFEST_BYTES) {
      throw new RegistryError(413, 'SIZE_INVALID', {
        max: MAX_MANIFEST_BYTES,
        size: bytes.length,
      });
    }
    const byDigest = looksLikeDigest(reference);
    let digest: string;
    if (byDigest) {
      const { algorithm } = parseDigest(reference);
      digest = digestOf(bytes, algorithm);
      if (digest !== reference) {
        throw new RegistryError(400, 'DIGEST_INVALID', {
          expected: reference,
          actual: digest,
        });
      }
    } else {
      digest = digestOf(bytes);
    }
    const tags = [...(byDigest ? [] : [reference]), ...extraTags];
    for (const tag of tags) {
      if (!TAG_PATTERN.test(tag)) {
        throw new RegistryError(400, 'MANIFEST_INVALID', {
          tag,
          reason: 'invalid tag',
        });
      }
    }
    const parsed = parseManifest(contentType, bytes);
    const repo = this.repo(name);
    this.checkReferences(repo, parsed);
    const stored: StoredManifest = {
      digest,
      bytes,
      mediaType: parsed.mediaType,
      parsed,
    };
    repo.manifests.set(digest, stored);
    for (const tag of tags) repo.tags.set(tag, digest);
    return stored;
  }

  private checkReferences(repo: Repository, parsed: ParsedManifest) {
    const unknown: string[] = [];
    const sizeMismatch: Descriptor[] = [];
    for (const blob of parsed.blobs) {
      // Foreign layers (with urls) live elsewhere, as the reference registry allows.
      if (blob.urls?.length) continue;
      const data = repo.blobs.has(blob.digest)
        ? this.blobData.get(blob.digest)
        : undefined;
      if (!data) unknown.push(blob.digest);
      else if (data.length !== blob.size) sizeMismatch.push(blob);
    }
    for (const child of parsed.children) {
      const stored = repo.manifests.get(child.digest);
      if (!stored) unknown.push(child.digest);
      else if (stored.bytes.length !== child.size) sizeMismatch.push(child);
    }
    if (unknown.length) {
      throw new RegistryError(
        400,
        'MANIFEST_BLOB_UNKNOWN',
        { digest: unknown[0] },
        undefined,
        {},
        unknown.slice(1).map(digest => ({ digest })),
      );
    }
    if (sizeMismatch.length) {
      throw new RegistryError(400, 'MANIFEST_INVALID', {
        reason: 'descriptor size does not match the stored content',
        digests: sizeMismatch.map(d => d.digest),
      });
    }
  }

  /** A tag removes the tag; a digest removes the manifest and the tags on it. */
  deleteManifest(name: string, reference: string) {
    const repo = this.repos.get(name);
    if (!looksLikeDigest(reference)) {
      if (!repo?.tags.delete(reference)) {
        throw new RegistryError(404, 'MANIFEST_UNKNOWN', { tag: reference });
      }
      return;
    }
    if (!repo?.manifests.delete(reference)) {
      throw new RegistryError(404, 'MANIFEST_UNKNOWN', { digest: reference });
    }
    for (const [tag, digest] of repo.tags) {
      if (digest === reference) repo.tags.delete(tag);
    }
  }
}
