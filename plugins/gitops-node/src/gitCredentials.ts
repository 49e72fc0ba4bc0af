import { Config } from '@backstage/config';
import {
  DefaultGithubCredentialsProvider,
  ScmIntegrations,
} from '@backstage/integration';

/**
 * A user name and password (or token) for Git over HTTP.
 *
 * @public
 */
export interface GitCredentials {
  username: string;
  password: string;
}

/** One `gitops.git.credentials[]` entry: where it may go, and what it is. */
interface HostCredentials extends GitCredentials {
  hostname: string;
  port: string;
  /** Written with a port: that server's own, over http or https. Else https only. */
  explicitPort: boolean;
}

const defaultPort = (url: URL) =>
  url.port || (url.protocol === 'https:' ? '443' : '80');

/** The `host` of an entry as hostname and port; throws naming the key when it is not one. */
function parseHost(host: string, key: string) {
  let url: URL | undefined;
  try {
    url = new URL(`https://${host}`);
  } catch {
    url = undefined;
  }
  if (
    !url ||
    url.host !== host.toLowerCase().replace(/:443$/, '') ||
    url.username
  ) {
    throw new Error(
      `Invalid ${key}: "${host}" is not a host (with a port when not 443), e.g. git.example.com or git.example.com:8443`,
    );
  }
  return {
    hostname: url.hostname,
    port: defaultPort(url),
    explicitPort: /:\d+$/.test(host),
  };
}

/**
 * Credentials for Git over HTTP, by repository URL: from Backstage's SCM integrations
 * (`integrations.github`, `gitlab`, `bitbucketServer`, `gitea`), else from
 * `gitops.git.credentials[]` for plain Git servers. Never logged. Shared by the
 * backend plugin and the scaffolder actions, so both push with the same credentials.
 *
 * A credential goes only to the server it is configured for: the same host name and
 * port, over the scheme of its integration's base URL (https unless it says http);
 * a `gitops.git.credentials` host without a port goes over https only, one with a port
 * to that port. There is no fallback to another host's credential, ever: a URL on a
 * server nothing is configured for gets none.
 *
 * @public
 */
export class GitCredentialsResolver {
  static fromConfig(config: Config): GitCredentialsResolver {
    return new GitCredentialsResolver(config);
  }

  private readonly integrations: ScmIntegrations;
  private readonly github: DefaultGithubCredentialsProvider;
  private readonly byHost: HostCredentials[];

  constructor(config: Config) {
    this.integrations = ScmIntegrations.fromConfig(config);
    this.github = DefaultGithubCredentialsProvider.fromIntegrations(
      this.integrations,
    );
    this.byHost = (
      config.getOptionalConfigArray('gitops.git.credentials') ?? []
    ).map((c, i) => ({
      ...parseHost(c.getString('host'), `gitops.git.credentials[${i}].host`),
      username: c.getOptionalString('username') ?? 'git',
      password: c.getString('password'),
    }));
  }

  /** The credentials configured for the server of `url`, or undefined when it has none. */
  async forUrl(url: string): Promise<GitCredentials | undefined> {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return undefined;
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return undefined;
    }
    // Same host and port over the integration's own scheme: http://github.com is not it.
    const sameScheme = (baseUrl: string | undefined) =>
      target.protocol === (baseUrl ? new URL(baseUrl).protocol : 'https:');

    const integration = await this.fromIntegrations(url, target, sameScheme);
    if (integration) return integration;
    const entry = this.byHost.find(
      c =>
        c.hostname === target.hostname &&
        c.port === defaultPort(target) &&
        (c.explicitPort || target.protocol === 'https:'),
    );
    return entry && { username: entry.username, password: entry.password };
  }

  /** A Backstage integration's credentials for the server of `target`, if it has some. */
  private async fromIntegrations(
    url: string,
    target: URL,
    sameScheme: (baseUrl: string | undefined) => boolean,
  ): Promise<GitCredentials | undefined> {
    const github = this.integrations.github.byUrl(target)?.config;
    if (github && sameScheme(github.apiBaseUrl ?? github.rawBaseUrl)) {
      const { token } = await this.github.getCredentials({ url });
      if (token) return { username: 'x-access-token', password: token };
    }
    const gitlab = this.integrations.gitlab.byUrl(target)?.config;
    if (gitlab?.token && sameScheme(gitlab.baseUrl)) {
      return { username: 'oauth2', password: gitlab.token };
    }
    const bitbucket = this.integrations.bitbucketServer.byUrl(target)?.config;
    if (bitbucket?.token && sameScheme(bitbucket.apiBaseUrl)) {
      return {
        username: bitbucket.username ?? 'x-token-auth',
        password: bitbucket.token,
      };
    }
    const gitea = this.integrations.gitea.byUrl(target)?.config;
    if (gitea?.username && gitea.password && sameScheme(gitea.baseUrl)) {
      return { username: gitea.username, password: gitea.password };
    }
    return undefined;
  }
}
