import { randomUUID } from 'node:crypto';
import { Sandbox } from '../sandbox';
import { contractErrors, eventually } from './testSandbox';

export const STREAM_ROUTE = '/api/v1/stream/applications';

/**
 * Contract errors of one chunk of a watch answer: against swagger.json's stream
 * schema (the 200 response of ApplicationService_Watch, closed), and its Application
 * against the CRD unless `projected` by `fields`. An error chunk is checked against the
 * same schema whatever the status: grpc-gateway writes `{"error": …}` chunks, not the
 * `runtimeError` swagger gives as the default answer.
 */
export function streamChunkErrors(chunk: unknown, projected = false) {
  const application = (chunk as any)?.result?.application;
  return contractErrors(c => [
    ...c.responseErrors(STREAM_ROUTE, 'GET', 200, chunk),
    ...(application && !projected
      ? c.applicationErrors(application).map(e => `application ${e}`)
      : []),
  ]);
}

export interface WatchStream {
  instance: string;
  /** Sent as `x-request-id`: finds this stream in `sandbox.streams(i).list()`. */
  requestId: string;
  /** Status and headers; they arrive with the first chunk, as from Argo CD. */
  response: Promise<Response>;
  /** The chunks received so far, parsed (`data:` frames for an event stream). */
  chunks: any[];
  /** The answer as received so far. */
  text(): string;
  /** Contract errors of the chunks so far (streamChunkErrors), with the chunk's index. */
  violations: string[];
  /** Settles when the answer ends: with `error` when it broke off (a dropped connection). */
  ended: Promise<{ error?: unknown }>;
  /** Closes the connection, as a client that leaves. */
  close(): void;
}

/**
 * Opens `GET /api/v1/stream/applications?<query>` on an instance and reads it in
 * the background; every chunk is checked against the contract as it arrives.
 */
export function openWatch(
  sandbox: Sandbox,
  instance: string,
  query = '',
  init: { token?: string | null; headers?: Record<string, string> } = {},
): WatchStream {
  const target = sandbox.instances.find(i => i.name === instance)!;
  const token = init.token === undefined ? target.token : init.token;
  const requestId = randomUUID();
  const controller = new AbortController();
  const projected = new URLSearchParams(query).has('fields');
  let received = '';
  let parsed = 0;
  const stream: WatchStream = {
    instance,
    requestId,
    response: fetch(`${target.url}${STREAM_ROUTE}${query && `?${query}`}`, {
      headers: {
        'x-request-id': requestId,
        ...(token && { authorization: `Bearer ${token}` }),
        ...init.headers,
      },
      signal: controller.signal,
    }),
    chunks: [],
    text: () => received,
    violations: [],
    ended: Promise.resolve({}),
    close: () => controller.abort(),
  };
  // One chunk a line: JSON, or in an event stream `data: <json> ` (blank lines
  // between frames, `:` keepalive lines).
  const take = (line: string) => {
    const json = line.replace(/^data: /, '').trim();
    if (!json || json.startsWith(':')) return;
    const chunk = JSON.parse(json);
    const index = stream.chunks.push(chunk) - 1;
    for (const error of streamChunkErrors(chunk, projected)) {
      stream.violations.push(`chunk ${index}: ${error}`);
    }
  };
  stream.ended = (async () => {
    try {
      const res = await stream.response;
      const decoder = new TextDecoder();
      const parse = (final: boolean) => {
        const lines = received.slice(parsed).split('\n');
        const rest = final ? '' : lines.pop()!;
        lines.forEach(take);
        parsed = received.length - rest.length;
      };
      for await (const bytes of res.body!) {
        received += decoder.decode(bytes as Uint8Array, { stream: true });
        parse(false);
      }
      parse(true);
      return {};
    } catch (error) {
      return { error };
    }
  })();
  return stream;
}

/** The stream as the sandbox serves it: undefined before it is registered, and once it ended. */
export function servedWatch(sandbox: Sandbox, stream: WatchStream) {
  return sandbox
    .streams(stream.instance)
    .list()
    .find(s => s.requestId === stream.requestId);
}

/** The chunks, once the client has received every one the sandbox sent so far. */
export function receivedAll(sandbox: Sandbox, stream: WatchStream) {
  return eventually(async () => {
    const served = servedWatch(sandbox, stream);
    return served && served.sent === stream.chunks.length
      ? stream.chunks
      : undefined;
  }, `stream ${stream.requestId} to have received what was sent`);
}

/**
 * Closes the streams and waits until their instances have released every stream;
 * answers the contract violations of all their chunks.
 */
export async function closeWatches(
  sandbox: Sandbox,
  streams: WatchStream[],
): Promise<string[]> {
  const violations: string[] = [];
  for (const stream of streams) {
    stream.close();
    await stream.ended;
    violations.push(...stream.violations);
  }
  for (const instance of new Set(streams.map(s => s.instance))) {
    await eventually(
      async () => sandbox.streams(instance).open === 0 || undefined,
      `every stream of ${instance} to be released`,
    );
  }
  return violations;
}
