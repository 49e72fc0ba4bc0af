import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { idleLongerThanClients } from '../httpServer';
import { AddressInfo, Socket } from 'node:net';
import { ArgoCdInstance } from './ArgoCdInstance';
import { ArgoError } from './errors';
import { readJson, routeApplications } from './applicationRoutes';
import {
  ApplicationStreams,
  isStreamRequest,
  sendStreamFault,
  StreamControls,
} from './stream';

type Json = any;

/** What a test can make an instance do instead of answering properly. */
export type InstanceFault =
  | 'refuse' // connections refused: the port is closed
  | 'hang' // connections accepted, never answered
  | 'unauthorized' // 401 to every request
  | 'rate-limited' // 429 with Retry-After
  | 'error' // 500
  | 'malformed'; // 200 with a body that is not JSON

export interface ArgoCdServerOptions {
  instance: ArgoCdInstance;
  /** A static API token (as an Argo CD account token). */
  token: string;
  /** For `POST /api/v1/session`. */
  username: string;
  password: string;
  /** How long session tokens live; expired ones get 401, as in Argo CD. */
  sessionTtlMs: number;
  /** Added before every answer, to stand in for a remote Argo CD (benchmarks). */
  latencyMs?: number;
  port?: number;
}

const VERSION = {
  Version: 'v3.6.0+sandbox',
  BuildDate: '2026-08-22T00:00:00Z',
  GitCommit: '37ee0097cf851bc2dd7665fc081bbce61a7e836e',
  GitTreeState: 'clean',
  GoVersion: 'go1.25',
  Compiler: 'gc',
  Platform: 'linux/amd64',
};

/** Argo CD's REST API for one instance, on 127.0.0.1. */
export class ArgoCdServer {
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<http.ServerResponse>();
  private readonly sessions = new Map<
    string,
    { username: string; expiresAt: number }
  >();
  private fault?: InstanceFault;
  /** Requests answered or refused by this instance (streams too), for tests and benchmarks. */
  requestCount = 0;
  private port = 0;
  private readonly applicationStreams: ApplicationStreams;

  constructor(private readonly options: ArgoCdServerOptions) {
    this.applicationStreams = new ApplicationStreams(options.instance);
  }

  /** The application watch streams (`GET /api/v1/stream/applications`) and their controls. */
  get streams(): StreamControls {
    return this.applicationStreams;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get name() {
    return this.options.instance.name;
  }

  async start() {
    const server = http.createServer((req, res) => this.handle(req, res));
    idleLongerThanClients(server);
    server.on('connection', socket => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port || this.options.port || 0, '127.0.0.1', resolve);
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop() {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server)
      await new Promise<void>(resolve => server.close(() => resolve()));
  }

  /** Sets or clears (undefined) a fault; `refuse` closes the port until cleared. */
  async setFault(fault: InstanceFault | undefined) {
    this.fault = fault;
    if (fault === 'refuse') await this.stop();
    else {
      // Hanging requests end (their connections drop) when the fault changes.
      for (const res of this.hanging) res.socket?.destroy();
      this.hanging.clear();
      if (!this.server) await this.start();
    }
  }

  get currentFault() {
    return this.fault;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    this.requestCount++;
    const stream = isStreamRequest(req, url);
    // A refusing proxy answers before the request reaches Argo CD.
    if (stream && this.applicationStreams.refused(res)) return;
    const sendError = stream ? sendStreamFault(req, url) : send;
    if (this.fault && (await this.answerFault(res, sendError))) return;
    if (this.options.latencyMs) {
      await new Promise(resolve => setTimeout(resolve, this.options.latencyMs));
    }
    if (stream) {
      const query = url.searchParams;
      this.applicationStreams.serve(req, res, query, () =>
        this.authenticate(req),
      );
      return;
    }
    try {
      const body = await this.route(req, url);
      send(res, 200, body);
    } catch (error) {
      const argoError =
        error instanceof ArgoError
          ? error
          : new ArgoError('Internal', (error as Error).message);
      send(res, argoError.status, argoError.body);
    }
  }

  private async answerFault(
    res: http.ServerResponse,
    sendError: typeof send,
  ): Promise<boolean> {
    switch (this.fault) {
      case 'hang':
        this.hanging.add(res); // never answered
        return true;
      case 'unauthorized':
        sendError(
          res,
          401,
          new ArgoError(
            'Unauthenticated',
            'invalid session: token signature is invalid',
          ).body,
        );
        return true;
      case 'rate-limited':
        res.setHeader('retry-after', '1');
        sendError(res, 429, {
          error: 'too many requests',
          code: 8,
          message: 'too many requests',
          details: [],
        });
        return true;
      case 'error':
        sendError(
          res,
          500,
          new ArgoError('Internal', 'sandbox fault: internal error').body,
        );
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"items": [{"metadata": {"name": "trunc');
        return true;
      default:
        return false;
    }
  }

  private authenticate(req: http.IncomingMessage): string {
    const header = req.headers.authorization ?? '';
    const cookie = /(?:^|;\s*)argocd\.token=([^;]+)/.exec(
      req.headers.cookie ?? '',
    )?.[1];
    const token = header.startsWith('Bearer ') ? header.slice(7) : cookie;
    if (!token)
      throw new ArgoError('Unauthenticated', 'no session information');
    if (token === this.options.token) return this.options.username;
    const session = this.sessions.get(token);
    if (!session)
      throw new ArgoError(
        'Unauthenticated',
        'invalid session: token signature is invalid',
      );
    if (session.expiresAt < Date.now()) {
      this.sessions.delete(token);
      throw new ArgoError(
        'Unauthenticated',
        'invalid session: token has invalid claims: token is expired',
      );
    }
    return session.username;
  }

  private async route(req: http.IncomingMessage, url: URL): Promise<Json> {
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '');
    const query = url.searchParams;
    const instance = this.options.instance;

    if (method === 'GET' && path === '/api/version') return VERSION;
    if (method === 'POST' && path === '/api/v1/session') {
      const { username, password } = await readJson(req);
      if (
        username !== this.options.username ||
        password !== this.options.password
      ) {
        throw new ArgoError('Unauthenticated', 'Invalid username or password');
      }
      const token = randomBytes(24).toString('hex');
      this.sessions.set(token, {
        username,
        expiresAt: Date.now() + this.options.sessionTtlMs,
      });
      return { token };
    }
    if (method === 'GET' && path === '/api/v1/session/userinfo') {
      try {
        return {
          loggedIn: true,
          username: this.authenticate(req),
          iss: 'argocd',
        };
      } catch {
        return { loggedIn: false };
      }
    }

    const username = this.authenticate(req);

    return routeApplications(instance, req, { method, path, query, username });
  }
}

function send(res: http.ServerResponse, status: number, body: Json) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
