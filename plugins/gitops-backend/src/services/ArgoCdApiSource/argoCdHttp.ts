import { LoggerService } from '@backstage/backend-plugin-api';
import {
  ArgoCdInstanceConfig,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import pLimit from 'p-limit';
import { Agent, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import { firstIssue } from '../applicationSchema';
import { sleep } from './applicationWatch';

const RETRIED_STATUSES = [429, 502, 503, 504];

/** An error status Argo CD answered with; after 502, 503 or 504 another try may work. */
export class UpstreamStatusError extends GitopsSourceError {
  constructor(message: string, readonly status: number) {
    super('upstream-error', message);
  }

  get retriable() {
    return RETRIED_STATUSES.includes(this.status);
  }
}

export interface ArgoCdHttpOptions {
  instance: ArgoCdInstanceConfig;
  logger: LoggerService;
  /** Per attempt. */
  timeoutMs: number;
  /** Retries of idempotent reads after a refused connection, 429 or 502/503/504. */
  retries?: number;
  /** The first retry's delay; it doubles with each retry. */
  backoffMs?: number;
  /** Requests in flight at once to this instance; more wait their turn. Default 8. */
  concurrency?: number;
}

/**
 * HTTP to one Argo CD instance: token or session auth (renewed on 401), a timeout on
 * every call, retries with backoff for reads, and errors as {@link GitopsSourceError}
 * codes that never carry credentials.
 */
export class ArgoCdHttp {
  readonly id: string;
  private session?: Promise<string>;
  private readonly limit: pLimit.Limit;
  /** Connections for watches: no time limit on heads and bodies. */
  private streams?: Agent;

  constructor(private readonly options: ArgoCdHttpOptions) {
    this.id = options.instance.name;
    this.limit = pLimit(options.concurrency ?? 8);
  }

  url(path: string, query: Record<string, string | string[]> = {}) {
    const url = new URL(`${this.options.instance.url}${path}`);
    for (const [key, value] of Object.entries(query)) {
      for (const v of Array.isArray(value) ? value : [value]) {
        url.searchParams.append(key, v);
      }
    }
    return url;
  }

  /**
   * A long answer (a watch): its connection within the timeout, then no time limit, as
   * Argo CD sends the answer's head only with its first event; outside the concurrency
   * limit, which is for short calls. A 401 drops the session so the next call logs in
   * again.
   */
  async openStream(url: URL, signal: AbortSignal) {
    this.streams ??= new Agent({
      connect: { timeout: this.options.timeoutMs },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    try {
      const res = await undiciFetch(url, {
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${await this.token()}`,
        },
        signal,
        dispatcher: this.streams,
      });
      if (res.status === 401) this.session = undefined;
      return res;
    } catch (error) {
      if (signal.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw cause === 'UND_ERR_CONNECT_TIMEOUT'
        ? this.error(
            'timeout',
            `did not connect within ${this.options.timeoutMs / 1000} s`,
          )
        : this.error(
            'unreachable',
            `is unreachable${cause ? ` (${cause})` : ''}`,
          );
    }
  }

  /** A GET, validated against `schema`, retried on transient failures. */
  get<T>(
    path: string,
    schema: z.ZodType<T>,
    signal: AbortSignal | undefined,
    query: Record<string, string | string[]>,
  ): Promise<T> {
    return this.call(path, schema, { signal, query });
  }

  /**
   * One call, its answer validated against `schema`. A read (no body) is retried on
   * transient failures; a write (a POST body) never is.
   */
  async call<T>(
    path: string,
    schema: z.ZodType<T>,
    options: {
      signal?: AbortSignal;
      query?: Record<string, string | string[]>;
      body?: unknown;
    },
  ): Promise<T> {
    const { signal, query = {}, body: requestBody } = options;
    const url = this.url(path, query);
    const retries = requestBody === undefined ? this.options.retries ?? 2 : 0;
    const backoffMs = this.options.backoffMs ?? 200;
    for (let attempt = 0; ; attempt++) {
      try {
        const body = await this.request(url, signal, requestBody);
        const parsed = schema.safeParse(body);
        if (!parsed.success) {
          throw this.error(
            'invalid-response',
            `answered ${path} with an unexpected shape: ${firstIssue(
              parsed.error,
            )}`,
          );
        }
        return parsed.data;
      } catch (error) {
        const transient =
          error instanceof GitopsSourceError &&
          (error.code === 'unreachable' ||
            error.code === 'rate-limited' ||
            (error instanceof UpstreamStatusError && error.retriable));
        if (!transient || attempt >= retries || signal?.aborted) throw error;
        this.options.logger.warn(`${(error as Error).message}; retrying`);
        await sleep(backoffMs * 2 ** attempt, signal);
      }
    }
  }

  /** One authenticated call; renews an expired session once. */
  private async request(
    url: URL,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<unknown> {
    const first = await this.fetchJson(url, await this.token(), signal, body);
    if (
      first.status !== 401 ||
      this.options.instance.credentials.kind !== 'password'
    ) {
      return this.answer(first);
    }
    this.session = undefined;
    // A 401 was not acted on: the same call again after a new login is safe.
    return this.answer(
      await this.fetchJson(url, await this.token(), signal, body),
    );
  }

  private token(): Promise<string> {
    const credentials = this.options.instance.credentials;
    if (credentials.kind === 'token') return Promise.resolve(credentials.token);
    this.session ??= (async () => {
      const url = new URL(`${this.options.instance.url}/api/v1/session`);
      const answer = await this.fetchJson(url, undefined, undefined, {
        username: credentials.username,
        password: credentials.password,
      });
      const body = this.answer(answer) as { token?: unknown };
      if (typeof body?.token !== 'string') {
        throw this.error(
          'invalid-response',
          'answered a session without a token',
        );
      }
      return body.token;
    })();
    // A failed login is not cached: the next call tries again.
    this.session.catch(() => {
      this.session = undefined;
    });
    return this.session;
  }

  /** One HTTP exchange, within the instance's concurrency limit; the timeout starts with it. */
  private fetchJson(
    url: URL,
    token: string | undefined,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    return this.limit(() => this.exchange(url, token, signal, body));
  }

  private async exchange(
    url: URL,
    token: string | undefined,
    signal?: AbortSignal,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    try {
      const res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        headers: {
          accept: 'application/json',
          ...(token && { authorization: `Bearer ${token}` }),
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      return { status: res.status, text: await res.text() };
    } catch (error) {
      if (timeout.aborted) {
        throw this.error(
          'timeout',
          `did not answer within ${this.options.timeoutMs / 1000} s`,
        );
      }
      if (signal?.aborted) throw error;
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw this.error(
        'unreachable',
        `is unreachable${cause ? ` (${cause})` : ''}`,
      );
    }
  }

  answer(answer: { status: number; text: string }): unknown {
    const { status, text } = answer;
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      if (status >= 200 && status < 300) {
        throw this.error(
          'invalid-response',
          'answered with a body that is not JSON',
        );
      }
    }
    if (status >= 200 && status < 300) return body;
    const upstream = (body as { message?: unknown })?.message;
    const detail = typeof upstream === 'string' ? `: ${upstream}` : '';
    if (status === 401)
      throw this.error(
        'unauthorized',
        `refused the credentials (401)${detail}`,
      );
    if (status === 403)
      throw this.error('forbidden', `denied access (403)${detail}`);
    if (status === 404)
      throw this.error('not-found', `has no such object (404)${detail}`);
    if (status === 429)
      throw this.error('rate-limited', `is rate limiting requests (429)`);
    throw new UpstreamStatusError(
      `Argo CD instance "${this.id}" answered ${status}${detail}`,
      status,
    );
  }

  error(code: GitopsSourceError['code'], message: string) {
    return new GitopsSourceError(
      code,
      `Argo CD instance "${this.id}" ${message}`,
    );
  }
}
