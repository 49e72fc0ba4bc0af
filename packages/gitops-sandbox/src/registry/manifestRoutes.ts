import { RegistryError } from './errors';
import { TAG_PATTERN, looksLikeDigest } from './digests';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  MAX_MANIFEST_BYTES,
  OCI_INDEX,
  OCI_MANIFEST,
  acceptedTypes,
} from './manifests';
import { StoredManifest } from './store';
import { RouteContext } from './blobRoutes';
import { paginate, readBody, sendBody, sendEmpty, sendJson } from './respond';

const unknownManifest = (reference: string, message?: string) =>
  new RegistryError(
    404,
    'MANIFEST_UNKNOWN',
    looksLikeDigest(reference) ? { digest: reference } : { tag: reference },
    message,
  );

/**
 * The manifest a client may be served, negotiated on Accept as the reference
 * registry does (see `acceptedTypes`).
 */
function negotiate(
  ctx: RouteContext,
  reference: string,
  manifest: StoredManifest,
): StoredManifest {
  const accepts = acceptedTypes(ctx.req.headers.accept);
  if (manifest.mediaType === OCI_MANIFEST && !accepts.has(OCI_MANIFEST)) {
    throw unknownManifest(
      reference,
      'OCI manifest found, but accept header does not support OCI manifests',
    );
  }
  if (manifest.mediaType === OCI_INDEX && !accepts.has(OCI_INDEX)) {
    throw unknownManifest(
      reference,
      'OCI index found, but accept header does not support OCI indexes',
    );
  }
  if (
    manifest.mediaType === DOCKER_LIST &&
    !accepts.has(DOCKER_LIST) &&
    !looksLikeDigest(reference)
  ) {
    // An old client asking by tag gets the list's linux/amd64 image.
    const child = manifest.parsed.children.find(
      c => c.platform?.os === 'linux' && c.platform?.architecture === 'amd64',
    );
    const image = child && ctx.store.getManifest(ctx.name, child.digest);
    if (!image) throw unknownManifest(reference);
    if (image.mediaType === DOCKER_MANIFEST || accepts.has(image.mediaType)) {
      return image;
    }
    throw new RegistryError(
      400,
      'MANIFEST_INVALID',
      undefined,
      'Schema 2 manifest not supported by client',
    );
  }
  return manifest;
}

/** end-3 (GET/HEAD), end-7 (PUT), end-9 (DELETE): `/v2/<name>/manifests/<ref>`. */
export async function handleManifest(ctx: RouteContext, reference: string) {
  const { req, res, url, name, store } = ctx;
  if (!looksLikeDigest(reference) && !TAG_PATTERN.test(reference)) {
    if (req.method === 'PUT') {
      throw new RegistryError(400, 'MANIFEST_INVALID', {
        reference,
        reason: 'neither a tag nor a digest',
      });
    }
    throw unknownManifest(reference);
  }
  switch (req.method) {
    case 'GET':
    case 'HEAD': {
      const stored = store.getManifest(name, reference);
      if (!stored) throw unknownManifest(reference);
      const manifest = negotiate(ctx, reference, stored);
      const headers = {
        'content-type': manifest.mediaType,
        'docker-content-digest': manifest.digest,
        etag: `"${manifest.digest}"`,
      };
      const ifNoneMatch = req.headers['if-none-match'];
      if (
        ifNoneMatch === manifest.digest ||
        ifNoneMatch === `"${manifest.digest}"`
      ) {
        sendEmpty(res, 304, headers);
      } else if (req.method === 'HEAD') {
        sendEmpty(res, 200, {
          ...headers,
          'content-length': manifest.bytes.length,
        });
      } else {
        sendBody(res, 200, manifest.bytes, headers);
      }
      return;
    }
    case 'PUT': {
      const bytes = await readBody(req, MAX_MANIFEST_BYTES);
      const extraTags = looksLikeDigest(reference)
        ? url.searchParams.getAll('tag')
        : [];
      const stored = store.putManifest(
        name,
        reference,
        req.headers['content-type'],
        bytes,
        extraTags,
      );
      sendEmpty(res, 201, {
        location: `/v2/${name}/manifests/${stored.digest}`,
        'docker-content-digest': stored.digest,
        ...(extraTags.length ? { 'oci-tag': extraTags.join(', ') } : {}),
      });
      return;
    }
    case 'DELETE': {
      store.deleteManifest(name, reference);
      sendEmpty(res, 202);
      return;
    }
    default:
      throw new RegistryError(405, 'UNSUPPORTED', { method: req.method });
  }
}

/** end-8a/8b: `GET /v2/<name>/tags/list?n=&last=`. */
export function handleTags(ctx: RouteContext) {
  const tags = ctx.store.tags(ctx.name);
  if (!tags) {
    throw new RegistryError(404, 'NAME_UNKNOWN', { name: ctx.name });
  }
  const page = paginate(tags, ctx.url);
  sendJson(
    ctx.res,
    200,
    { name: ctx.name, tags: page.items },
    page.link ? { link: page.link } : {},
  );
}
