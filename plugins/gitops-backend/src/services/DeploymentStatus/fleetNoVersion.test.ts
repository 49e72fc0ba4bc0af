import { mockServices } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { GitopsLiveStateSource } from '@gitops-backstage/plugin-gitops-node';
import { config } from '../../__testUtils__/promotionFixtures';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { UpstreamCache } from '../UpstreamCache';
import { ConfigRepoIndex } from '../ConfigRepo/configRepoIndex';
import { DeploymentStatusService } from './DeploymentStatusService';
import { DesiredStateReader } from './desiredState';
import { FLEET_CONFIG_READS } from './fleetStatus';

const REPO_URL = 'https://git.example.com/shop-config.git';
const REPOSITORY = 'registry.example.com/shop';

/** An Application of service `name` in `env`, running `images`, Synced and Healthy. */
function application(name: string, env: string, images: string[]) {
  return {
    metadata: {
      name: `${name}-${env}`,
      namespace: 'argocd',
      labels: { 'app.kubernetes.io/name': name, 'gitops/environment': env },
    },
    spec: {
      project: 'default',
      source: {
        repoURL: REPO_URL.replace('shop', name),
        targetRevision: 'main',
        path: 'chart',
        helm: { valueFiles: [`values-${env}.yaml`] },
      },
      destination: {
        server: 'https://kubernetes.default.svc',
        namespace: `${name}-${env}`,
      },
    },
    status: {
      sync: { status: 'Synced' },
      health: { status: 'Healthy' },
      summary: { images },
    },
  };
}

const component = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name,
    namespace: 'default',
    annotations: { 'argocd/app-selector': `app.kubernetes.io/name=${name}` },
  },
  spec: { owner: 'team-checkout' },
});

/** The fleet over the given Applications; the config repositories' reads are counted. */
function fleetOver(apps: unknown[]) {
  const reads: string[][] = [];
  const reader = {
    readFiles: async (repoURL: string, _ref: string, paths: string[]) => {
      reads.push([repoURL, ...paths]);
      return {
        commit: 'c'.repeat(40),
        files: Object.fromEntries(
          paths.map(p => [
            p,
            p.endsWith('/values.yaml')
              ? `image:\n  repository: ${REPOSITORY}\n  tag: ""\n`
              : "image:\n  tag: ''\n",
          ]),
        ),
      };
    },
  } as unknown as GitConfigRepoReader;
  const cache = new UpstreamCache(mockServices.cache.mock());
  const source = {
    id: 'main',
    listApplications: async () => apps,
  } as unknown as GitopsLiveStateSource;
  const service = new DeploymentStatusService({
    sources: () => [source],
    cache,
    desired: new DesiredStateReader(
      new ConfigRepoIndex(reader, { maxAgeMs: 60_000 }),
      config.imageKeys,
    ),
    config: {
      ...config,
      maxApplicationsPerEntity: 100,
      projects: [],
    },
    logger: mockServices.logger.mock(),
  });
  return { service, reads };
}

describe('the fleet and a new service', () => {
  it('reads the config of Applications that run nothing: a new service says no version yet, not drift', async () => {
    const { service, reads } = fleetOver([
      application('shop', 'dev', []),
      application('shop', 'staging', []),
      application('billing', 'dev', [`registry.example.com/billing:1.0.0`]),
    ]);

    const fleet = await service.fleetStatus([
      component('shop'),
      component('billing'),
    ]);

    const shop = fleet.entities.find(e => e.entityRef.endsWith('/shop'))!;
    expect(
      shop.environments.map(e => [
        e.environment,
        e.desired?.noVersionYet,
        e.drift,
      ]),
    ).toEqual([
      ['dev', { repository: REPOSITORY }, false],
      ['staging', { repository: REPOSITORY }, false],
    ]);
    // One read of the repository for both environments; none for what runs.
    expect(reads).toEqual([
      [
        'https://git.example.com/shop-config.git',
        'chart/values-dev.yaml',
        'chart/values-staging.yaml',
        'chart/values.yaml',
      ],
    ]);
    const billing = fleet.entities.find(e => e.entityRef.endsWith('/billing'))!;
    expect(billing.environments[0].desired).toBeUndefined();

    // Warm: the next fleet answer reads nothing.
    await service.fleetStatus([component('shop')]);
    expect(reads).toHaveLength(1);
  });

  it(`reads at most ${FLEET_CONFIG_READS} Applications' config a request`, async () => {
    const names = Array.from(
      { length: FLEET_CONFIG_READS + 5 },
      (_, i) => `svc-${i}`,
    );
    const { service, reads } = fleetOver(
      names.map(name => application(name, 'dev', [])),
    );

    const fleet = await service.fleetStatus(names.map(component));

    expect(reads).toHaveLength(FLEET_CONFIG_READS);
    const known = fleet.entities.filter(e => e.environments[0].desired);
    expect(known).toHaveLength(FLEET_CONFIG_READS);
  });
});
