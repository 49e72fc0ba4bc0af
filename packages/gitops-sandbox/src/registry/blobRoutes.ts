import http from 'node:http';
import { RegistryError } from './errors';
import { isValidName, parseDigest } from './digests';
import { MAX_BLOB_BYTES, RegistryStore } from './store';
import { readBody, sendBody, sendEmpty } from './respond';

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** The repository, validated against the spec's name grammar. */
  name: string;
  store: RegistryStore;
  /** Whether the request may pull from another repository (for mounts). */
  mayPull(repository: string): boolean;
}

const blobLocation = (name: string, digest: string) =>
  `/v2/${name}/blobs/${digest}`;
const uploadLocation = (name: string, id: string) =>
  `/v2/${name}/blobs/uploads/${id}`;
const rangeHeader = (size: number) => `0-${Math.max(size - 1, 0)}`;

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range) → inclusive bounds, or null if unsatisfiable. */
function byteRange(
  header: string,
  size: number,
): { start: number; end: number } | null | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(size - Number(match[2]), 0);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  return start > end || start >= size ? null : { start, end };
}

/** end-2 (GET/HEAD) and end-10 (DELETE): `/v2/<name>/blobs/<digest>`. */
export function handleBlob(ctx: RouteContext, reference: string) {
  const { req, res, name, store } = ctx;
  const { digest } = parseDigest(reference);
  if (req.method === 'DELETE') {
    store.deleteBlob(name, digest);
    sendEmpty(res, 202, { 'docker-content-digest': digest });
    return;
  }
  const data = store.getBlob(name, digest);
  if (!data) throw new RegistryError(404, 'BLOB_UNKNOWN', { digest });
  const headers = {
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
    etag: `"${digest}"`,
    'accept-ranges': 'bytes',
    'cache-control': 'max-age=31536000',
  };
  const rangeRequest = req.headers.range;
  const range = rangeRequest ? byteRange(rangeRequest, data.length) : undefined;
  if (range === null) {
    sendEmpty(res, 416, { 'content-range': `bytes */${data.length}` });
  } else if (range) {
    const part = data.subarray(range.start, range.end + 1);
    sendBody(res, 206, part, {
      ...headers,
      'content-range': `bytes ${range.start}-${range.end}/${data.length}`,
    });
  } else if (req.method === 'HEAD') {
    sendEmpty(res, 200, { ...headers, 'content-length': data.length });
  } else {
    sendBody(res, 200, data, headers);
  }
}

function blobCreated(ctx: RouteContext, digest: string) {
  sendEmpty(ctx.res, 201, {
    location: blobLocation(ctx.name, digest),
    'docker-content-digest': digest,
  });
}

/** end-4a/4b/11: POST `/v2/<name>/blobs/uploads/` (session, monolithic or mount). */
export async function handleUploadStart(ctx: RouteContext) {
  const { req, url, name, store } = ctx;
  const mount = url.searchParams.get('mount');
  const from = url.searchParams.get('from');
  if (mount !== null) {
    const { digest } = parseDigest(mount);
    // Not mountable (no such blob, no pull access): an upload session, as the spec says.
    if (
      from !== null &&
      isValidName(from) &&
      ctx.mayPull(from) &&
      store.mountBlob(name, from, digest)
    ) {
      await readBody(req, 0).catch(() => undefined);
      blobCreated(ctx, digest);
      return;
    }
  }
  const digest = url.searchParams.get('digest');
  if (digest !== null && mount === null) {
    parseDigest(digest);
    const data = await readBody(req, MAX_BLOB_BYTES);
    blobCreated(ctx, store.putBlob(name, data, digest));
    return;
  }
  await readBody(req, MAX_BLOB_BYTES);
  const id = store.startUpload(name);
  sendEmpty(ctx.res, 202, {
    location: uploadLocation(name, id),
    'docker-upload-uuid': id,
    range: '0-0',
  });
}

function contentRange(
  header: string | undefined,
): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/\d+|\/\*)?$/.exec(
    header.trim(),
  );
  if (!match || Number(match[2]) < Number(match[1])) {
    throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', {
      'content-range': header,
      reason: 'Content-Range must be <start>-<end>',
    });
  }
  return { start: Number(match[1]), end: Number(match[2]) };
}

/** end-5/6/13/14: PATCH, PUT, GET, DELETE on `<blob-push-location>`. */
export async function handleUpload(ctx: RouteContext, id: string) {
  const { req, res, url, name, store } = ctx;
  const progress = (size: number) => ({
    location: uploadLocation(name, id),
    range: rangeHeader(size),
    'docker-upload-uuid': id,
  });
  switch (req.method) {
    case 'GET': {
      sendEmpty(res, 204, progress(store.upload(name, id).size));
      return;
    }
    case 'DELETE': {
      store.cancelUpload(name, id);
      sendEmpty(res, 204);
      return;
    }
    case 'PATCH': {
      store.upload(name, id);
      const range = contentRange(req.headers['content-range']);
      const chunk = await readBody(req, MAX_BLOB_BYTES);
      const upload = store.appendUpload(name, id, chunk, range);
      sendEmpty(res, 202, progress(upload.size));
      return;
    }
    case 'PUT': {
      store.upload(name, id);
      const digest = url.searchParams.get('digest');
      if (digest === null) {
        throw new RegistryError(400, 'DIGEST_INVALID', {
          reason: 'the closing PUT needs ?digest=',
        });
      }
      parseDigest(digest);
      const chunk = await readBody(req, MAX_BLOB_BYTES);
      if (chunk.length > 0) {
        const range = contentRange(req.headers['content-range']);
        store.appendUpload(name, id, chunk, range);
      }
      blobCreated(ctx, store.finishUpload(name, id, digest));
      return;
    }
    default:
      throw new RegistryError(405, 'UNSUPPORTED', { method: req.method });
  }
}
