import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { RegistryError } from './errors';

export interface RegistryCredentials {
  username: string;
  password: string;
}

/** `type:name:actions`, as in the token spec's scope parameter. */
export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

interface Token {
  expires: number;
  access: Scope[];
}

/** Actions a repository scope can grant (`*` is all of them). */
const REPOSITORY_ACTIONS = new Set(['pull', 'push', 'delete', '*']);

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/** `type:name:actions`; the name may itself hold colons (a host with a port). */
export function parseScope(value: string): Scope | undefined {
  const first = value.indexOf(':');
  const last = value.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  return {
    type: value.slice(0, first),
    name: value.slice(first + 1, last),
    actions: value
      .slice(last + 1)
      .split(',')
      .filter(Boolean),
  };
}

function basicCredentials(
  header: string | undefined,
): RegistryCredentials | undefined {
  const [scheme, value = ''] = (header ?? '').split(' ', 2);
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return {
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1),
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const [scheme, value] = (header ?? '').split(' ', 2);
  return scheme?.toLowerCase() === 'bearer' ? value : undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('token request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/**
 * The Docker registry token flow that Docker Hub, GHCR and Harbor use: the registry
 * answers 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; the client
 * asks the realm for a token (GET with Basic credentials, or the OAuth2 POST form
 * with grant_type=password|refresh_token) and sends it as `Authorization: Bearer`.
 * Tokens carry the scopes granted and expire. Without credentials a client gets a
 * token that grants nothing, as Docker Hub hands out for private repositories.
 */
export class TokenService {
  private readonly tokens = new Map<string, Token>();
  private readonly refreshTokens = new Set<string>();

  constructor(
    private readonly credentials: RegistryCredentials,
    private readonly realm: () => string,
    readonly service: () => string,
    private readonly ttlSeconds: number,
  ) {}

  private valid(given: RegistryCredentials | undefined): boolean {
    return (
      given?.username === this.credentials.username &&
      given?.password === this.credentials.password
    );
  }

  private grant(requested: Scope[], authenticated: boolean): Scope[] {
    if (!authenticated) return [];
    return requested.flatMap(scope => {
      if (scope.type === 'repository') {
        const actions = scope.actions.filter(a => REPOSITORY_ACTIONS.has(a));
        return actions.length ? [{ ...scope, actions }] : [];
      }
      if (scope.type === 'registry' && scope.name === 'catalog') {
        return [{ ...scope, actions: ['*'] }];
      }
      return [];
    });
  }

  private issue(access: Scope[]) {
    const now = Date.now();
    for (const [key, token] of this.tokens) {
      if (token.expires <= now) this.tokens.delete(key);
    }
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, { expires: now + this.ttlSeconds * 1000, access });
    return {
      token,
      issued_at: new Date(now).toISOString(),
      expires_in: this.ttlSeconds,
    };
  }

  /** `GET|POST <realm>`: the token endpoint. */
  async handleTokenRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
  ) {
    const form = req.method === 'POST' ? await readForm(req) : url.searchParams;
    const service = form.get('service');
    if (service && service !== this.service()) {
      sendJson(res, 400, {
        errors: [
          {
            code: 'DENIED',
            message: `unknown service "${service}"`,
            detail: { service },
          },
        ],
      });
      return;
    }
    const requested = form
      .getAll('scope')
      .flatMap(s => s.split(' '))
      .map(parseScope)
      .filter((s): s is Scope => !!s);

    if (req.method === 'POST') {
      const grantType = form.get('grant_type');
      const authenticated =
        grantType === 'password'
          ? this.valid({
              username: form.get('username') ?? '',
              password: form.get('password') ?? '',
            })
          : grantType === 'refresh_token' &&
            this.refreshTokens.has(form.get('refresh_token') ?? '');
      if (!authenticated) {
        sendJson(res, 401, {
          error: 'invalid_grant',
          error_description: 'invalid credentials or refresh token',
        });
        return;
      }
      const granted = this.grant(requested, true);
      const issued = this.issue(granted);
      const refresh = this.offlineToken(form.get('access_type') === 'offline');
      sendJson(res, 200, {
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: issued.expires_in,
        issued_at: issued.issued_at,
        scope: granted.map(formatScope).join(' '),
        ...(refresh ? { refresh_token: refresh } : {}),
      });
      return;
    }

    const given = basicCredentials(req.headers.authorization);
    if (given && !this.valid(given)) {
      sendJson(res, 401, {
        errors: [
          {
            code: 'UNAUTHORIZED',
            message: 'invalid username or password',
          },
        ],
      });
      return;
    }
    const issued = this.issue(this.grant(requested, !!given));
    const refresh = this.offlineToken(
      !!given && form.get('offline_token') === 'true',
    );
    sendJson(res, 200, {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expires_in,
      issued_at: issued.issued_at,
      ...(refresh ? { refresh_token: refresh } : {}),
    });
  }

  private offlineToken(wanted: boolean): string | undefined {
    if (!wanted) return undefined;
    const refresh = randomBytes(24).toString('base64url');
    this.refreshTokens.add(refresh);
    return refresh;
  }

  private challenge(required: Scope | undefined, error?: string) {
    let value = `Bearer realm="${this.realm()}",service="${this.service()}"`;
    if (required) value += `,scope="${formatScope(required)}"`;
    if (error) value += `,error="${error}"`;
    return { 'www-authenticate': value };
  }

  private token(req: http.IncomingMessage): Token | undefined {
    const value = bearerToken(req.headers.authorization);
    const token = value ? this.tokens.get(value) : undefined;
    return token && token.expires > Date.now() ? token : undefined;
  }

  /** Whether the request's token grants every action of the scope. */
  allows(req: http.IncomingMessage, required: Scope): boolean {
    const token = this.token(req);
    if (!token) return false;
    return required.actions.every(action =>
      token.access.some(
        granted =>
          granted.type === required.type &&
          granted.name === required.name &&
          (granted.actions.includes(action) || granted.actions.includes('*')),
      ),
    );
  }

  /**
   * Throws 401 UNAUTHORIZED with the Bearer challenge unless the request carries a
   * live token granting `required` (any live token for the base check).
   */
  authorize(req: http.IncomingMessage, required: Scope | undefined) {
    const presented = bearerToken(req.headers.authorization);
    const token = this.token(req);
    let error: string | undefined;
    if (!token) error = presented ? 'invalid_token' : undefined;
    else if (required && !this.allows(req, required)) {
      error = 'insufficient_scope';
    } else return;
    // The detail lists the access wanted, as the reference registry's does.
    const detail = required?.actions.map(action => ({
      Type: required.type,
      Name: required.name,
      Action: action,
    }));
    throw new RegistryError(
      401,
      'UNAUTHORIZED',
      detail,
      undefined,
      this.challenge(required, error),
    );
  }
}
