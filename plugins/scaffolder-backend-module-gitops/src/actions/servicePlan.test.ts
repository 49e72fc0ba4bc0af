import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { createServicePlanAction } from './servicePlan';

const action = createServicePlanAction({
  config: new ConfigReader({
    argocd: {
      appLocatorMethods: [
        {
          type: 'config',
          instances: [
            { name: 'main', url: 'http://127.0.0.1:1', token: 't' },
            { name: 'prod', url: 'http://127.0.0.1:2', token: 't' },
          ],
        },
      ],
    },
  }),
});

const environments = [
  { name: 'dev', instance: 'main' },
  { name: 'staging', instance: 'main' },
  { name: 'prod', instance: 'prod', namespace: 'payments' },
];

async function plan(input: Record<string, unknown>) {
  const ctx = createMockActionContext({ input: input as any });
  await action.handler(ctx);
  return Object.fromEntries(
    (ctx.output as jest.Mock).mock.calls.map(([k, v]) => [k, v]),
  );
}

describe('gitops:service:plan', () => {
  it('plans both repositories on a plain Git server and every environment', async () => {
    const out = await plan({
      name: 'service-c',
      repoHost: 'git',
      gitBaseUrl: 'http://127.0.0.1:7090/git/',
      environments,
      ingressHostPattern: '{service}.{environment}.example.com',
    });
    expect(out.appRepo).toEqual({
      url: 'http://127.0.0.1:7090/git/service-c.git',
      webUrl: 'http://127.0.0.1:7090/git/service-c.git',
      slug: 'service-c',
      publishUrl: 'http://127.0.0.1:7090/git/service-c.git',
      catalogInfoUrl:
        'http://127.0.0.1:7090/git/service-c/raw/main/catalog-info.yaml',
    });
    expect(out.configRepo.url).toBe(
      'http://127.0.0.1:7090/git/service-c-config.git',
    );
    expect(out.environments).toEqual([
      {
        name: 'dev',
        instance: 'main',
        cluster: 'https://kubernetes.default.svc',
        namespace: 'service-c-dev',
        ingressHost: 'service-c.dev.example.com',
        production: false,
      },
      expect.objectContaining({ name: 'staging', production: false }),
      expect.objectContaining({
        name: 'prod',
        instance: 'prod',
        namespace: 'payments',
        production: true,
      }),
    ]);
    expect(out.environmentNames).toEqual(['dev', 'staging', 'prod']);
    expect([out.firstEnvironment, out.lastEnvironment]).toEqual([
      'dev',
      'prod',
    ]);
    const cluster = 'https://kubernetes.default.svc';
    expect(out.applicationSets).toEqual([
      {
        key: 'main',
        name: 'service-c',
        instance: 'main',
        production: false,
        environments: out.environments.slice(0, 2),
        elements: [
          { environment: 'dev', namespace: 'service-c-dev', cluster },
          { environment: 'staging', namespace: 'service-c-staging', cluster },
        ],
      },
      {
        key: 'prod-production',
        name: 'service-c-production',
        instance: 'prod',
        production: true,
        environments: out.environments.slice(2),
        elements: [{ environment: 'prod', namespace: 'payments', cluster }],
      },
    ]);
  });

  it('groups the environments by instance and production flag, in order of first appearance', async () => {
    const out = await plan({
      name: 'service-c',
      repoHost: 'git',
      gitBaseUrl: 'http://127.0.0.1:7090/git',
      environments: [
        { name: 'dev', instance: 'main' },
        { name: 'staging', instance: 'prod' },
        { name: 'qa', instance: 'main' },
        { name: 'live', instance: 'main' },
      ],
    });
    expect(
      out.applicationSets.map((s: any) => [
        s.key,
        s.name,
        s.elements.map((e: any) => e.environment),
      ]),
    ).toEqual([
      ['main', 'service-c', ['dev', 'qa']],
      ['prod', 'service-c', ['staging']],
      ['main-production', 'service-c-production', ['live']],
    ]);
  });

  it('plans GitHub and GitLab repositories in the forms their publish actions take', async () => {
    const github = await plan({
      name: 'service-c',
      repoHost: 'github',
      repoOwner: 'acme',
      environments,
    });
    expect(github.configRepo).toEqual({
      url: 'https://github.com/acme/service-c-config.git',
      webUrl: 'https://github.com/acme/service-c-config',
      slug: 'acme/service-c-config',
      publishUrl: 'github.com?owner=acme&repo=service-c-config',
      catalogInfoUrl:
        'https://github.com/acme/service-c-config/blob/main/catalog-info.yaml',
    });
    const gitlab = await plan({
      name: 'service-c',
      repoHost: 'gitlab',
      repoOwner: 'acme/web',
      environments,
    });
    expect(gitlab.appRepo.catalogInfoUrl).toBe(
      'https://gitlab.com/acme/web/service-c/-/blob/main/catalog-info.yaml',
    );
    expect(gitlab.appRepo.publishUrl).toBe(
      'gitlab.com?owner=acme%2Fweb&repo=service-c',
    );
  });

  it('refuses bad input before anything is created, naming it', async () => {
    const base = { name: 'service-c', repoHost: 'git', environments };
    await expect(plan(base)).rejects.toThrow(
      'gitBaseUrl is required for a plain Git server',
    );
    const git = { ...base, gitBaseUrl: 'http://127.0.0.1:7090/git' };
    await expect(
      plan({
        ...git,
        environments: [...environments, { name: 'dev', instance: 'main' }],
      }),
    ).rejects.toThrow('Environment "dev" is listed twice');
    await expect(
      plan({ ...git, environments: [{ name: 'qa', instance: 'edge' }] }),
    ).rejects.toThrow(
      'Argo CD instance "edge" of qa is not configured; the portal knows main, prod',
    );
    await expect(
      plan({
        ...git,
        environments: [{ name: 'dev', instance: 'main', namespace: 'No_Way' }],
      }),
    ).rejects.toThrow('Namespace "No_Way" of dev is not a DNS label');
    await expect(
      plan({ ...base, repoHost: 'github', environments }),
    ).rejects.toThrow(
      'repoOwner (organisation or group) is required on github',
    );
  });
});
