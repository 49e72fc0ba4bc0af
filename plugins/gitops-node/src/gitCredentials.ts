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

/**
 * Credentials for Git over HTTP, by repository URL: from Backstage's SCM integrations
 * (`integrations.github`, `gitlab`, `bitbucketServer`, `gitea`), else from
 * `gitops.git.credentials[]` for plain Git servers. Never logged. Shared by the
 * backend plugin and the scaffolder actions, so both push with the same credentials.
 *
 * @public
 */
export class GitCredentialsResolver {
  static fromConfig(config: Config): GitCredentialsResolver {
    return new GitCredentialsResolver(config);
  }

  private readonly integrations: ScmIntegrations;
  private readonly github: DefaultGithubCredentialsProvider;
  private readonly byHost: Map<string, GitCredentials>;

  constructor(config: Config) {
    this.integrations = ScmIntegrations.fromConfig(config);
    this.github = DefaultGithubCredentialsProvider.fromIntegrations(
      this.integrations,
    );
    this.byHost = new Map(
      (config.getOptionalConfigArray('gitops.git.credentials') ?? []).map(c => [
        c.getString('host'),
        {
          username: c.getOptionalString('username') ?? 'git',
          password: c.getString('password'),
        },
      ]),
    );
  }

  async forUrl(url: string): Promise<GitCredentials | undefined> {
    const host = new URL(url).host;
    if (this.integrations.github.byUrl(url)) {
      const { token } = await this.github.getCredentials({ url });
      return token
        ? { username: 'x-access-token', password: token }
        : undefined;
    }
    const gitlab = this.integrations.gitlab.byUrl(url)?.config.token;
    if (gitlab) return { username: 'oauth2', password: gitlab };
    const bitbucket = this.integrations.bitbucketServer.byUrl(url)?.config;
    if (bitbucket?.token) {
      return {
        username: bitbucket.username ?? 'x-token-auth',
        password: bitbucket.token,
      };
    }
    const gitea = this.integrations.gitea.byUrl(url)?.config;
    if (gitea?.username && gitea.password) {
      return { username: gitea.username, password: gitea.password };
    }
    return this.byHost.get(host);
  }
}
