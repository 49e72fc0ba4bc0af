import http from 'node:http';

/** The error codes of the distribution spec ("Error Codes", code-1 … code-14). */
export type ErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS';

export const ERROR_CODES: readonly ErrorCode[] = [
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
];

/** Messages as the reference registry (distribution) words them. */
const MESSAGES: Record<ErrorCode, string> = {
  BLOB_UNKNOWN: 'blob unknown to registry',
  BLOB_UPLOAD_INVALID: 'blob upload invalid',
  BLOB_UPLOAD_UNKNOWN: 'blob upload unknown to registry',
  DIGEST_INVALID: 'provided digest did not match uploaded content',
  MANIFEST_BLOB_UNKNOWN:
    'manifest references a manifest or blob unknown to registry',
  MANIFEST_INVALID: 'manifest invalid',
  MANIFEST_UNKNOWN: 'manifest unknown',
  NAME_INVALID: 'invalid repository name',
  NAME_UNKNOWN: 'repository name not known to registry',
  SIZE_INVALID: 'provided length did not match content length',
  UNAUTHORIZED: 'authentication required',
  DENIED: 'requested access to the resource is denied',
  UNSUPPORTED: 'The operation is unsupported.',
  TOOMANYREQUESTS: 'too many requests',
};

/** A refusal: the status and one spec error; thrown by the store and handlers. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly detail?: unknown,
    message?: string,
    /** Extra response headers (e.g. the auth challenge). */
    readonly headers: Record<string, string> = {},
    /** One more error of the same code per entry (e.g. each unknown blob). */
    readonly moreDetails: unknown[] = [],
  ) {
    super(message ?? MESSAGES[code]);
  }

  body() {
    return {
      errors: [this.detail, ...this.moreDetails].map(detail => ({
        code: this.code,
        message: this.message,
        ...(detail === undefined ? {} : { detail }),
      })),
    };
  }
}

export const API_VERSION_HEADER = {
  'docker-distribution-api-version': 'registry/2.0',
};

export function sendError(res: http.ServerResponse, error: RegistryError) {
  const body = JSON.stringify(error.body());
  res.writeHead(error.status, {
    ...API_VERSION_HEADER,
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** An unexpected failure: 500 with the reference registry's UNKNOWN code (5XX bodies are free). */
export function sendInternalError(res: http.ServerResponse, error: unknown) {
  const body = JSON.stringify({
    errors: [
      { code: 'UNKNOWN', message: 'unknown error', detail: String(error) },
    ],
  });
  res.writeHead(500, {
    ...API_VERSION_HEADER,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
