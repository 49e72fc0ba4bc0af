import type { HttpClient } from 'isomorphic-git';

/**
 * A Git server redirected to another server, which is not followed.
 *
 * @public
 */
export class GitRedirectRefusedError extends Error {
  readonly code = 'GitRedirectRefusedError';
  constructor(from: string, to: string) {
    super(
      `Git server ${from} redirected to ${to}, another server; credentials stay with their own server: use the repository's URL there`,
    );
    this.name = 'GitRedirectRefusedError';
  }
}

/** Redirects followed at most, as git and browsers do. */
const MAX_REDIRECTS = 10;

/**
 * isomorphic-git's HTTP client on fetch, so every Git call has a timeout (and an
 * optional abort signal) like the plugin's other upstream calls.
 *
 * Redirects are followed only within the server asked (same scheme, host and port):
 * a credential, and the trust put in what the server answers, belong to that server.
 * A redirect elsewhere is an error naming where it pointed, so the configured URL
 * can be fixed; it is never followed with or without the credential.
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
      const origin = new URL(url).origin;
      let current = url;
      let currentMethod = method;
      let payload: Buffer | undefined = chunks.length
        ? Buffer.concat(chunks)
        : undefined;
      for (let hops = 0; ; hops++) {
        const res = await fetch(current, {
          method: currentMethod,
          headers,
          body: payload,
          redirect: 'manual',
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          await res.body?.cancel();
          const next = new URL(location, current);
          if (next.origin !== origin) {
            throw new GitRedirectRefusedError(origin, next.origin);
          }
          if (hops >= MAX_REDIRECTS) {
            throw new Error(`Git server ${origin} redirected too many times`);
          }
          // As fetch does: 303, and 301/302 after a POST, continue as a GET.
          if (
            res.status === 303 ||
            ((res.status === 301 || res.status === 302) &&
              currentMethod === 'POST')
          ) {
            currentMethod = 'GET';
            payload = undefined;
          }
          current = next.href;
          continue;
        }
        const data = new Uint8Array(await res.arrayBuffer());
        return {
          url: current,
          method: currentMethod,
          statusCode: res.status,
          statusMessage: res.statusText,
          headers: Object.fromEntries(res.headers.entries()),
          body: (async function* answer() {
            yield data;
          })(),
        };
      }
    },
  };
}
