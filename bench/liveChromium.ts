/* eslint-disable no-console */
// Part 2 of the live scenario (live.ts): from a sync finishing in the sandbox's Argo CD
// to the lane showing it in Chromium, with signals against polling.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import type { LiveSandboxInfo } from './liveSandbox';
import { startProcess, waitForUrl } from './processes';
import type { Result } from './status';
import {
  exec,
  ROOT,
  POLL_MS,
  CHANGES,
  sleep,
  percentile,
  freePort,
  startLiveSandbox,
  configRepo,
  newTag,
} from './liveCommon';

/**
 * app-config.yaml with this run's ports: the backend on `port` serving the app's
 * production build, the sandbox's Git and Argo CD instead of the default ports.
 */
async function backendConfig(
  dir: string,
  port: number,
  sandbox: LiveSandboxInfo,
  live: boolean,
) {
  const base = `http://localhost:${port}`;
  const gitHost = new URL(sandbox.git).host;
  const config = JSON.parse(
    JSON.stringify(
      parse(await fs.readFile(path.join(ROOT, 'app-config.yaml'), 'utf8')),
    ).replaceAll('127.0.0.1:7090', gitHost),
  );
  config.app.baseUrl = base;
  // Without signals: the signals plugin's API is disabled, as in an app without
  // @backstage/plugin-signals (useSignal then says signals are unavailable).
  if (!live) config.app.extensions.push({ 'api:signals': false });
  config.backend.baseUrl = base;
  config.backend.listen = { port, host: '127.0.0.1' };
  config.backend.cors.origin = base;
  config.argocd.appLocatorMethods = [
    {
      type: 'config',
      instances: sandbox.instances.map(i => ({
        name: i.name,
        url: i.url,
        token: i.token,
      })),
    },
  ];
  config.gitops.watch = live;
  const file = path.join(dir, `app-config.${live ? 'watch' : 'polling'}.yaml`);
  await fs.writeFile(file, JSON.stringify(config, null, 2));
  return { base, file };
}

/** The time (ms since the epoch) the sandbox's Argo CD announced each dev image of service-a. */
function announcements(sandbox: LiveSandboxInfo) {
  const main = sandbox.instances.find(i => i.name === 'main')!;
  const seen = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const controller = new AbortController();
  const follow = async () => {
    const res = await fetch(
      `${main.directUrl}/api/v1/stream/applications?name=service-a-dev`,
      {
        headers: { authorization: `Bearer ${main.token}` },
        signal: controller.signal,
      },
    );
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const chunk of res.body as any) {
      const at = Date.now();
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines.filter(l => l.trim())) {
        const images: string[] =
          JSON.parse(line).result?.application?.status?.summary?.images ?? [];
        for (const image of images) {
          const tag = image.split(':').pop()!;
          if (!seen.has(tag)) {
            seen.set(tag, at);
            waiting.get(tag)?.(at);
          }
        }
      }
    }
  };
  const following = follow().catch(error => {
    if (!controller.signal.aborted) console.error(`live: stream: ${error}`);
  });
  return {
    /** When the sandbox first streamed service-a-dev running `tag`. */
    when: (tag: string, timeoutMs: number) =>
      new Promise<number>((resolve, reject) => {
        if (seen.has(tag)) return resolve(seen.get(tag)!);
        const timer = setTimeout(
          () => reject(new Error(`service-a-dev never ran ${tag}`)),
          timeoutMs,
        );
        waiting.set(tag, at => {
          clearTimeout(timer);
          resolve(at);
        });
      }),
    stop: async () => {
      controller.abort();
      await following;
    },
  };
}

/** When (ms since the epoch, the browser's clock) the dev lane first shows `tag`. */
function laneShows(page: any, tag: string, timeoutMs: number) {
  return page.evaluate(
    ([wanted, timeout]: [string, number]) =>
      new Promise<number | null>(resolve => {
        const check = () =>
          document
            .querySelector(
              '[data-testid="lane-dev"] [data-testid="running-version"]',
            )
            ?.textContent?.includes(wanted) ?? false;
        if (check()) return resolve(Date.now());
        const observer = new MutationObserver(() => {
          if (!check()) return;
          observer.disconnect();
          resolve(Date.now());
        });
        observer.observe(document.body, {
          subtree: true,
          childList: true,
          characterData: true,
        });
        setTimeout(() => {
          observer.disconnect();
          resolve(null);
        }, timeout);
      }),
    [tag, timeoutMs],
  ) as Promise<number | null>;
}

export async function chromiumRows(): Promise<Result[]> {
  await exec('yarn', ['workspace', 'app', 'build'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-live-portal-'));
  const ports = { watch: await freePort(), polling: await freePort() };
  const sandbox = await startLiveSandbox({
    LIVE_WEBHOOKS: JSON.stringify(
      Object.values(ports).map(port => ({
        url: `http://127.0.0.1:${port}/api/events/http/github`,
        kind: 'github',
        secret: 'sandbox-webhook-secret',
      })),
    ),
  });
  const stops: Array<() => void> = [];
  const { launchBrowser } = await import('../e2e/portal.mjs');
  let browser: any;
  const stream = announcements(sandbox.info);
  const repo = await configRepo(sandbox.info, 'service-a-config');
  try {
    const variants = [];
    for (const live of [true, false]) {
      const port = live ? ports.watch : ports.polling;
      const { base, file } = await backendConfig(dir, port, sandbox.info, live);
      const log = path.join(dir, `backend.${live ? 'watch' : 'polling'}.log`);
      stops.push(
        startProcess(['workspace', 'backend', 'start', '--config', file], log),
      );
      variants.push({ live, base, log });
    }
    for (const v of variants) {
      await waitForUrl(`${v.base}/api/gitops/health`, 600_000).catch(
        async error => {
          error.message += `\n${(await fs.readFile(v.log, 'utf8')).slice(
            -3000,
          )}`;
          throw error;
        },
      );
    }
    browser = await launchBrowser();
    const pages = [];
    for (const v of variants) {
      const context = await browser.newContext({
        viewport: { width: 1400, height: 900 },
      });
      const page = await context.newPage();
      page.setDefaultTimeout(180_000);
      const sockets: string[] = [];
      const statusLoads: number[] = [];
      page.on('websocket', (ws: any) => sockets.push(ws.url()));
      // Loads that did not answer 200: an error (usePolling then backs off: 30 s, 60 s,
      // …) or aborted (a signal's reload cancels the load in flight).
      const statusFailures = new Map<string, number>();
      const isStatus = (u: string) =>
        /\/api\/gitops\/entities\/.+\/status/.test(u);
      const failed = (why: string) =>
        statusFailures.set(why, (statusFailures.get(why) ?? 0) + 1);
      page.on('request', (request: any) => {
        if (isStatus(request.url())) statusLoads.push(Date.now());
      });
      page.on('response', (response: any) => {
        if (isStatus(response.url()) && response.status() >= 400)
          failed(`HTTP ${response.status()}`);
      });
      page.on('requestfailed', (request: any) => {
        if (isStatus(request.url()))
          failed(request.failure()?.errorText ?? 'failed');
      });
      const url = `${v.base}/catalog/default/component/service-a/deployments`;
      const enter = page.getByRole('button', { name: 'Enter' });
      const lane = page.getByTestId('lane-dev').getByTestId('running-version');
      // The first visit signs in as the guest; a navigation before the sign-in ends
      // lands on the sign-in page again.
      for (let attempt = 0; ; attempt++) {
        await page.goto(url);
        await enter.or(lane).first().waitFor();
        if (!(await enter.isVisible())) break;
        if (attempt === 3)
          throw new Error(`${v.base}: the sign-in did not hold`);
        await enter.click();
        await enter.waitFor({ state: 'hidden' });
        await page.waitForLoadState('networkidle');
      }
      await lane.waitFor();
      pages.push({
        ...v,
        page,
        sockets,
        statusLoads,
        statusFailures,
        samples: [] as number[],
      });
    }
    const missed = { watch: 0, polling: 0 };
    const firstChange = Date.now();
    for (let i = 0; i < CHANGES; i++) {
      // A pause of 0–15 s first: the loop would otherwise start each change right
      // after the polling page's load that showed the last one, in step with its polls.
      await sleep(Math.random() * POLL_MS);
      const tag = newTag();
      const shown = pages.map(p => laneShows(p.page, tag, 120_000));
      await repo.bump('dev', tag);
      const announced = await stream.when(tag, 120_000);
      const at = await Promise.all(shown);
      pages.forEach((p, n) => {
        if (at[n] === null) missed[p.live ? 'watch' : 'polling']++;
        else p.samples.push(at[n]! - announced);
      });
      console.log(
        `live: change ${i + 1}/${CHANGES}: ${pages
          .map(
            (p, n) =>
              `${p.live ? 'watch' : 'polling'} ${
                at[n] === null ? 'missed' : `${at[n]! - announced} ms`
              }`,
          )
          .join(', ')}`,
      );
    }
    const changesMs = Date.now() - firstChange;
    const scenario =
      "live updates in Chromium (service-a's dev sync finishing with a new image in the sandbox's Argo CD → the Deployments tab's dev lane shows it; production build served by the backend)";
    const rows: Result[] = [];
    for (const p of pages) {
      const sorted = p.samples.sort((a, b) => a - b);
      const name = p.live
        ? 'signals (gitops.watch: true)'
        : 'polling (no signals API, gitops.watch: false)';
      const lost = missed[p.live ? 'watch' : 'polling'];
      rows.push({
        scenario,
        metric: `change → lane, ${name}: p50 / p95 of ${sorted.length} changes${
          lost ? ` (${lost} not shown within 120 s)` : ''
        }`,
        value: sorted.length
          ? `${percentile(sorted, 50).toFixed(0)} ms / ${percentile(
              sorted,
              95,
            ).toFixed(0)} ms`
          : 'none shown',
        target: p.live ? '≤ 1 s p95' : undefined,
      });
      const signalsSocket = p.sockets.some(s => s.includes('/api/signals'));
      const during = p.statusLoads.filter(t => t >= firstChange).length;
      rows.push({
        scenario,
        metric: `${name}: how the page learnt of changes`,
        value: `${
          signalsSocket ? 'signals websocket open' : 'no signals websocket'
        }; ${during} status loads in ${(changesMs / 1000).toFixed(0)} s${
          p.statusFailures.size
            ? ` (not answered 200, whole run: ${[...p.statusFailures]
                .map(([why, n]) => `${why} × ${n}`)
                .join(', ')})`
            : ''
        }`,
      });
      if (p.live !== signalsSocket) {
        throw new Error(
          `the ${p.live ? 'watch' : 'polling'} page ${
            signalsSocket ? 'opened' : 'did not open'
          } the signals websocket`,
        );
      }
    }
    return rows;
  } finally {
    await browser?.close();
    stops.forEach(stop => stop());
    await stream.stop();
    await repo.remove();
    await sandbox.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
