import path from 'node:path';
import { startSandbox, Sandbox } from '../sandbox';

/** Fast clocks for tests: every step of a sync takes a tenth of a second. */
export const FAST_TIMING = {
  reconcileMs: 50,
  autoSyncDelayMs: 100,
  syncMs: 100,
  progressMs: 100,
  rolloutStepMs: 100,
};

export const EXAMPLES_DIR = path.resolve(__dirname, '../../../../examples');

/** A sandbox seeded from the examples, on free ports, with fast clocks. */
export function startTestSandbox(
  options: Parameters<typeof startSandbox>[0] = {},
) {
  return startSandbox({
    examplesDir: EXAMPLES_DIR,
    timing: FAST_TIMING,
    ...options,
  });
}

/** Calls an instance's API with its token; answers status and parsed body. */
export async function argo(
  sandbox: Sandbox,
  instance: string,
  route: string,
  init: { method?: string; body?: unknown; token?: string | null } = {},
) {
  const target = sandbox.instances.find(i => i.name === instance)!;
  const token = init.token === undefined ? target.token : init.token;
  const res = await fetch(`${target.url}${route}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls `check` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}
