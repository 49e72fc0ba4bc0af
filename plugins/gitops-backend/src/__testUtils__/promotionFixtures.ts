import { ChangeLogService } from '../services/ChangeLog/ChangeLogService';
import { resolvePackagePath } from '@backstage/backend-plugin-api';
import {
  mockServices,
  TestDatabaseId,
  TestDatabases,
} from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import {
  EntityDeploymentStatus,
  EnvironmentStatus,
  ImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ConfigRepoWriter,
  fileEditsOf,
  ValuesFileChange,
  writeResultOf,
} from '@gitops-backstage/plugin-gitops-node';
import { Knex } from 'knex';
import { GitopsConfig } from '../config';
import { GitConfigRepoReader } from '../services/ConfigRepo/GitConfigRepoReader';
import { DeploymentStatusService } from '../services/DeploymentStatus/DeploymentStatusService';
import { PromotionService } from '../services/Promotion/PromotionService';

export const REPO_URL = 'https://ghe.example.test/checkout/service-a-config';

export const MIGRATIONS = resolvePackagePath(
  '@gitops-backstage/plugin-gitops-backend',
  'migrations',
);

/**
 * The promotions table in a new, empty database of the given kind (SQLite in memory,
 * PostgreSQL: see testDatabases()), migrated as the plugin migrates it.
 */
export async function promotionsDb(
  databases: TestDatabases,
  id: TestDatabaseId,
): Promise<Knex> {
  const db = await databases.init(id);
  await db.migrate.latest({ directory: MIGRATIONS });
  return db;
}

export const entity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'service-a', namespace: 'default' },
  spec: { owner: 'team-checkout' },
};

/** An environment that runs what its values file names, synced and healthy. */
export function environment(
  name: string,
  image: ImageReference,
): EnvironmentStatus {
  const ref = `${image.repository}${image.tag ? `:${image.tag}` : ''}${
    image.digest ? `@${image.digest}` : ''
  }`;
  return {
    environment: name,
    instance: 'main',
    application: {
      name: `service-a-${name}`,
      namespace: 'argocd',
      project: 'checkout',
    },
    desired: {
      repoURL: REPO_URL,
      targetRevision: 'main',
      valuesFile: `chart/values-${name}.yaml`,
      image,
    },
    drift: false,
    // Owned by the entity: writes to it are allowed.
    writable: true,
    live: {
      syncStatus: 'Synced',
      health: { status: 'Healthy' },
      images: [ref],
      automatedSync: true,
      deployed: { id: 1, revision: 'abc', deployedAt: '2026-11-01T00:00:00Z' },
      history: [],
    },
  } as unknown as EnvironmentStatus;
}

/**
 * A new service's environment before its first version: the values file names no tag,
 * the chart renders no workload, Argo CD reports it Synced and Healthy running nothing.
 */
export function environmentWithoutVersion(
  name: string,
  repository: string,
): EnvironmentStatus {
  const env = environment(name, { repository });
  const { image, ...desired } = env.desired!;
  return {
    ...env,
    desired: { ...desired, noVersionYet: { repository } },
    drift: false,
    live: { ...env.live, images: [] },
  };
}

export const config: GitopsConfig = {
  instances: [],
  clusters: [],
  environments: ['dev', 'staging', 'prod'],
  environmentFallback: 'destination-namespace',
  cacheSeconds: 10,
  timeoutSeconds: 5,
  imageKeys: {
    repository: 'image.repository',
    tag: 'image.tag',
    digest: 'image.digest',
  },
  promotionPolicy: {},
} as unknown as GitopsConfig;

/**
 * A PromotionService over a real database, with the entity's view and the writers
 * given: the status service and the reader are stand-ins (no Argo CD, no Git).
 */
export function promotionService(options: {
  db: Knex;
  environments: EnvironmentStatus[];
  writers: ConfigRepoWriter[];
  forget?: () => Promise<void>;
  /** Called before each view of the entity is answered (a promotion reads one). */
  beforeView?: () => Promise<void>;
  changeLogs?: ChangeLogService;
  config?: GitopsConfig;
}) {
  const view: EntityDeploymentStatus = {
    entityRef: 'component:default/service-a',
    environmentOrder: config.environments,
    environments: options.environments,
    errors: [],
  };
  const status = {
    entityStatus: async () => {
      await options.beforeView?.();
      return view;
    },
    forget: options.forget ?? (async () => {}),
  } as unknown as DeploymentStatusService;
  return new PromotionService({
    db: options.db,
    status,
    writers: options.writers,
    reader: {} as GitConfigRepoReader,
    config: options.config ?? config,
    reviewers: async () => ({ users: [], teams: [] }),
    logger: mockServices.logger.mock(),
    changeLogs: options.changeLogs,
  });
}

/** A writer over in-memory files: every commit is counted, every edit applied. */
export class MemoryWriter implements ConfigRepoWriter {
  readonly id = 'memory';
  commits: string[] = [];
  reads = 0;
  constructor(readonly files: Record<string, string>) {}
  supports() {
    return true;
  }
  async read(location: { file: string }) {
    this.reads++;
    return this.files[location.file];
  }
  async commit(change: ValuesFileChange) {
    const files = fileEditsOf(change).map(({ file, edit }) => ({
      file,
      before: this.files[file],
      after: edit(this.files[file]),
    }));
    if (files.every(f => f.after === f.before)) return writeResultOf(files);
    for (const f of files) this.files[f.file] = f.after;
    const commit = `${this.commits.length + 1}`.padStart(40, 'c');
    this.commits.push(commit);
    return writeResultOf(files, commit);
  }
}
