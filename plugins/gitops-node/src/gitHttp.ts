import type { HttpClient } from 'isomorphic-git';

/**
 * isomorphic-git's HTTP client on fetch, so every Git call has a timeout (and an
 * optional abort signal) like the plugin's other upstream calls.
 *
 * @public
 */
export function gitHttpClient(
  timeoutMs: number,
  signal?: AbortSignal,
): HttpClient {
  return {
    async request({ url, method = 'GET', headers = {}, body }) {
      const chunks: Uint8Array[] = [];
      if (body) for await (const chunk of body) chunks.push(chunk);
      const timeout = AbortSignal.timeout(timeoutMs);
      const res = await fetch(url, {
        method,
        headers,
        body: chunks.length ? Buffer.concat(chunks) : undefined,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      const data = new Uint8Array(await res.arrayBuffer());
      return {
        url: res.url,
        method,
        statusCode: res.status,
        statusMessage: res.statusText,
        headers: Object.fromEntries(res.headers.entries()),
        body: (async function* answer() {
          yield data;
        })(),
      };
    },
  };
}
