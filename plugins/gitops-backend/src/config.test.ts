import { ConfigReader } from '@backstage/config';
import { readGitopsConfig } from './config';

const instances = (list: object[], extra: object = {}) =>
  new ConfigReader({
    argocd: {
      ...extra,
      appLocatorMethods: [{ type: 'config', instances: list }],
    },
  });

describe('readGitopsConfig', () => {
  it('reads instances as the existing Argo CD plugins configure them', () => {
    const config = readGitopsConfig(
      instances(
        [
          { name: 'main', url: 'https://argocd.example.com/', token: 't0k3n' },
          {
            name: 'edge',
            url: 'http://127.0.0.1:8081',
            frontendUrl: 'https://edge.example.com',
          },
        ],
        { username: 'admin', password: 'pw' },
      ),
    );
    expect(config.instances).toEqual([
      {
        name: 'main',
        url: 'https://argocd.example.com',
        frontendUrl: 'https://argocd.example.com',
        credentials: { kind: 'token', token: 't0k3n' },
      },
      {
        name: 'edge',
        url: 'http://127.0.0.1:8081',
        frontendUrl: 'https://edge.example.com',
        credentials: { kind: 'password', username: 'admin', password: 'pw' },
      },
    ]);
    expect(config.environments).toEqual(['dev', 'staging', 'prod']);
  });

  it('reads the environment order', () => {
    const config = readGitopsConfig(
      new ConfigReader({ gitops: { environments: ['test', 'live'] } }),
    );
    expect(config).toEqual({
      promotionPolicy: {},
      helmCommand: undefined,
      instances: [],
      clusters: [],
      environments: ['test', 'live'],
      environmentFallback: 'destination-namespace',
      cacheSeconds: 10,
      timeoutSeconds: 5,
      imageKeys: {
        repository: 'image.repository',
        tag: 'image.tag',
        digest: 'image.digest',
      },
    });
  });

  it.each([
    [[{ name: 'a', url: 'ftp://x', token: 't' }], /instances\[0\]\.url/],
    [[{ name: 'a', url: 'not a url', token: 't' }], /instances\[0\]\.url/],
    [[{ name: 'a', url: 'http://x' }], /"a".*needs a token/],
    [
      [
        { name: 'a', url: 'http://x', token: 't' },
        { name: 'a', url: 'http://y', token: 't' },
      ],
      /Duplicate.*"a".*instances\[1\]/,
    ],
    [
      [{ name: 'bad name', url: 'http://x', token: 't' }],
      /instances\[0\]\.name/,
    ],
  ])('rejects %j', (list, message) => {
    expect(() => readGitopsConfig(instances(list))).toThrow(message);
  });

  it('rejects an unsupported locator type and a bad environment list', () => {
    expect(() =>
      readGitopsConfig(
        new ConfigReader({
          argocd: { appLocatorMethods: [{ type: 'cluster', instances: [] }] },
        }),
      ),
    ).toThrow(/appLocatorMethods\[0\]\.type "cluster"/);
    expect(() =>
      readGitopsConfig(
        new ConfigReader({ gitops: { environments: ['dev', 'dev'] } }),
      ),
    ).toThrow(/distinct/);
  });

  it('reads the status options and names a bad one', () => {
    const config = readGitopsConfig(
      new ConfigReader({
        gitops: {
          environmentFallback: 'instance',
          cacheSeconds: 30,
          image: { tagKey: 'app.image.version' },
        },
      }),
    );
    expect(config).toMatchObject({
      environmentFallback: 'instance',
      cacheSeconds: 30,
      imageKeys: { repository: 'image.repository', tag: 'app.image.version' },
    });
    expect(() =>
      readGitopsConfig(new ConfigReader({ gitops: { timeoutSeconds: 0 } })),
    ).toThrow('gitops.timeoutSeconds must be a positive number, got 0');
    expect(() =>
      readGitopsConfig(
        new ConfigReader({ gitops: { environmentFallback: 'label' } }),
      ),
    ).toThrow(
      'gitops.environmentFallback must be destination-namespace or instance, got "label"',
    );
  });
});
