import http from 'node:http';
import { AddressInfo } from 'node:net';
import { idleLongerThanClients } from '../httpServer';
import { RegistryCredentials, Scope, TokenService } from './auth';
import { RegistryError, sendError, sendInternalError } from './errors';
import { TAG_PATTERN, isValidName, sha256 } from './digests';
import { HELM_CHART_LAYER, HELM_CONFIG, OCI_INDEX } from './manifests';
import { RegistryStore } from './store';
import {
  RouteContext,
  handleBlob,
  handleUpload,
  handleUploadStart,
} from './blobRoutes';
import { handleManifest, handleTags } from './manifestRoutes';
import { paginate, sendJson } from './respond';
import { ResolvedImage, normalizeHost, resolveImage } from './references';
import { PushImageOptions, buildImage } from './seed';

export interface RegistryOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /**
   * Registry hosts this one stands in for, e.g. `['ghcr.io', 'docker.io']`: `resolve`
   * maps their references onto the same repositories. Its own `127.0.0.1:<port>` (and
   * `localhost:<port>`) always count.
   */
  hosts?: string[];
  /** When set, every `/v2/` request needs a Bearer token from `<url>/token`. */
  credentials?: RegistryCredentials;
  /** Lifetime of issued tokens; default 300 s, as Docker Hub's. */
  tokenTtlSeconds?: number;
}

/** The token endpoint (the challenge's realm). */
export const TOKEN_PATH = '/token';

type Route = {
  pattern: RegExp;
  /** Scope actions by method; a method not listed is refused with 405. */
  actions: Record<string, string[]>;
  handle: (ctx: RouteContext, reference: string) => Promise<void> | void;
};

const PULL = ['pull'];
const PUSH = ['pull', 'push'];
const DELETE = ['delete'];

const ROUTES: Route[] = [
  {
    pattern: /^(.+)\/tags\/list$/,
    actions: { GET: PULL },
    handle: ctx => handleTags(ctx),
  },
  {
    pattern: /^(.+)\/manifests\/([^/]+)$/,
    actions: { GET: PULL, HEAD: PULL, PUT: PUSH, DELETE },
    handle: handleManifest,
  },
  {
    pattern: /^(.+)\/blobs\/uploads\/?$/,
    actions: { POST: PUSH },
    handle: ctx => handleUploadStart(ctx),
  },
  {
    pattern: /^(.+)\/blobs\/uploads\/([^/]+)$/,
    actions: { GET: PUSH, PATCH: PUSH, PUT: PUSH, DELETE: PUSH },
    handle: handleUpload,
  },
  {
    pattern: /^(.+)\/blobs\/([^/]+)$/,
    actions: { GET: PULL, HEAD: PULL, DELETE },
    handle: handleBlob,
  },
];

/**
 * A container and chart registry speaking the OCI distribution API (spec v1.1) on
 * 127.0.0.1, for skopeo, helm and the sandbox's Argo CD. Content is kept in memory.
 */
export class OciRegistry {
  private readonly store = new RegistryStore();
  private readonly server: http.Server;
  private readonly auth?: TokenService;
  private port = 0;

  constructor(private readonly options: RegistryOptions = {}) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch(error => {
        if (!res.headersSent) {
          sendInternalError(res, error);
        } else res.destroy();
      });
    });
    idleLongerThanClients(this.server);
    if (options.credentials) {
      this.auth = new TokenService(
        options.credentials,
        () => `${this.url}${TOKEN_PATH}`,
        () => this.host,
        options.tokenTtlSeconds ?? 300,
      );
    }
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, '127.0.0.1', resolve);
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** e.g. `127.0.0.1:34567`, the host part of image references. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** e.g. `http://127.0.0.1:34567` */
  get url(): string {
    return `http://${this.host}`;
  }

  private hosts(): Set<string> {
    const own = [this.host, `localhost:${this.port}`];
    return new Set([...(this.options.hosts ?? []), ...own].map(normalizeHost));
  }

  /**
   * The image a reference names (`host[:port]/team/app:tag`, `…@sha256:…`, `nginx:1.27`
   * for docker.io), when its host is one this registry stands in for and it is stored.
   */
  resolve(imageRef: string): ResolvedImage | undefined {
    return resolveImage(this.store, this.hosts(), imageRef);
  }

  /**
   * The image a node pulls for a reference when its container runtime mirrors every
   * registry to this one (containerd's `registry.mirrors."*"`): whatever the host, the
   * mirror is asked for the path, so `ghcr.io/team/app:1` is `team/app:1` here.
   */
  resolveAsMirror(imageRef: string): ResolvedImage | undefined {
    return resolveImage(this.store, undefined, imageRef);
  }

  /**
   * Stores a small valid multi-arch image (OCI index → image manifests → configs and
   * gzipped tar layers) under `repository:tag`, through the same checks as a push over
   * HTTP. Resolves to the index digest.
   */
  async pushImage(
    repository: string,
    tag: string,
    options: PushImageOptions = {},
  ): Promise<string> {
    if (!isValidName(repository)) {
      throw new Error(`Invalid repository name "${repository}"`);
    }
    if (!TAG_PATTERN.test(tag)) throw new Error(`Invalid tag "${tag}"`);
    const image = buildImage(repository, tag, options);
    for (const blob of image.blobs) {
      this.store.putBlob(repository, blob, sha256(blob));
    }
    for (const manifest of image.manifests) {
      this.store.putManifest(
        repository,
        sha256(manifest.bytes),
        manifest.mediaType,
        manifest.bytes,
      );
    }
    return this.store.putManifest(repository, tag, OCI_INDEX, image.index)
      .digest;
  }

  /** Tags of a repository (sorted), empty when unknown. */
  tags(repository: string): string[] {
    return this.store.tags(repository) ?? [];
  }

  repositories(): string[] {
    return this.store.repositories();
  }

  /** The package (.tgz) of a chart `helm push` stored under `repository:tag`. */
  chartPackage(repository: string, tag: string): Buffer | undefined {
    const manifest = this.store.getManifest(repository, tag)?.parsed;
    if (manifest?.config?.mediaType !== HELM_CONFIG) return undefined;
    const layer = manifest.blobs.find(b => b.mediaType === HELM_CHART_LAYER);
    return layer && this.store.getBlob(repository, layer.digest);
  }

  stop(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.server.closeAllConnections();
      this.server.close(err => (err ? reject(err) : resolve()));
    });
  }

  private authorize(req: http.IncomingMessage, scope: Scope | undefined) {
    this.auth?.authorize(req, scope);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    try {
      if (url.pathname === TOKEN_PATH && this.auth) {
        if (req.method !== 'GET' && req.method !== 'POST') {
          throw new RegistryError(405, 'UNSUPPORTED', { method: req.method });
        }
        await this.auth.handleTokenRequest(req, res, url);
        return;
      }
      if (url.pathname === '/v2' || url.pathname === '/v2/') {
        this.authorize(req, undefined);
        sendJson(res, 200, {});
        return;
      }
      if (!url.pathname.startsWith('/v2/')) {
        throw new RegistryError(404, 'UNSUPPORTED', { path: url.pathname });
      }
      const path = url.pathname.slice('/v2/'.length);
      if (path === '_catalog') {
        if (req.method !== 'GET') {
          throw new RegistryError(405, 'UNSUPPORTED', { method: req.method });
        }
        this.authorize(req, {
          type: 'registry',
          name: 'catalog',
          actions: ['*'],
        });
        const page = paginate(this.store.repositories(), url);
        sendJson(
          res,
          200,
          { repositories: page.items },
          page.link ? { link: page.link } : {},
        );
        return;
      }
      await this.route(req, res, url, path);
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      if (res.headersSent) res.destroy();
      else sendError(res, error);
    }
  }

  private async route(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    path: string,
  ) {
    for (const route of ROUTES) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      const [, name, rawReference = ''] = match;
      if (!isValidName(name)) {
        throw new RegistryError(400, 'NAME_INVALID', { name });
      }
      const actions = route.actions[req.method ?? ''];
      if (!actions) {
        throw new RegistryError(405, 'UNSUPPORTED', { method: req.method });
      }
      this.authorize(req, { type: 'repository', name, actions });
      let reference: string;
      try {
        reference = decodeURIComponent(rawReference);
      } catch {
        reference = rawReference;
      }
      const ctx: RouteContext = {
        req,
        res,
        url,
        name,
        store: this.store,
        mayPull: repository =>
          !this.auth ||
          this.auth.allows(req, {
            type: 'repository',
            name: repository,
            actions: PULL,
          }),
      };
      await route.handle(ctx, reference);
      return;
    }
    // Among others the referrers API (end-12), which this registry does not offer:
    // clients then fall back to the referrers tag schema, as the spec tells them.
    throw new RegistryError(404, 'UNSUPPORTED', { path: url.pathname });
  }
}

/** Starts an `OciRegistry` on 127.0.0.1. */
export async function startRegistry(
  options: RegistryOptions = {},
): Promise<OciRegistry> {
  return new OciRegistry(options).start();
}
