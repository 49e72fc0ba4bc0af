import http from 'node:http';

/**
 * Keeps idle keep-alive connections open longer than HTTP clients reuse them (fetch
 * and Node's agent drop theirs after a few seconds), as servers behind load balancers
 * do: otherwise a request sent on a connection the server is closing at that moment
 * fails with ECONNRESET, which happens on a loaded machine.
 */
export function idleLongerThanClients(server: http.Server) {
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
}
