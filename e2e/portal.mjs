// Starts the portal the way README's first command does (`yarn start`: app dev server on
// :3000, backend on :7007) and drives it with Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export const APP_URL = 'http://localhost:3000';
export const BACKEND_URL = 'http://localhost:7007';
export const OUTPUT_DIR = new URL('./output/', import.meta.url).pathname;

async function waitFor(url, deadline, child) {
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `portal exited with code ${child.exitCode} before ${url} answered`,
      );
    }
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await sleep(1000);
  }
}

export async function startPortal() {
  const root = new URL('..', import.meta.url).pathname;
  const child = spawn('yarn', ['start'], {
    cwd: root,
    detached: true, // its own process group, so stop() ends the dev servers too
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BROWSER: 'none', FORCE_COLOR: '0' },
  });
  let log = '';
  child.stdout.on('data', d => (log += d));
  child.stderr.on('data', d => (log += d));
  const stop = async () => {
    if (child.exitCode !== null) return;
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 20 && child.exitCode === null; i++) await sleep(250);
    if (child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  };
  try {
    const deadline = Date.now() + 5 * 60_000;
    await waitFor(`${BACKEND_URL}/api/gitops/health`, deadline, child);
    await waitFor(APP_URL, deadline, child);
  } catch (error) {
    await stop();
    error.message += `\n--- portal output (tail) ---\n${log.slice(-4000)}`;
    throw error;
  }
  return { stop, log: () => log };
}

export async function launchBrowser() {
  await mkdir(OUTPUT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
}

/** Signs in as the local guest user. */
/** Opens `path` in the app, signing in as the guest user if not signed in yet. */
export async function signIn(page, path = '/') {
  await page.goto(new URL(path, APP_URL).href);
  const enter = page.getByRole('button', { name: 'Enter' });
  const sidebar = page.getByRole('link', { name: 'Catalog' });
  await enter.or(sidebar).first().waitFor();
  if (await enter.isVisible()) {
    await enter.click();
  }
}
