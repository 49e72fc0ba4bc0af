import http from 'node:http';
import { readJson, sendJson } from './git/GitServer';
import type { Sandbox } from './sandbox';

/** The sandbox's control API under `/api/sandbox` on the Git server. */
export async function controlApi(
  sandbox: Sandbox,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
): Promise<boolean> {
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'api' || parts[1] !== 'sandbox') return false;
  try {
    if (req.method === 'GET' && parts.length === 2) {
      sendJson(res, 200, {
        git: sandbox.gitUrl,
        registry: sandbox.registry.url,
        gitRequests: sandbox.gitRequestCount(),
        instances: sandbox.instances.map(i => ({
          ...i,
          requests: sandbox.requestCount(i.name),
          streams: sandbox.streams(i.name).open,
        })),
      });
    } else if (req.method === 'POST' && parts[2] === 'images') {
      // POST /api/sandbox/images {"image": "<ref>", "labels": {...}}: as CI's push.
      const { image, labels, platforms } = await readJson(req);
      const digest = await sandbox.registry.pushImage(String(image), {
        labels,
        platforms,
      });
      sendJson(res, 201, { image, digest });
    } else if (parts[2] === 'webhooks' && parts.length === 3) {
      // POST /api/sandbox/webhooks {"url", "kind": "github"|"gitlab", "secret"}
      if (req.method === 'POST') {
        const { url: target, kind, secret } = await readJson(req);
        sendJson(res, 201, sandbox.addWebhook({ url: target, kind, secret }));
      } else if (req.method === 'GET') {
        sendJson(res, 200, { webhooks: sandbox.webhooks() });
      } else {
        return false;
      }
    } else if (req.method === 'POST' && parts[2] === 'reconcile') {
      await sandbox.reconcile();
      sendJson(res, 200, {});
    } else if (
      req.method === 'PUT' &&
      parts[2] === 'instances' &&
      parts[4] === 'fault'
    ) {
      const { fault } = await readJson(req);
      await sandbox.setInstanceFault(parts[3], fault ?? undefined);
      sendJson(res, 200, { fault: fault ?? null });
    } else if (parts[2] === 'instances' && parts[4] === 'streams') {
      // GET, PUT {"refuse": bool}, POST .../streams/cut
      const streams = sandbox.streams(parts[3]);
      if (req.method === 'PUT' && parts.length === 5) {
        streams.refuse = Boolean((await readJson(req)).refuse);
      } else if (req.method === 'POST' && parts[5] === 'cut') {
        sendJson(res, 200, { cut: streams.cut() });
        return true;
      } else if (req.method !== 'GET' || parts.length !== 5) return false;
      const { open, requests, refuse } = streams;
      sendJson(res, 200, { open, requests, refuse, streams: streams.list() });
    } else if (
      req.method === 'PUT' &&
      parts[2] === 'instances' &&
      parts[4] === 'applications' &&
      parts[6] === 'faults'
    ) {
      const faults = await readJson(req);
      sandbox.setApplicationFaults(parts[3], parts[5], faults);
      sendJson(res, 200, faults);
    } else if (
      req.method === 'PATCH' &&
      parts[2] === 'instances' &&
      parts[4] === 'applications' &&
      parts[6] === 'live' &&
      parts.length === 9
    ) {
      // PATCH /api/sandbox/instances/<i>/applications/<app>/live/<kind>/<name>
      const patch = await readJson(req);
      sandbox.editLive(
        parts[3],
        parts[5],
        { kind: parts[7], name: parts[8] },
        patch,
      );
      sendJson(res, 200, {});
    } else {
      return false;
    }
  } catch (error: any) {
    sendJson(res, error.status ?? 400, { error: error.message });
  }
  return true;
}
