/**
 * The GitOps plugin's app-config for a bench sandbox: its Argo CD instances by token, and
 * the sandbox's Git credentials; `gitops` adds what a scenario varies.
 */
export function benchBackendConfig(
  sandbox: {
    git: string;
    gitToken: string;
    instances: Array<{ name: string; url: string; token: string }>;
  },
  gitops: Record<string, unknown>,
) {
  return {
    argocd: {
      appLocatorMethods: [
        {
          type: 'config',
          instances: sandbox.instances.map(i => ({
            name: i.name,
            url: i.url,
            token: i.token,
          })),
        },
      ],
    },
    gitops: {
      ...gitops,
      git: {
        credentials: [
          { host: new URL(sandbox.git).host, password: sandbox.gitToken },
        ],
      },
    },
  };
}
