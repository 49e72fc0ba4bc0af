import http from 'node:http';
import { API_VERSION_HEADER, RegistryError } from './errors';

export type Headers = Record<string, string | number | string[]>;

/** An answer without a body (HEAD, 201/202/204). */
export function sendEmpty(
  res: http.ServerResponse,
  status: number,
  headers: Headers = {},
) {
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'content-length': 0,
    ...headers,
  });
  res.end();
}

export function sendBody(
  res: http.ServerResponse,
  status: number,
  body: Buffer,
  headers: Headers,
) {
  res.writeHead(status, {
    ...API_VERSION_HEADER,
    'content-length': body.length,
    ...headers,
  });
  res.end(body);
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Headers = {},
) {
  sendBody(res, status, Buffer.from(JSON.stringify(body)), {
    'content-type': 'application/json; charset=utf-8',
    ...headers,
  });
}

/**
 * The request body. Past `max` bytes the rest is still read (so the connection stays
 * usable) but dropped, and the request is refused with 413.
 */
export async function readBody(
  req: http.IncomingMessage,
  max: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size <= max) chunks.push(chunk);
  }
  if (size > max) {
    throw new RegistryError(413, 'SIZE_INVALID', { max, size });
  }
  return Buffer.concat(chunks);
}

/** `n` and `last` of the paginated lists (tags, catalog), with the `Link` to the next page. */
export function paginate(
  all: string[],
  url: URL,
): { items: string[]; link?: string } {
  const last = url.searchParams.get('last');
  const nParam = url.searchParams.get('n');
  let items = last === null ? all : all.filter(item => item > last);
  if (nParam === null) return { items };
  if (!/^\d+$/.test(nParam)) {
    throw new RegistryError(400, 'UNSUPPORTED', {
      n: nParam,
      reason: 'n must be a non-negative integer',
    });
  }
  const n = Number(nParam);
  if (n === 0) return { items: [] };
  const more = items.length > n;
  items = items.slice(0, n);
  if (!more) return { items };
  const next = new URLSearchParams({ n: String(n), last: items[n - 1] });
  return { items, link: `<${url.pathname}?${next}>; rel="next"` };
}
