// Starts the portal the way README's first command does (`yarn start`: app dev server on
// :3000, backend on :7007) and drives it with Debian's Chromium through playwright-core.
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const exec = promisify(execFile);

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
  // All of it in output/portal.log too, for a failed run to be read afterwards.
  mkdirSync(OUTPUT_DIR, { recursive: true });
  const logFile = createWriteStream(path.join(OUTPUT_DIR, 'portal.log'));
  for (const stream of [child.stdout, child.stderr]) {
    stream.on('data', d => {
      log += d;
      logFile.write(d);
    });
  }
  child.once('exit', () => logFile.end());
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

export const SANDBOX_GIT = 'http://127.0.0.1:7090';
const SANDBOX_TOKEN = 'sandbox-git-token';

/** Sets (or clears, with null) a fault of a sandbox Argo CD instance. */
export async function setInstanceFault(instance, fault) {
  const res = await fetch(
    `${SANDBOX_GIT}/api/sandbox/instances/${instance}/fault`,
    {
      method: 'PUT',
      headers: { authorization: `Bearer ${SANDBOX_TOKEN}` },
      body: JSON.stringify({ fault }),
    },
  );
  if (!res.ok)
    throw new Error(`sandbox fault: ${res.status} ${await res.text()}`);
}

/** Pushes an image to the sandbox registry, as CI does before it bumps a tag. */
export async function pushImage(image) {
  const res = await fetch(`${SANDBOX_GIT}/api/sandbox/images`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SANDBOX_TOKEN}` },
    body: JSON.stringify({ image }),
  });
  if (!res.ok)
    throw new Error(`sandbox image push: ${res.status} ${await res.text()}`);
}

/** Clones a sandbox repository (shallow) into a temporary directory. */
export async function cloneSandboxRepo(repo) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `e2e-${repo}-`));
  await exec('git', [
    'clone',
    '--quiet',
    '--depth=1',
    `http://sandbox:${SANDBOX_TOKEN}@127.0.0.1:7090/git/${repo}.git`,
    dir,
  ]);
  return dir;
}

/** Commits and pushes everything changed in a clone. */
export async function pushClone(dir, message) {
  const git = (...args) =>
    exec('git', [
      '-C',
      dir,
      '-c',
      'user.name=e2e',
      '-c',
      'user.email=e2e@example.com',
      ...args,
    ]);
  await git('commit', '--quiet', '-am', message);
  await git('push', '--quiet', 'origin', 'HEAD');
}

/**
 * Reloads until `check` passes (the backend caches upstream answers for a while). The
 * deadline is roomy for a loaded 2-core machine; it ends as soon as `check` holds.
 */
export async function eventually(page, check, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await page.waitForTimeout(2000);
      await page.reload();
    }
  }
}
