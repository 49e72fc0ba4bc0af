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
      chartRepositories: [],
      imageRegistries: [],
      dora: { failureWindowHours: 24, recordSeconds: 30 },
      changeLog: { maxCommits: 250, fetchDepth: 1000 },
      instances: [],
      clusters: [],
      environments: ['test', 'live'],
      environmentFallback: 'destination-namespace',
      cacheSeconds: 10,
      timeoutSeconds: 5,
      watch: true,
      refCheckSeconds: 180,
      maxApplicationsPerEntity: 50,
      concurrencyPerInstance: 8,
      projects: [],
      imageKeys: {
        repository: 'image.repository',
        tag: 'image.tag',
        digest: 'image.digest',
      },
    });
  });

  it('reads the image registries, defaulting their API to https on their host (Docker Hub to its own)', () => {
    const config = readGitopsConfig(
      new ConfigReader({
        gitops: {
          imageRegistries: [
            { host: 'ghcr.io', username: 'u', password: 'p' },
            { host: 'docker.io' },
            { host: 'registry.example.com', url: 'http://127.0.0.1:7093/' },
          ],
        },
      }),
    );
    expect(config.imageRegistries).toEqual([
      { host: 'ghcr.io', url: 'https://ghcr.io', username: 'u', password: 'p' },
      { host: 'docker.io', url: 'https://registry-1.docker.io' },
      { host: 'registry.example.com', url: 'http://127.0.0.1:7093' },
    ]);
    expect(() =>
      readGitopsConfig(
        new ConfigReader({
          gitops: { imageRegistries: [{ host: 'x', url: 'https://x/v2' }] },
        }),
      ),
    ).toThrow(
      /imageRegistries\[0\]\.url must be an http\(s\) URL with no path/,
    );
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

  it('reads the bounds of work per request and names a bad one', () => {
    expect(
      readGitopsConfig(
        new ConfigReader({
          gitops: { maxApplicationsPerEntity: 12, concurrencyPerInstance: 3 },
        }),
      ),
    ).toMatchObject({
      maxApplicationsPerEntity: 12,
      concurrencyPerInstance: 3,
    });
    expect(() =>
      readGitopsConfig(
        new ConfigReader({ gitops: { maxApplicationsPerEntity: 0 } }),
      ),
    ).toThrow(
      'gitops.maxApplicationsPerEntity must be a positive whole number, got 0',
    );
    expect(() =>
      readGitopsConfig(
        new ConfigReader({ gitops: { concurrencyPerInstance: 2.5 } }),
      ),
    ).toThrow(
      'gitops.concurrencyPerInstance must be a positive whole number, got 2.5',
    );
  });

  it('reads the projects handed to owners, which decide who may write', () => {
    const config = readGitopsConfig(
      new ConfigReader({
        gitops: {
          projects: [
            { name: 'payments', owners: ['group:default/Team-Pay'] },
            {
              name: 'checkout',
              owners: ['group:default/team-checkout'],
              sourceRepos: ['https://git.example.com/checkout/*'],
            },
          ],
        },
      }),
    );
    expect(config.projects).toEqual([
      {
        name: 'payments',
        owners: ['group:default/team-pay'],
        destinations: [],
        // None listed: its Applications' repositories are written to by no one.
        sourceRepos: [],
      },
      {
        name: 'checkout',
        owners: ['group:default/team-checkout'],
        destinations: [],
        sourceRepos: ['https://git.example.com/checkout/*'],
      },
    ]);
  });

  it('reads the promotion policy and names what is wrong in it', () => {
    const policy = {
      methods: { prod: 'pull-request', staging: 'commit' },
      allowSkip: false,
      soakMinutes: { staging: 60 },
      freezeWindows: [
        {
          environments: ['prod'],
          start: '2026-12-20T00:00:00Z',
          end: '2027-01-04T00:00:00+01:00',
          reason: 'Year-end freeze',
        },
      ],
    };
    const config = readGitopsConfig(
      new ConfigReader({
        gitops: { promotion: policy, helm: { command: '/usr/bin/helm' } },
      }),
    );
    expect(config.promotionPolicy).toEqual(policy);
    expect(config.helmCommand).toBe('/usr/bin/helm');

    const invalid = (promotion: object) => () =>
      readGitopsConfig(new ConfigReader({ gitops: { promotion } }));
    expect(invalid({ methods: { prod: 'merge' } })).toThrow(
      /^Invalid promotion policy: gitops\.promotion\.methods\.prod: Invalid enum value/,
    );
    expect(invalid({ soakMinutes: { staging: -5 } })).toThrow(
      'gitops.promotion.soakMinutes.staging: Number must be greater than or equal to 0',
    );
    expect(
      invalid({
        freezeWindows: [
          { start: '2027-01-02T00:00:00Z', end: '2027-01-01T00:00:00Z' },
        ],
      }),
    ).toThrow(
      'gitops.promotion.freezeWindows.0: a freeze window must end after it starts',
    );
    expect(
      invalid({ freezeWindows: [{ start: 'monday', end: 'friday' }] }),
    ).toThrow('gitops.promotion.freezeWindows.0.start: Invalid datetime');
    expect(invalid({ skip: true })).toThrow(
      "gitops.promotion: Unrecognized key(s) in object: 'skip'",
    );
  });
});
