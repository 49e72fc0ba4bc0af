// Processes the Chromium scenarios start (the sandbox, the backend) and how they wait
// for them.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

/**
 * `yarn <args>` in the repository root, in its own process group (so the returned stop
 * ends its children too); its output goes to `log` when given, else nowhere.
 */
export function startProcess(args: string[], log?: string) {
  const child = spawn('yarn', args, {
    cwd: ROOT,
    stdio: log ? ['ignore', 'pipe', 'pipe'] : 'ignore',
    detached: true,
  });
  if (log) {
    const out = createWriteStream(log);
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  }
  return () => {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
}

/** Resolves once `url` answers 2xx; throws after `timeoutMs`. */
export async function waitForUrl(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}
