import {
  EntityDeploymentStatus,
  EnvironmentStatus,
  FleetStatus,
} from '@gitops-backstage/plugin-gitops-common';

const sha = (c: string) => c.repeat(40);

/** One environment of service-a, Synced and Healthy unless overridden. */
export function environment(
  name: string,
  tag: string,
  overrides: Partial<Omit<EnvironmentStatus, 'live'>> & {
    live?: Partial<EnvironmentStatus['live']>;
  } = {},
): EnvironmentStatus {
  const image = `registry.example.com/checkout/service-a:${tag}`;
  const { live, ...rest } = overrides;
  return {
    environment: name,
    instance: name === 'prod' ? 'prod' : 'main',
    application: {
      name: `service-a-${name}`,
      namespace: 'argocd',
      project: 'checkout',
      url: `https://argocd.example.com/applications/argocd/service-a-${name}`,
    },
    live: {
      syncStatus: 'Synced',
      comparedRevision: sha('a'),
      health: { status: 'Healthy' },
      images: [image],
      automatedSync: false,
      deployed: {
        id: 0,
        revision: sha('a'),
        deployedAt: '2026-11-22T10:00:00Z',
        initiatedBy: { automated: true },
      },
      history: [
        {
          id: 0,
          revision: sha('a'),
          deployedAt: '2026-11-22T10:00:00Z',
          initiatedBy: { automated: true },
        },
      ],
      ...live,
    },
    desired: {
      repoURL: 'https://github.com/acme/service-a-config.git',
      targetRevision: 'main',
      valuesFile: `chart/values-${name}.yaml`,
      image: { repository: 'registry.example.com/checkout/service-a', tag },
    },
    drift: false,
    writable: true,
    ...rest,
  };
}

/**
 * A new service's environment: its values file names no version, so its chart runs
 * nothing; Argo CD says Synced and Healthy (automated sync; production waits for one).
 */
export function environmentWithoutVersion(name: string): EnvironmentStatus {
  const env = environment(name, 'unused', {
    live: { images: [], automatedSync: name !== 'prod' },
  });
  const { image, ...desired } = env.desired!;
  return {
    ...env,
    desired: {
      ...desired,
      noVersionYet: { repository: image!.repository },
    },
  };
}

export const entityStatus: EntityDeploymentStatus = {
  entityRef: 'component:default/service-a',
  environmentOrder: ['dev', 'staging', 'prod'],
  environments: [
    environment('dev', '4c5d6e7'),
    environment('staging', '1a2b3c4'),
    environment('prod', 'v1.4.0'),
  ],
  errors: [],
};

export const fleetStatus: FleetStatus = {
  environmentOrder: ['dev', 'staging', 'prod'],
  errors: [],
  entities: [
    {
      entityRef: 'component:default/service-a',
      owner: 'team-checkout',
      system: 'checkout',
      environments: entityStatus.environments,
    },
    {
      entityRef: 'component:default/service-b',
      owner: 'team-checkout',
      system: 'checkout',
      environments: [
        environment('dev', '9f8e7d6'),
        environment('prod', 'v0.9.2', { live: { syncStatus: 'OutOfSync' } }),
      ],
    },
    {
      entityRef: 'component:default/billing',
      owner: 'team-platform',
      system: 'payments',
      environments: [
        environment('dev', 'b1b1b1b', {
          live: { health: { status: 'Degraded', message: 'crash loop' } },
        }),
      ],
    },
  ],
};
