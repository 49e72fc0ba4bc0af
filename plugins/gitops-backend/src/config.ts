import { Config } from '@backstage/config';
import { DEFAULT_ENVIRONMENTS } from '@gitops-backstage/plugin-gitops-common';
import {
  ArgoCdInstanceConfig,
  CONFIG_NAME,
  httpUrl,
  ProjectOwnership,
  readArgoCdInstances,
  readProjectOwnership,
} from '@gitops-backstage/plugin-gitops-node';
import {
  describeIssues,
  PromotionPolicy,
  promotionPolicySchema,
} from './services/Promotion/policy';
import {
  ChartRepositoryConfig,
  readChartRepositories,
} from './services/ChartRepository/chartRepositories';
import {
  ImageRegistryConfig,
  readImageRegistries,
} from './services/ChangeLog/imageRevision';

/** A cluster whose Application resources are read directly. Holds a secret. */
export interface KubernetesClusterConfig {
  name: string;
  url: string;
  token: string;
  caData?: string;
  skipTLSVerify?: boolean;
  frontendUrl?: string;
  /** Where Applications live when an entity names them (`argocd/app-name`). */
  applicationNamespace: string;
}

export interface GitopsConfig {
  instances: ArgoCdInstanceConfig[];
  clusters: KubernetesClusterConfig[];
  environments: string[];
  environmentFallback: 'destination-namespace' | 'instance';
  cacheSeconds: number;
  timeoutSeconds: number;
  /** Watch each instance (its stream) and keep its Applications in memory. */
  watch: boolean;
  /** With `watch`, how often the config repositories held in memory are asked whether they moved. */
  refCheckSeconds: number;
  /** An entity matching more Applications gets an error, not an unbounded fan-out. */
  maxApplicationsPerEntity: number;
  /** Upstream calls in flight at once, per Argo CD instance or cluster. */
  concurrencyPerInstance: number;
  /** Argo CD projects handed to catalog owners (`gitops.projects`): who may write what. */
  projects: ProjectOwnership[];
  imageKeys: { repository: string; tag: string; digest: string };
  /** Promotion policy (methods, skipping, soak time, freeze windows); entities may override. */
  promotionPolicy: PromotionPolicy;
  /** The helm binary for rendered-manifest previews; none: previews show the values diff only. */
  helmCommand?: string;
  /** Chart repositories whose versions may be read (holds secrets). */
  chartRepositories: ChartRepositoryConfig[];
  /** Image registries whose labels may be read (holds secrets). */
  imageRegistries: ImageRegistryConfig[];
  dora: {
    /** A failure this long after a deployment counts against it. */
    failureWindowHours: number;
    /** How often deployments are recorded from Argo CD's state. */
    recordSeconds: number;
  };
  changeLog: {
    /** Commits listed between two versions; the rest are counted. */
    maxCommits: number;
    /** Commits of history fetched from a plain Git app repository. */
    fetchDepth: number;
  };
}

function positiveNumber(config: Config, key: string, fallback: number): number {
  const value = config.getOptionalNumber(key) ?? fallback;
  if (!(value > 0))
    throw new Error(`${key} must be a positive number, got ${value}`);
  return value;
}

function positiveInteger(
  config: Config,
  key: string,
  fallback: number,
): number {
  const value = config.getOptionalNumber(key) ?? fallback;
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${key} must be a positive whole number, got ${value}`);
  return value;
}

/**
 * Reads `argocd.*` and `gitops.*`. Throws with the offending config key on bad input,
 * so a misconfigured backend fails at start-up rather than at the first request.
 */
export function readGitopsConfig(config: Config): GitopsConfig {
  const instances = readArgoCdInstances(config);

  const environments = config.getOptionalStringArray('gitops.environments') ?? [
    ...DEFAULT_ENVIRONMENTS,
  ];
  if (
    environments.length === 0 ||
    new Set(environments).size !== environments.length
  ) {
    throw new Error('gitops.environments must list distinct environment names');
  }
  const environmentFallback =
    config.getOptionalString('gitops.environmentFallback') ??
    'destination-namespace';
  if (
    environmentFallback !== 'destination-namespace' &&
    environmentFallback !== 'instance'
  ) {
    throw new Error(
      `gitops.environmentFallback must be destination-namespace or instance, got "${environmentFallback}"`,
    );
  }
  const clusters = (
    config.getOptionalConfigArray('gitops.kubernetes.clusters') ?? []
  ).map((cluster, i) => {
    const key = `gitops.kubernetes.clusters[${i}]`;
    const name = cluster.getString('name');
    if (!CONFIG_NAME.test(name))
      throw new Error(`Invalid ${key}.name "${name}"`);
    if (instances.some(instance => instance.name === name)) {
      throw new Error(
        `${key}.name "${name}" is also an Argo CD instance name; source names must be unique`,
      );
    }
    const url = httpUrl(cluster.getString('url'), `${key}.url`);
    const skipTLSVerify = cluster.getOptionalBoolean('skipTLSVerify');
    if (url.startsWith('http:') && !skipTLSVerify) {
      throw new Error(
        `${key}.url is plain http; the Kubernetes client allows that only with skipTLSVerify: true`,
      );
    }
    return {
      name,
      url,
      token: cluster.getString('serviceAccountToken'),
      caData: cluster.getOptionalString('caData'),
      skipTLSVerify,
      frontendUrl: cluster.has('frontendUrl')
        ? httpUrl(cluster.getString('frontendUrl'), `${key}.frontendUrl`)
        : undefined,
      applicationNamespace:
        cluster.getOptionalString('applicationNamespace') ?? 'argocd',
    };
  });
  const policy = promotionPolicySchema.safeParse(
    config.getOptional('gitops.promotion') ?? {},
  );
  if (!policy.success) {
    throw new Error(
      `Invalid promotion policy: ${describeIssues(
        policy.error,
        'gitops.promotion',
      )}`,
    );
  }
  return {
    promotionPolicy: policy.data,
    helmCommand: config.getOptionalString('gitops.helm.command'),
    chartRepositories: readChartRepositories(config),
    imageRegistries: readImageRegistries(config),
    dora: {
      failureWindowHours: positiveNumber(
        config,
        'gitops.dora.failureWindowHours',
        24,
      ),
      recordSeconds: positiveNumber(config, 'gitops.dora.recordSeconds', 30),
    },
    changeLog: {
      maxCommits: positiveInteger(config, 'gitops.changeLog.maxCommits', 250),
      fetchDepth: positiveInteger(config, 'gitops.changeLog.fetchDepth', 1000),
    },
    instances,
    clusters,
    environments,
    environmentFallback,
    cacheSeconds: positiveNumber(config, 'gitops.cacheSeconds', 10),
    timeoutSeconds: positiveNumber(config, 'gitops.timeoutSeconds', 5),
    watch: config.getOptionalBoolean('gitops.watch') ?? true,
    refCheckSeconds: positiveNumber(config, 'gitops.refCheckSeconds', 180),
    maxApplicationsPerEntity: positiveInteger(
      config,
      'gitops.maxApplicationsPerEntity',
      50,
    ),
    concurrencyPerInstance: positiveInteger(
      config,
      'gitops.concurrencyPerInstance',
      8,
    ),
    projects: readProjectOwnership(config),
    imageKeys: {
      repository:
        config.getOptionalString('gitops.image.repositoryKey') ??
        'image.repository',
      tag: config.getOptionalString('gitops.image.tagKey') ?? 'image.tag',
      digest:
        config.getOptionalString('gitops.image.digestKey') ?? 'image.digest',
    },
  };
}
