/* eslint-disable no-console */
// The live scenario's sandbox, in its own process (as status.ts runs it) so it does not
// share the bench's event loop, on free ports only. In front of each Argo CD instance
// sits a counting proxy: every request a backend makes to Argo CD is counted by method
// and path (Application names folded into `{name}`), streams included. Started by
// live.ts through `fork`; talks over the IPC channel:
//   → {type: 'ready', info}      once everything listens
//   ← {type: 'counts', id}       → {type: 'counts', id, counts: {instance: {path: n}}}
//   ← {type: 'stop'}             stops and exits
// Environment: LIVE_SCALE_SERVICES (scale mode), LIVE_WEBHOOKS (JSON array of
// {url, kind, secret} push-webhook receivers; none by default).
import fs from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startSandbox } from '@gitops-backstage/gitops-sandbox';

export interface LiveSandboxInfo {
  git: string;
  gitToken: string;
  registry: string;
  instances: Array<{
    name: string;
    /** The counting proxy: what backends are given. */
    url: string;
    /** The instance itself: what the bench reads without being counted. */
    directUrl: string;
    token: string;
  }>;
}

export type PathCounts = Record<string, Record<string, number>>;

/** `GET /api/v1/applications/service-a-dev/resource-tree` → `GET /api/v1/applications/{name}/resource-tree`. */
export function pathKey(method: string, pathname: string) {
  return `${method} ${pathname
    .replace(/\/+$/, '')
    .replace(/^(\/api\/v1\/applications(?:ets)?)\/[^/]+/, '$1/{name}')}`;
}

async function countingProxy(target: string) {
  const counts = new Map<string, number>();
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const key = pathKey(req.method ?? 'GET', url.pathname);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    let finished = false;
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          finished = true;
        });
        answer.on('error', () => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    // A client that goes away (a watch closed, a backend stopped) closes its stream.
    res.on('close', () => {
      if (!finished) forward.destroy();
    });
    req.pipe(forward);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => Object.fromEntries(counts),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
        agent.destroy();
      }),
  };
}

async function main() {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-live-sandbox-'));
  const sandbox = await startSandbox({
    dir,
    gitPort: 0,
    registryPort: 0,
    examplesDir: path.resolve(__dirname, '../examples'),
    instances: [
      { name: 'main', environments: ['dev', 'staging'], port: 0 },
      { name: 'prod', environments: ['prod'], port: 0 },
    ],
    scaleServices: Number(process.env.LIVE_SCALE_SERVICES ?? 0) || undefined,
    webhooks: JSON.parse(process.env.LIVE_WEBHOOKS ?? '[]'),
  });
  const proxies = await Promise.all(
    sandbox.instances.map(i => countingProxy(i.url)),
  );
  const info: LiveSandboxInfo = {
    git: sandbox.gitUrl,
    gitToken: sandbox.gitToken,
    registry: sandbox.registry.url,
    instances: sandbox.instances.map((i, n) => ({
      name: i.name,
      url: proxies[n].url,
      directUrl: i.url,
      token: i.token,
    })),
  };
  const stop = async () => {
    await Promise.all(proxies.map(p => p.close()));
    await sandbox.stop();
    await fs.rm(dir, { recursive: true, force: true });
    process.exit(0);
  };
  process.on('message', (message: any) => {
    if (message?.type === 'counts') {
      const counts: PathCounts = {};
      sandbox.instances.forEach((i, n) => {
        counts[i.name] = proxies[n].counts();
      });
      process.send!({ type: 'counts', id: message.id, counts });
    } else if (message?.type === 'stop') {
      stop().catch(error => {
        console.error(error);
        process.exit(1);
      });
    }
  });
  // The bench went away without saying so: do not outlive it.
  process.on('disconnect', () => {
    stop().catch(() => process.exit(1));
  });
  process.send!({ type: 'ready', info });
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
