import { ImageReference } from './types';

/**
 * Splits `registry[:port]/path[:tag][@digest]` into repository, tag and digest.
 *
 * @public
 */
export function parseImageReference(image: string): ImageReference {
  const [name, digest] = image.split('@', 2);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  const repository = colon < 0 ? name : name.slice(0, colon);
  const tag = colon < 0 ? undefined : name.slice(colon + 1);
  return {
    repository,
    ...(tag && { tag }),
    ...(digest && { digest }),
  };
}

/** @public */
export function formatImageReference(image: ImageReference): string {
  return `${image.repository}${image.tag ? `:${image.tag}` : ''}${
    image.digest ? `@${image.digest}` : ''
  }`;
}

/**
 * Whether `wanted` runs among `running` images: same repository, and the same digest
 * when a digest is wanted, else the same tag.
 *
 * @public
 */
export function isImageRunning(
  wanted: ImageReference,
  running: string[],
): boolean {
  return running.map(parseImageReference).some(image => {
    if (image.repository !== wanted.repository) return false;
    if (wanted.digest) return image.digest === wanted.digest;
    return image.tag === wanted.tag;
  });
}
