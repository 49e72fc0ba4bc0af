import { createHash } from 'node:crypto';
import { RegistryError } from './errors';

/** Algorithms the registry verifies (image-spec "Registered algorithms"). */
const ENCODED: Record<string, RegExp> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/** The image-spec digest grammar, for telling digests from tags. */
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** The spec's `<name>` grammar, one path component at a time. */
export const NAME_PATTERN =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

export const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Many clients cap `host/name` at 255 characters; names stay under that. */
const MAX_NAME_LENGTH = 255;

export function isValidName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

export function looksLikeDigest(value: string): boolean {
  return DIGEST_GRAMMAR.test(value);
}

/** `sha256:<hex>` of the exact bytes. */
export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/**
 * Checks a client-given digest: 400 DIGEST_INVALID when malformed or of an
 * algorithm the registry cannot verify (the spec's "SHOULD respond 400").
 */
export function parseDigest(value: string | null | undefined): {
  algorithm: string;
  digest: string;
} {
  const [algorithm = '', encoded = ''] = (value ?? '').split(':', 2);
  const pattern = ENCODED[algorithm];
  if (!value || !pattern || !pattern.test(encoded) || !looksLikeDigest(value)) {
    throw new RegistryError(400, 'DIGEST_INVALID', {
      digest: value ?? null,
      reason: 'invalid digest or unsupported algorithm (sha256, sha512)',
    });
  }
  return { algorithm, digest: value };
}

export function digestOf(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
