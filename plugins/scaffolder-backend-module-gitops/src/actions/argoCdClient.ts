import {
  ArgoCdInstanceConfig,
  upstreamAnswer,
} from '@gitops-backstage/plugin-gitops-node';

/** An Argo CD answer with a status that is not 2xx. */
export class ArgoCdRefusedError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'ArgoCdRefusedError';
  }
}

/**
 * Argo CD's REST API, for one run of the action: a token from config or a session
 * from username and password. Errors name the instance and carry a short, redacted
 * excerpt of Argo CD's message, never a credential. Redirects are not followed: the
 * token is for the configured URL only.
 */
export class ArgoCdClient {
  private session?: Promise<string>;

  constructor(
    private readonly instance: ArgoCdInstanceConfig,
    private readonly timeoutMs: number,
  ) {}

  createApplication(application: object, upsert: boolean) {
    return this.call(
      'POST',
      `/api/v1/applications?upsert=${upsert}`,
      application,
      `refused to create Application "${nameOf(application)}"`,
    );
  }

  createApplicationSet(applicationSet: object, upsert: boolean) {
    return this.call(
      'POST',
      `/api/v1/applicationsets?upsert=${upsert}`,
      applicationSet,
      `refused to create ApplicationSet "${nameOf(applicationSet)}"`,
    );
  }

  /** The Application, or undefined when the instance has none of that name (404). */
  getApplication(name: string, namespace: string) {
    return this.absentOn404(
      `/api/v1/applications/${encodeURIComponent(
        name,
      )}?appNamespace=${encodeURIComponent(namespace)}`,
      `refused to read Application "${name}"`,
    );
  }

  /** The ApplicationSet, or undefined when the instance has none of that name (404). */
  getApplicationSet(name: string, namespace: string) {
    return this.absentOn404(
      `/api/v1/applicationsets/${encodeURIComponent(
        name,
      )}?appsetNamespace=${encodeURIComponent(namespace)}`,
      `refused to read ApplicationSet "${name}"`,
    );
  }

  private async absentOn404(path: string, refused: string) {
    try {
      return await this.call('GET', path, undefined, refused);
    } catch (error) {
      if (error instanceof ArgoCdRefusedError && error.status === 404) {
        return undefined;
      }
      throw error;
    }
  }

  private token(): Promise<string> {
    const { credentials } = this.instance;
    if (credentials.kind === 'token') return Promise.resolve(credentials.token);
    const { username, password } = credentials;
    this.session ??= this.request(
      'POST',
      '/api/v1/session',
      { username, password },
      undefined,
      'refused the login',
    ).then(session => session.token as string);
    return this.session;
  }

  private async call(
    method: string,
    path: string,
    body: unknown,
    refused: string,
  ): Promise<any> {
    return this.request(method, path, body, await this.token(), refused);
  }

  private async request(
    method: string,
    path: string,
    body: unknown,
    token: string | undefined,
    refused: string,
  ): Promise<any> {
    const where = `Argo CD instance "${this.instance.name}" (${this.instance.url})`;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${this.instance.url}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
          ...(token && { authorization: `Bearer ${token}` }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: timeout,
      });
    } catch (error) {
      if (timeout.aborted) {
        throw new Error(
          `${where} did not answer within ${this.timeoutMs / 1000} s`,
        );
      }
      const code = (error as { cause?: { code?: string } }).cause?.code;
      throw new Error(`${where} is unreachable${code ? ` (${code})` : ''}`);
    }
    const text = await res.text();
    if (res.status >= 300 && res.status < 400) {
      throw new ArgoCdRefusedError(
        `${where} answered ${path.split('?')[0]} with a redirect (${
          res.status
        }), which is not followed: configure the URL it names`,
        res.status,
      );
    }
    if (!res.ok) {
      const { credentials } = this.instance;
      const answer = upstreamAnswer(res.status, text, [
        token,
        ...(credentials.kind === 'password' ? [credentials.password] : []),
      ]);
      throw new ArgoCdRefusedError(
        `${where} ${refused} (${answer})`,
        res.status,
      );
    }
    try {
      return text ? JSON.parse(text) : {};
    } catch {
      throw new Error(
        `${where} answered ${path.split('?')[0]} with a body that is not JSON`,
      );
    }
  }
}

function nameOf(object: object): string {
  return (object as { metadata: { name: string } }).metadata.name;
}
