/** The service's answers: /health, /version and /ping. */
export function route(
  path: string,
  version: string,
): { status: number; body: Record<string, string> } {
  if (path === '/health') return { status: 200, body: { status: 'ok' } };
  if (path === '/version') return { status: 200, body: { version } };
  if (path === '/ping') return { status: 200, body: { message: 'pong' } };
  return { status: 404, body: { error: `no route for ${path}` } };
}
