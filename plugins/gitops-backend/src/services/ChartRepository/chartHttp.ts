import { GitopsErrorCode } from '@gitops-backstage/plugin-gitops-common';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';
import type { ChartRepositoryConfig } from './chartRepositories';

/** A token from the realm a 401's `WWW-Authenticate: Bearer` names, with the repository's login. */
async function bearerToken(
  challenge: Response,
  repo: ChartRepositoryConfig,
  signal: AbortSignal,
): Promise<string> {
  const header = challenge.headers.get('www-authenticate') ?? '';
  const params = Object.fromEntries(
    [...header.matchAll(/(\w+)="([^"]*)"/g)].map(m => [m[1], m[2]]),
  );
  if (!/^bearer/i.test(header) || !params.realm) {
    throw new GitopsSourceError(
      'unauthorized',
      `${repo.url} refused the credentials configured for it`,
    );
  }
  const url = new URL(params.realm);
  if (params.service) url.searchParams.set('service', params.service);
  if (params.scope) url.searchParams.set('scope', params.scope);
  const res = await request(url.toString(), repo, signal);
  const body: any = await res.json().catch(() => undefined);
  const token = body?.token ?? body?.access_token;
  if (typeof token !== 'string') {
    throw new GitopsSourceError(
      'invalid-response',
      `${repo.url}'s token endpoint answered without a token`,
    );
  }
  return token;
}

/** A GET with the repository's credentials; statuses as GitopsSourceError codes. */
const STATUS_CODES: Record<number, GitopsErrorCode> = {
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  429: 'rate-limited',
};

export async function request(
  url: string,
  repo: ChartRepositoryConfig,
  signal: AbortSignal,
  options: {
    token?: string;
    challengeAllowed?: boolean;
    accept?: string;
    follow?: boolean;
  } = {},
): Promise<Response> {
  const { token, challengeAllowed = false } = options;
  const headers: Record<string, string> = {};
  if (options.accept) headers.accept = options.accept;
  if (token) headers.authorization = `Bearer ${token}`;
  else if (repo.username !== undefined && repo.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(
      `${repo.username}:${repo.password}`,
    ).toString('base64')}`;
  }
  let res: Response;
  try {
    res = await fetch(url, {
      headers,
      signal,
      redirect: options.follow ? 'follow' : 'error',
    });
  } catch (error) {
    throw signal.aborted
      ? new GitopsSourceError('timeout', `${repo.url} did not answer in time`)
      : new GitopsSourceError('unreachable', `${repo.url} is unreachable`);
  }
  if (res.ok || (res.status === 401 && challengeAllowed)) return res;
  const code = STATUS_CODES[res.status] ?? 'upstream-error';
  throw new GitopsSourceError(
    code,
    `${repo.url} answered ${res.status} for ${new URL(url).pathname}`,
  );
}

/** One chart's repository in an OCI registry, its token got once when asked for. */
export class OciRepository {
  private readonly base: string;
  private token?: string;

  constructor(
    private readonly repo: ChartRepositoryConfig,
    chart: string,
    private readonly signal: AbortSignal,
  ) {
    const [host, ...path] = repo.url.split('/');
    this.base = `${repo.insecure ? 'http' : 'https'}://${host}/v2/${[
      ...path,
      chart,
    ].join('/')}/`;
  }

  /** A `Link` target as a path relative to this repository. */
  relative(link: string) {
    const url = new URL(link, this.base).toString();
    return url.startsWith(this.base) ? url.slice(this.base.length) : undefined;
  }

  async get(path: string, options: { accept?: string; follow?: boolean } = {}) {
    const url = `${this.base}${path}`;
    let res = await request(url, this.repo, this.signal, {
      token: this.token,
      challengeAllowed: !this.token,
      ...options,
    });
    if (res.status === 401) {
      this.token = await bearerToken(res, this.repo, this.signal);
      res = await request(url, this.repo, this.signal, {
        token: this.token,
        ...options,
      });
    }
    return res;
  }
}
