import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { idleLongerThanClients } from '../httpServer';
import { AddressInfo, Socket } from 'node:net';
import { ArgoCdInstance } from './ArgoCdInstance';
import { ArgoError } from './errors';
import { compileLabelSelector } from '@gitops-backstage/plugin-gitops-common';
import { projectList } from './fields';

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
  /** Requests answered or refused by this instance, for tests and benchmarks. */
  requestCount = 0;
  private port = 0;

  constructor(private readonly options: ArgoCdServerOptions) {}

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
    if (this.fault && (await this.answerFault(res))) return;
    if (this.options.latencyMs) {
      await new Promise(resolve => setTimeout(resolve, this.options.latencyMs));
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

  private async answerFault(res: http.ServerResponse): Promise<boolean> {
    switch (this.fault) {
      case 'hang':
        this.hanging.add(res); // never answered
        return true;
      case 'unauthorized':
        send(
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
        send(res, 429, {
          error: 'too many requests',
          code: 8,
          message: 'too many requests',
          details: [],
        });
        return true;
      case 'error':
        send(
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

    if (method === 'GET' && path === '/api/v1/applications') {
      return this.list(query);
    }
    if (method === 'POST' && path === '/api/v1/applications') {
      const state = await instance.create(await readJson(req), {
        upsert: parseBool(query, 'upsert', false),
        validate: parseBool(query, 'validate', true),
      });
      return instance.toApplication(state);
    }
    if (method === 'GET' && path === '/api/v1/applicationsets') {
      return this.listSets(query);
    }
    if (method === 'POST' && path === '/api/v1/applicationsets') {
      const state = instance.createSet(await readJson(req), {
        upsert: parseBool(query, 'upsert', false),
        dryRun: parseBool(query, 'dryRun', false),
      });
      return instance.toApplicationSet(state);
    }
    const set = path.match(/^\/api\/v1\/applicationsets\/([^/]+)$/);
    if (set && (method === 'GET' || method === 'DELETE')) {
      const state = instance.findSet(
        decodeURIComponent(set[1]),
        query.get('appsetNamespace') || undefined,
      );
      if (method === 'GET') return instance.toApplicationSet(state);
      instance.deleteSet(state);
      return {};
    }

    const match = path.match(/^\/api\/v1\/applications\/([^/]+)(\/.*)?$/);
    if (!match) throw new ArgoError('NotFound', `Not Found: ${method} ${path}`);
    const name = decodeURIComponent(match[1]);
    const rest = match[2] ?? '';
    if (method === 'PUT' && rest === '') {
      const validate = parseBool(query, 'validate', true);
      const body = await readJson(req);
      return instance.toApplication(
        await instance.update(name, body, validate),
      );
    }
    const state = instance.find(name, query.get('appNamespace') || undefined);
    if (method === 'DELETE' && rest === '') {
      instance.delete(state);
      return {};
    }

    if (method === 'GET' && rest === '') {
      const refresh = query.get('refresh');
      if (refresh && refresh !== 'normal' && refresh !== 'hard') {
        throw new ArgoError(
          'InvalidArgument',
          `unknown refresh type: ${refresh}`,
        );
      }
      if (refresh) await instance.reconcileApp(state);
      return instance.toApplication(state);
    }
    if (rest === '/resource/actions' || rest === '/resource/actions/v2') {
      return this.resourceAction(req, method, rest, query, state);
    }
    if (method === 'GET' && rest === '/resource-tree')
      return instance.resourceTree(state);
    if (method === 'GET' && rest === '/resource') {
      const kind = query.get('kind');
      const resourceName = query.get('resourceName');
      if (!kind || !resourceName) {
        throw new ArgoError(
          'InvalidArgument',
          'kind and resourceName are required',
        );
      }
      const live = instance.liveResource(state, {
        kind,
        name: resourceName,
        namespace: query.get('namespace') || undefined,
        group: query.get('group') ?? undefined,
      });
      return { manifest: JSON.stringify(live) };
    }
    const revision = rest.match(/^\/revisions\/([^/]+)\/metadata$/);
    if (method === 'GET' && revision) {
      const repo = instance.repositoryOf(
        state,
        Number(query.get('sourceIndex') ?? 0),
      );
      const commit = await repo.resolve(decodeURIComponent(revision[1]));
      if (!commit) {
        throw new ArgoError('NotFound', `revision ${revision[1]} not found`);
      }
      return repo.commitMetadata(commit);
    }
    if (method === 'POST' && rest === '/sync') {
      const body = await readJson(req);
      const wanted: string[] | undefined =
        body.revisions ?? (body.revision ? [body.revision] : undefined);
      const target = await instance
        .renderAt(state, wanted ?? [])
        .catch(error => {
          throw new ArgoError('InvalidArgument', (error as Error).message);
        });
      if (!body.dryRun) {
        instance.startSync(state, target, { username }, { prune: body.prune });
      }
      return instance.toApplication(state);
    }
    if (method === 'POST' && rest === '/rollback') {
      const body = await readJson(req);
      if (state.manifest.spec.syncPolicy?.automated) {
        throw new ArgoError(
          'FailedPrecondition',
          'rollback cannot be initiated when auto-sync is enabled',
        );
      }
      const entry = instance.historyEntry(state, Number(body.id));
      const target = await instance.renderAt(
        state,
        entry.revisions ?? [entry.revision],
      );
      if (!body.dryRun) {
        instance.startSync(state, target, { username }, { prune: body.prune });
      }
      return instance.toApplication(state);
    }
    if (method === 'DELETE' && rest === '/operation') {
      instance.terminate(state);
      return {};
    }
    throw new ArgoError('NotFound', `Not Found: ${method} ${path}`);
  }

  /** Lists or runs a resource action (v1: the object in the query, v2: in the body). */
  private async resourceAction(
    req: http.IncomingMessage,
    method: string,
    rest: string,
    query: URLSearchParams,
    state: any,
  ): Promise<Json> {
    const instance = this.options.instance;
    const body = method === 'POST' ? await readJson(req) : undefined;
    const from = rest.endsWith('/v2')
      ? (k: string) => body?.[k]
      : (k: string) => query.get(k) ?? undefined;
    const resource = {
      kind: from('kind'),
      name: from('resourceName'),
      namespace: from('namespace') || undefined,
      group: from('group'),
    };
    if (!resource.kind || !resource.name) {
      throw new ArgoError(
        'InvalidArgument',
        'kind and resourceName are required',
      );
    }
    if (method === 'GET' && !rest.endsWith('/v2')) {
      return { actions: instance.resourceActions(state, resource) };
    }
    if (method !== 'POST') {
      throw new ArgoError('NotFound', `Not Found: ${method} ${rest}`);
    }
    const action = rest.endsWith('/v2') ? body?.action : body;
    if (typeof action !== 'string' || !action) {
      throw new ArgoError('InvalidArgument', 'the action to run is required');
    }
    instance.runResourceAction(state, resource, action);
    return {};
  }

  private list(query: URLSearchParams): Json {
    const instance = this.options.instance;
    const matches = selectorOf(query);
    const projects = projectsOf(query);
    const appNamespace = query.get('appNamespace');
    const name = query.get('name');
    const repo = query.get('repo');
    const items = instance
      .all()
      .filter(state => {
        const { metadata, spec } = state.manifest;
        return (
          matches(metadata.labels ?? {}) &&
          (projects.length === 0 || projects.includes(spec.project)) &&
          (!appNamespace || metadata.namespace === appNamespace) &&
          (!name || metadata.name === name) &&
          (!repo || instance.sources(state).some(s => s.repoURL === repo))
        );
      })
      .map(state => instance.toApplication(state));
    const list = { metadata: { resourceVersion: instance.version }, items };
    const fields = query.get('fields');
    return fields ? projectList(list, fields) : list;
  }

  /** ApplicationSet List: `selector`, `projects` (of the template), `appsetNamespace`; sorted by name, as Argo CD sorts. */
  private listSets(query: URLSearchParams): Json {
    const instance = this.options.instance;
    const matches = selectorOf(query);
    const projects = projectsOf(query);
    const namespace = query.get('appsetNamespace');
    const items = instance
      .allSets()
      .filter(state => {
        const { metadata, spec } = state.manifest;
        return (
          matches(metadata.labels ?? {}) &&
          (projects.length === 0 ||
            projects.includes(spec.template?.spec?.project)) &&
          (!namespace || metadata.namespace === namespace)
        );
      })
      .map(state => instance.toApplicationSet(state))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    return { metadata: { resourceVersion: instance.version }, items };
  }
}

function selectorOf(
  query: URLSearchParams,
): (labels: Record<string, string>) => boolean {
  const selector = query.get('selector');
  try {
    return selector ? compileLabelSelector(selector) : () => true;
  } catch (error) {
    throw new ArgoError(
      'InvalidArgument',
      `error parsing labels: ${(error as Error).message}`,
    );
  }
}

function projectsOf(query: URLSearchParams): string[] {
  return query
    .getAll('projects')
    .flatMap(p => p.split(','))
    .filter(Boolean);
}

function send(res: http.ServerResponse, status: number, body: Json) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A boolean query parameter, parsed as grpc-gateway does (Go's strconv.ParseBool). */
function parseBool(query: URLSearchParams, name: string, fallback: boolean) {
  const value = query.get(name);
  if (value === null) return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ArgoError(
    'InvalidArgument',
    `parsing field "${name}": strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

async function readJson(req: http.IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ArgoError('InvalidArgument', 'request body is not valid JSON');
  }
}
