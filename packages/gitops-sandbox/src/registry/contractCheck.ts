import { createHash } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';

/*
 * Test support: checks recorded registry answers against the distribution spec and
 * ../shared/contracts/oci-distribution/NOTES.md. Everything here is restated from
 * those documents on purpose, never imported from the registry it checks.
 */

/** The spec's "Error Codes" table. */
const SPEC_ERROR_CODES = [
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

const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];

const NAME =
  '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*';
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export interface Exchange {
  method: string;
  /** Path and query as sent. */
  url: string;
  requestBody: Buffer;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const sha256 = (data: Buffer) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Endpoints of the spec's table (end-1 … end-14) with the statuses it allows, plus
 * 401 for every one (the registry is behind auth) and the few the spec text adds.
 */
const ENDPOINTS: {
  id: string;
  methods: string[];
  path: RegExp;
  statuses: number[];
}[] = [
  { id: 'end-1', methods: ['GET'], path: /^\/v2\/$/, statuses: [200, 404] },
  {
    id: 'catalog',
    methods: ['GET'],
    path: /^\/v2\/_catalog$/,
    statuses: [200, 400],
  },
  {
    id: 'end-8',
    methods: ['GET'],
    path: new RegExp(`^/v2/${NAME}/tags/list$`),
    statuses: [200, 400, 404],
  },
  {
    id: 'end-3/7/9',
    methods: ['GET', 'HEAD', 'PUT', 'DELETE'],
    path: new RegExp(`^/v2/${NAME}/manifests/[^/]+$`),
    statuses: [200, 201, 202, 304, 400, 404, 405, 413],
  },
  {
    id: 'end-4/11',
    methods: ['POST'],
    path: new RegExp(`^/v2/${NAME}/blobs/uploads/?$`),
    statuses: [201, 202, 400, 404],
  },
  {
    id: 'end-5/6/13/14',
    methods: ['PATCH', 'PUT', 'GET', 'DELETE'],
    path: new RegExp(`^/v2/${NAME}/blobs/uploads/[^/]+$`),
    statuses: [201, 202, 204, 400, 404, 416],
  },
  {
    id: 'end-2/10',
    methods: ['GET', 'HEAD', 'DELETE'],
    path: new RegExp(`^/v2/${NAME}/blobs/[^/]+$`),
    statuses: [200, 202, 206, 400, 404, 405, 416],
  },
];

function errorBodyProblems(x: Exchange): string[] {
  if (x.body.length === 0) return [];
  let body: any;
  try {
    body = JSON.parse(x.body.toString('utf8'));
  } catch {
    return ['a 4XX JSON body must be {"errors":[…]} (body is not JSON)'];
  }
  const errors = body?.errors;
  if (!Array.isArray(errors) || errors.length === 0) {
    return ['a 4XX body must be {"errors":[{code,message,detail}]}'];
  }
  return errors.flatMap((e: any) => [
    ...(SPEC_ERROR_CODES.includes(e?.code) ? [] : [`unknown code ${e?.code}`]),
    ...(e.message === undefined || typeof e.message === 'string'
      ? []
      : ['message must be a string']),
  ]);
}

/** What is wrong with one answer; empty when it follows the contract. */
export function contractViolations(x: Exchange): string[] {
  const problems: string[] = [];
  const [path, query = ''] = x.url.split('?', 2);
  const params = new URLSearchParams(query);
  const h = x.headers;
  if (!path.startsWith('/v2')) return problems;
  if (h['docker-distribution-api-version'] !== 'registry/2.0') {
    problems.push('Docker-Distribution-API-Version: registry/2.0 is missing');
  }
  const endpoint = ENDPOINTS.find(
    e => e.path.test(path) && e.methods.includes(x.method),
  );
  if (!endpoint) {
    if (x.status < 400) problems.push(`success on an unknown endpoint`);
  } else if (x.status !== 401 && !endpoint.statuses.includes(x.status)) {
    problems.push(`status ${x.status} is not one ${endpoint.id} answers`);
  }
  if (x.status >= 400) problems.push(...errorBodyProblems(x));
  if (
    x.status === 401 &&
    !/^Bearer realm="[^"]+",service="[^"]+"/.test(h['www-authenticate'] ?? '')
  ) {
    problems.push('401 without a Bearer realm/service challenge');
  }
  const manifest = /\/manifests\/([^/]+)$/.exec(path);
  const blob = /\/blobs\/(sha256:[^/]+)$/.exec(path);
  const byDigest = manifest && manifest[1].startsWith('sha256:');
  if (manifest && x.status === 200) {
    const type = h['content-type'] ?? '';
    if (!MANIFEST_MEDIA_TYPES.includes(type)) {
      problems.push(`manifest Content-Type "${type}" is not a manifest type`);
    }
    if (!DIGEST.test(h['docker-content-digest'] ?? '')) {
      problems.push('manifest answer without Docker-Content-Digest');
    }
    if (byDigest && h['docker-content-digest'] !== manifest[1]) {
      problems.push('Docker-Content-Digest differs from the digest asked for');
    }
    if (x.method === 'GET') {
      const digest = sha256(x.body);
      if (h['docker-content-digest'] !== digest) {
        problems.push(
          `Docker-Content-Digest is not sha256 of the bytes (${digest})`,
        );
      }
      const declared = JSON.parse(x.body.toString('utf8')).mediaType;
      if (declared !== undefined && declared !== type) {
        problems.push(
          `mediaType ${declared} differs from Content-Type ${type}`,
        );
      }
    }
    const length = Number(h['content-length']);
    if (
      !h['content-length'] ||
      (x.method === 'GET' && length !== x.body.length)
    ) {
      problems.push('manifest answer without a matching Content-Length');
    }
  }
  if (blob && x.status === 200) {
    if (h['docker-content-digest'] !== blob[1]) {
      problems.push(
        'blob Docker-Content-Digest differs from the digest asked for',
      );
    }
    if (!h['content-length'])
      problems.push('blob answer without Content-Length');
    if (x.method === 'GET' && sha256(x.body) !== blob[1]) {
      problems.push('blob bytes do not match their digest');
    }
  }
  if (manifest && x.method === 'PUT' && x.status === 201) {
    if (!h.location) problems.push('201 without Location');
    if (h['docker-content-digest'] !== sha256(x.requestBody)) {
      problems.push('Docker-Content-Digest is not sha256 of the pushed bytes');
    }
  }
  if (/\/blobs\/uploads\//.test(path) && x.status === 201) {
    const digest = h['docker-content-digest'];
    if (!h.location?.endsWith(`/blobs/${digest}`)) {
      problems.push('201 Location is not the blob URL');
    }
    const asked = params.get('digest') ?? params.get('mount');
    if (asked && asked !== digest) {
      problems.push('Docker-Content-Digest differs from the digest pushed');
    }
  }
  if (
    /\/blobs\/uploads\//.test(path) &&
    [202, 204].includes(x.status) &&
    x.method !== 'DELETE'
  ) {
    if (!h.location) problems.push(`${x.status} without Location`);
    if (!/^0-\d+$/.test(h.range ?? ''))
      problems.push('upload answer without Range 0-<end>');
  }
  if (path.endsWith('/tags/list') && x.status === 200) {
    const body = JSON.parse(x.body.toString('utf8'));
    const name = path.slice('/v2/'.length, -'/tags/list'.length);
    if (body.name !== name || !Array.isArray(body.tags)) {
      problems.push('tags list body must be {name, tags}');
    } else if ([...body.tags].sort().join() !== body.tags.join()) {
      problems.push('tags are not in lexical order');
    }
  }
  return problems.map(p => `${x.method} ${x.url} → ${x.status}: ${p}`);
}

function flatHeaders(headers: http.IncomingHttpHeaders | Headers) {
  const out: Record<string, string> = {};
  const entries =
    headers instanceof Headers
      ? [...headers.entries()]
      : Object.entries(headers);
  for (const [key, value] of entries) {
    out[key.toLowerCase()] = Array.isArray(value)
      ? value.join(', ')
      : String(value);
  }
  return out;
}

/** Throws (failing the test) when any recorded answer breaks the contract. */
export function assertContract(exchanges: Exchange[]) {
  const problems = exchanges.flatMap(contractViolations);
  if (problems.length) {
    throw new Error(`Answers off the contract:\n${problems.join('\n')}`);
  }
}

/** `fetch` against the registry that records every exchange for `contractViolations`. */
export function recordingFetch(baseUrl: string, exchanges: Exchange[]) {
  return async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${baseUrl}${path}`, init);
    const body = Buffer.from(await response.arrayBuffer());
    const sent = init.body;
    let requestBody = Buffer.alloc(0);
    if (typeof sent === 'string') requestBody = Buffer.from(sent);
    else if (sent instanceof Uint8Array) requestBody = Buffer.from(sent);
    exchanges.push({
      method: init.method ?? 'GET',
      url: path,
      requestBody,
      status: response.status,
      headers: flatHeaders(response.headers),
      body,
    });
    return { status: response.status, headers: response.headers, body };
  };
}

/**
 * A recording proxy on 127.0.0.1 in front of the registry, so what real clients
 * (skopeo, helm) were answered can be checked too.
 */
export async function startRecordingProxy(
  target: string,
  exchanges: Exchange[],
) {
  const upstream = new URL(target);
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk);
    const requestBody = Buffer.concat(chunks);
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      async answer => {
        const parts: Buffer[] = [];
        for await (const part of answer) parts.push(part);
        const body = Buffer.concat(parts);
        exchanges.push({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          requestBody,
          status: answer.statusCode ?? 0,
          headers: flatHeaders(answer.headers),
          body,
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(body);
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(requestBody);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
