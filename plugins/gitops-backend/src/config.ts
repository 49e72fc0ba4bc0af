import { Config } from '@backstage/config';
import { DEFAULT_ENVIRONMENTS } from '@gitops-backstage/plugin-gitops-common';
import {
  describeIssues,
  PromotionPolicy,
  promotionPolicySchema,
} from './services/Promotion/policy';

/** How the backend reaches one Argo CD instance. Holds secrets: never send it out. */
export interface ArgoCdInstanceConfig {
  name: string;
  url: string;
  frontendUrl: string;
  credentials:
    | { kind: 'token'; token: string }
    | { kind: 'password'; username: string; password: string };
}

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
  imageKeys: { repository: string; tag: string; digest: string };
  /** Promotion policy (methods, skipping, soak time, freeze windows); entities may override. */
  promotionPolicy: PromotionPolicy;
  /** The helm binary for rendered-manifest previews; none: previews show the values diff only. */
  helmCommand?: string;
}

function positiveNumber(config: Config, key: string, fallback: number): number {
  const value = config.getOptionalNumber(key) ?? fallback;
  if (!(value > 0))
    throw new Error(`${key} must be a positive number, got ${value}`);
  return value;
}

const NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

function httpUrl(value: string, key: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`Invalid URL at ${key}: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Invalid URL at ${key}: only http and https are supported`);
  }
  return value.replace(/\/+$/, '');
}

/**
 * Reads `argocd.*` and `gitops.*`. Throws with the offending config key on bad input,
 * so a misconfigured backend fails at start-up rather than at the first request.
 */
export function readGitopsConfig(config: Config): GitopsConfig {
  const defaultUser = config.getOptionalString('argocd.username');
  const defaultPassword = config.getOptionalString('argocd.password');
  const instances: ArgoCdInstanceConfig[] = [];
  const methods =
    config.getOptionalConfigArray('argocd.appLocatorMethods') ?? [];
  methods.forEach((method, m) => {
    const type = method.getString('type');
    if (type !== 'config') {
      throw new Error(
        `Unsupported argocd.appLocatorMethods[${m}].type "${type}"; only "config" is supported`,
      );
    }
    method.getConfigArray('instances').forEach((instance, i) => {
      const key = `argocd.appLocatorMethods[${m}].instances[${i}]`;
      const name = instance.getString('name');
      if (!NAME.test(name)) {
        throw new Error(`Invalid ${key}.name "${name}"`);
      }
      if (instances.some(existing => existing.name === name)) {
        throw new Error(
          `Duplicate Argo CD instance name "${name}" at ${key}.name`,
        );
      }
      const url = httpUrl(instance.getString('url'), `${key}.url`);
      const frontendUrl = instance.has('frontendUrl')
        ? httpUrl(instance.getString('frontendUrl'), `${key}.frontendUrl`)
        : url;
      const token = instance.getOptionalString('token');
      const username = instance.getOptionalString('username') ?? defaultUser;
      const password =
        instance.getOptionalString('password') ?? defaultPassword;
      let credentials: ArgoCdInstanceConfig['credentials'];
      if (token) {
        credentials = { kind: 'token', token };
      } else if (username && password) {
        credentials = { kind: 'password', username, password };
      } else {
        throw new Error(
          `Argo CD instance "${name}" at ${key} needs a token, or a username and password`,
        );
      }
      instances.push({ name, url, frontendUrl, credentials });
    });
  });

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
    if (!NAME.test(name)) throw new Error(`Invalid ${key}.name "${name}"`);
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
    instances,
    clusters,
    environments,
    environmentFallback,
    cacheSeconds: positiveNumber(config, 'gitops.cacheSeconds', 10),
    timeoutSeconds: positiveNumber(config, 'gitops.timeoutSeconds', 5),
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
