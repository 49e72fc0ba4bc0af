import { createHash } from 'node:crypto';
import http from 'node:http';
import { projectChunk } from './fields';
import { Json } from './model';

// How Argo CD's API server puts a watch on the wire (upstream at the commit of
// shared/contracts/argocd/SOURCE.md; the events themselves: stream.ts):
//
// - grpc-gateway v1.16 runtime.ForwardResponseStream, with argoproj/pkg's
//   grpc/http NewStreamForwarder (pkg/apiclient/application/forwarder_overwrite.go):
//   one `{"result": {"type", "application"}}` JSON object per line, content type
//   application/json (with `Accept: text/event-stream`: `data: <json> \n\n` frames,
//   text/event-stream, a `:` keepalive line every 15 s). `fields` projects every
//   chunk (fields.ts projectChunk). A chunk equal to the last one sent for the same
//   Application name is not sent again.
// - The HTTP status and headers go out with the first chunk: the gateway waits for
//   the gRPC stream's headers, which the server sends with its first message. A watch
//   with nothing to send yet has not answered at all.
// - An error (authentication, a bad selector) before any chunk answers its HTTP
//   status with one `{"error": {grpc_code, http_code, message, http_status}}` chunk
//   (swagger's stream schema), not the `{code, message, error}` of other routes.

export const STREAM_PATH = '/api/v1/stream/applications';

/** argoproj/pkg's forwarder writes a `:` line this often on an event stream. */
const SSE_KEEPALIVE_MS = 15_000;

/**
 * A proxy that will not pass long answers, configured to deny the streaming paths
 * (nginx `location /api/v1/stream/ { return 403; }`, or a WAF rule) rather than cut
 * them at its read timeout: 403 with the proxy's own page, before Argo CD is asked.
 * 403 (not 404 or 501) because that is what such a deny rule answers.
 */
export const PROXY_REFUSAL = [
  '<html>',
  '<head><title>403 Forbidden</title></head>',
  '<body>',
  '<center><h1>403 Forbidden</h1></center>',
  '<hr><center>nginx</center>',
  '</body>',
  '</html>',
  '',
].join('\r\n');

export function isStreamRequest(req: http.IncomingMessage, url: URL) {
  return (
    req.method === 'GET' && url.pathname.replace(/\/+$/, '') === STREAM_PATH
  );
}

export interface Format {
  sse: boolean;
  fields: string;
}

export function formatOf(
  req: http.IncomingMessage,
  query: URLSearchParams,
): Format {
  return {
    sse: req.headers.accept === 'text/event-stream',
    fields: query.get('fields') ?? '',
  };
}

function marshal(format: Format, chunk: Json): string {
  return JSON.stringify(
    format.fields ? projectChunk(chunk, format.fields) : chunk,
  );
}

function frame(format: Format, json: string): string {
  return format.sse ? `data: ${json} \n\n` : json;
}

function headersOf(format: Format) {
  return format.sse
    ? {
        'content-type': 'text/event-stream',
        'x-content-type-options': 'nosniff',
      }
    : { 'content-type': 'application/json' };
}

/** Answers an error as grpc-gateway ends a stream that failed before its first chunk. */
export function answerStreamError(
  res: http.ServerResponse,
  format: Format,
  status: number,
  grpcCode: number,
  message: string,
) {
  const chunk = {
    error: {
      grpc_code: grpcCode,
      http_code: status,
      message,
      http_status: http.STATUS_CODES[status],
    },
  };
  res.writeHead(status, headersOf(format));
  res.end(frame(format, marshal(format, chunk)));
}

/**
 * An instance fault's error (`{code, message}` of Argo CD's unary shape) as the
 * stream answers it.
 */
export function sendStreamFault(
  req: http.IncomingMessage,
  url: URL,
): (res: http.ServerResponse, status: number, body: Json) => void {
  const format = formatOf(req, url.searchParams);
  return (res, status, body) =>
    answerStreamError(res, format, status, body.code, body.message);
}

/** One open watch answer. */
export class OpenStream {
  private sent = 0;
  /** A hash of the last chunk sent per Application name (the forwarder's dedup). */
  private readonly lastByName = new Map<string, string>();
  private keepalive?: NodeJS.Timeout;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly format: Format,
    private readonly permitted: (app: Json) => boolean,
    private readonly info: { requestId?: string; query: string },
  ) {}

  offer(type: 'ADDED' | 'MODIFIED' | 'DELETED', application: Json) {
    // Closed, not yet released (its 'close' event comes next).
    if (this.res.destroyed || !this.permitted(application)) return;
    const json = marshal(this.format, { result: { type, application } });
    const hash = createHash('sha1').update(json).digest('base64');
    const name = application.metadata.name;
    if (this.lastByName.get(name) === hash) return;
    this.lastByName.set(name, hash);
    if (!this.res.headersSent) {
      this.res.writeHead(200, headersOf(this.format));
      if (this.format.sse) {
        this.keepalive = setInterval(
          () => this.res.write(':\n'),
          SSE_KEEPALIVE_MS,
        );
      }
    }
    this.res.write(`${frame(this.format, json)}\n`);
    this.sent++;
  }

  describe() {
    return { ...this.info, sent: this.sent, answered: this.res.headersSent };
  }

  /** Drops the connection, as a proxy that gives up on the answer. */
  drop() {
    this.res.destroy();
  }

  stop() {
    clearInterval(this.keepalive);
  }
}
