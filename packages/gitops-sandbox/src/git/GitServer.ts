import { spawn, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import http from 'node:http';
import { idleLongerThanClients } from '../httpServer';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  takeRefUpdates,
  WebhookReceiver,
  WebhookSender,
  WebhookSummary,
  writeHooks,
} from './webhooks';

const exec = promisify(execFile);

/** Repository names: one path segment, no dots at the start (no `..`, no hidden dirs). */
const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;
/** `/git/<repo>/raw/<ref>/<path>`: a file's raw view inside its repository's URL. */
const RAW_IN_REPO = /^\/git\/([^/]+)\/raw\/(.+)$/;

export interface GitServerOptions {
  /** Directory holding the bare repositories (`<name>.git`). */
  root: string;
  /** Accepted as the password of HTTP basic auth (any user name) or as a bearer token. */
  token: string;
  /** 0 picks a free port. */
  port?: number;
  /** Routes that check credentials themselves (the chart repositories); called first. */
  openRoutes?: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ) => Promise<boolean>;
  /** More routes (the sandbox's control API); answers true when it handled the request. */
  routes?: (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ) => Promise<boolean>;
  /** Receivers of a push event (GitHub's or GitLab's) for every ref a push updates. */
  webhooks?: WebhookReceiver[];
  /** How long a receiver may take to answer one push event; 5 s by default. */
  webhookTimeoutMs?: number;
}

export interface GitServer {
  /** e.g. http://127.0.0.1:7090 ; repositories are at `${url}/git/<name>.git` */
  url: string;
  repoUrl(name: string): string;
  createRepository(name: string): Promise<string>;
  /** Adds a receiver of push events; answers it without its secret. */
  addWebhook(receiver: WebhookReceiver): WebhookSummary;
  /** The receivers of push events, without their secrets. */
  webhooks(): WebhookSummary[];
  /** Waits until every push event queued so far is delivered (or has failed). */
  webhooksDelivered(): Promise<void>;
  /** Git smart-HTTP requests served so far (ref advertisements, fetches, pushes). */
  requestCount(): number;
  close(): Promise<void>;
}

/** Whether the request carries the token: basic auth's password (any user) or bearer. */
export function authorized(req: http.IncomingMessage, token: string): boolean {
  const header = req.headers.authorization ?? '';
  const [rawScheme, value = ''] = header.split(' ', 2);
  // Auth schemes are case-insensitive (RFC 9110): actions/checkout sends `basic`.
  const scheme = rawScheme.toLowerCase();
  if (scheme === 'bearer') return value === token;
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1) === token;
  }
  return false;
}

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function readJson(req: http.IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

/**
 * A Git server speaking the real smart-HTTP protocol: `git http-backend` (Debian's git)
 * behind a small Node HTTP server on 127.0.0.1, so `git clone`/`git push` and
 * isomorphic-git work against it. `POST /api/repos {name}` creates a bare repository.
 */
export async function startGitServer(
  options: GitServerOptions,
): Promise<GitServer> {
  const root = path.resolve(options.root);
  await fs.mkdir(root, { recursive: true });
  // `post-receive` (through core.hooksPath, for every repository) tells which refs a
  // push updated; a dot name is never a repository's.
  const hooksDir = path.join(root, '.sandbox-hooks');
  await writeHooks(hooksDir);
  const webhooks = new WebhookSender(
    options.webhooks,
    options.webhookTimeoutMs,
  );
  // Pushes answered whose updated refs are being read; their events are queued next.
  const readingPushes = new Set<Promise<void>>();
  const webhooksDelivered = async () => {
    await Promise.all(readingPushes);
    await webhooks.idle();
  };

  let baseUrl = '';
  const repoUrl = (name: string) => `${baseUrl}/git/${name}.git`;

  const createRepository = async (name: string) => {
    if (!REPO_NAME.test(name)) {
      throw new Error(`Invalid repository name "${name}"`);
    }
    const dir = path.join(root, `${name}.git`);
    try {
      await fs.access(dir);
      throw Object.assign(new Error(`Repository "${name}" already exists`), {
        code: 'EEXIST',
      });
    } catch (e: any) {
      if (e.code !== 'ENOENT') throw e;
    }
    await exec('git', [
      'init',
      '--quiet',
      '--bare',
      '--initial-branch=main',
      dir,
    ]);
    await exec('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
    return name;
  };

  const handleGit = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ) => {
    const pathInfo = url.pathname.slice('/git'.length);
    const repo = pathInfo.split('/')[1]?.replace(/\.git$/, '');
    if (!repo || !REPO_NAME.test(repo)) {
      sendJson(res, 404, { error: 'repository not found' });
      return;
    }
    // Accept both /git/<name>.git/... and /git/<name>/...
    const rest = pathInfo.slice(1 + pathInfo.split('/')[1].length);
    const pushLog =
      req.method === 'POST' && rest === '/git-receive-pack'
        ? path.join(hooksDir, 'pushes', randomUUID())
        : undefined;
    const backend = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: `/${repo}.git${rest}`,
        REQUEST_METHOD: req.method,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        REMOTE_USER: 'sandbox',
        REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'core.hooksPath',
        GIT_CONFIG_VALUE_0: hooksDir,
        ...(pushLog && { SANDBOX_PUSH_LOG: pushLog }),
      },
    });
    req.pipe(backend.stdin);

    // CGI answer: headers, a blank line, then the body.
    let head = Buffer.alloc(0);
    let headersDone = false;
    backend.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('utf8').split('\r\n')) {
        const colon = line.indexOf(':');
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = parseInt(value, 10);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    let stderr = '';
    backend.stderr.on('data', d => (stderr += d));
    backend.on('close', code => {
      if (!headersDone) {
        sendJson(res, 500, {
          error: `git http-backend failed (${code}): ${stderr.trim()}`,
        });
      } else {
        res.end();
      }
      // After the answer: the refs post-receive saw updated, as push events.
      if (pushLog) {
        const reading = takeRefUpdates(pushLog)
          .then(updates =>
            webhooks.push(
              {
                name: repo,
                baseUrl,
                gitDir: path.join(root, `${repo}.git`),
              },
              updates,
            ),
          )
          .catch(error =>
            // eslint-disable-next-line no-console
            console.warn(`sandbox webhook: reading a push failed: ${error}`),
          )
          .finally(() => readingPushes.delete(reading));
        readingPushes.add(reading);
      }
    });
  };

  /**
   * `GET /git/<repo>/raw/<ref>/<path>` (Gitea's raw view; `/raw/<repo>/<ref>/<path>`
   * too): one file, as a public repository's raw view, so Backstage's catalog (which
   * reads plain URLs without credentials) can register entities from the sandbox's
   * repositories, from a URL inside the repository's own (as GitHub's and GitLab's are).
   */
  const handleRaw = async (res: http.ServerResponse, url: URL) => {
    const inRepo = RAW_IN_REPO.exec(url.pathname);
    const [, , repo, ref, ...rest] = inRepo
      ? ['', 'raw', inRepo[1], ...inRepo[2].split('/')]
      : url.pathname.split('/');
    const file = decodeURIComponent(rest.join('/'));
    if (!REPO_NAME.test(repo ?? '') || !ref || !file || file.includes('..')) {
      sendJson(res, 404, { error: 'no such file' });
      return;
    }
    try {
      const { stdout } = await exec(
        'git',
        ['--git-dir', path.join(root, `${repo}.git`), 'show', `${ref}:${file}`],
        { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 },
      );
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(stdout);
    } catch {
      sendJson(res, 404, { error: `no ${file} at ${ref} in ${repo}` });
    }
  };

  let gitRequests = 0;
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (
      req.method === 'GET' &&
      (url.pathname.startsWith('/raw/') || RAW_IN_REPO.test(url.pathname))
    ) {
      await handleRaw(res, url);
      return;
    }
    try {
      if (await options.openRoutes?.(req, res, url)) return;
    } catch (e: any) {
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: e.message });
      return;
    }
    if (!authorized(req, options.token)) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="gitops-sandbox"',
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error: 'authentication required' }));
      return;
    }
    try {
      if (url.pathname.startsWith('/git/')) {
        gitRequests++;
        handleGit(req, res, url);
      } else if (url.pathname === '/api/repos' && req.method === 'POST') {
        const { name } = await readJson(req);
        await createRepository(String(name ?? ''));
        sendJson(res, 201, { name, url: repoUrl(name) });
      } else if (url.pathname === '/api/repos' && req.method === 'GET') {
        const entries = await fs.readdir(root);
        sendJson(res, 200, {
          repositories: entries
            .filter(e => e.endsWith('.git'))
            .map(e => e.slice(0, -4))
            .sort(),
        });
      } else if (!(await options.routes?.(req, res, url))) {
        sendJson(res, 404, {
          error: `no route for ${req.method} ${url.pathname}`,
        });
      }
    } catch (e: any) {
      const status = e.code === 'EEXIST' ? 409 : 400;
      sendJson(res, status, { error: e.message });
    }
  });

  idleLongerThanClients(server);
  await new Promise<void>(resolve =>
    server.listen(options.port ?? 0, '127.0.0.1', resolve),
  );
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = baseUrl;
  return {
    url,
    repoUrl,
    createRepository,
    addWebhook: receiver => webhooks.add(receiver),
    webhooks: () => webhooks.list(),
    webhooksDelivered,
    requestCount: () => gitRequests,
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close(err => (err ? reject(err) : resolve()));
      });
      // Deliveries have their timeout: none outlives the server for long.
      await webhooksDelivered();
    },
  };
}
