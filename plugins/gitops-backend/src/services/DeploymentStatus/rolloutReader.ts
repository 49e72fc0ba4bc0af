import { LoggerService } from '@backstage/backend-plugin-api';
import { RolloutProgress } from '@gitops-backstage/plugin-gitops-common';
import {
  ArgoApplication,
  GitopsLiveStateSource,
} from '@gitops-backstage/plugin-gitops-node';
import { UpstreamCache } from '../UpstreamCache';
import { rolloutProgress } from './liveState';

/** An Application's Ingresses read to find a preview's URL: more is not a preview. */
const MAX_INGRESSES = 5;

type AppRef = { name: string; namespace?: string };
type ResourceRef = Parameters<
  NonNullable<GitopsLiveStateSource['getResource']>
>[1];

/**
 * Where a blue/green preview answers: the first Ingress rule whose backend is the
 * preview Service (https when the Ingress has TLS for the host).
 */
export function previewUrlOf(
  ingresses: unknown[],
  previewService: string,
): string | undefined {
  for (const ingress of ingresses as any[]) {
    for (const rule of ingress?.spec?.rules ?? []) {
      const path = (rule?.http?.paths ?? []).find(
        (p: any) => p?.backend?.service?.name === previewService,
      );
      if (!path || typeof rule.host !== 'string' || !rule.host) continue;
      const tls = (ingress.spec.tls ?? []).some((t: any) =>
        (t?.hosts ?? []).includes(rule.host),
      );
      const suffix =
        typeof path.path === 'string' && path.path !== '/' ? path.path : '';
      return `${tls ? 'https' : 'http'}://${rule.host}${suffix}`;
    }
  }
  return undefined;
}

/**
 * An Application's Argo Rollouts Rollout, read from Argo CD (cached by the
 * Application's resourceVersion: a watched Application's version changes with its
 * resources' health). For a blue/green preview also the active images and the
 * preview's URL from the Application's Ingresses.
 */
export class RolloutReader {
  constructor(
    private readonly options: {
      cache: UpstreamCache;
      cacheSeconds: number;
      logger: LoggerService;
    },
  ) {}

  async read(
    source: GitopsLiveStateSource,
    app: ArgoApplication,
  ): Promise<RolloutProgress | undefined> {
    const resources = app.status?.resources ?? [];
    const resource = resources.find(
      r => r.kind === 'Rollout' && r.group === 'argoproj.io',
    );
    if (!resource || !source.getResource) return undefined;
    const appRef = {
      name: app.metadata.name,
      namespace: app.metadata.namespace,
    };
    const namespace = app.spec.destination.namespace ?? '';
    const rollout: any = await this.resource(source, app, appRef, {
      group: 'argoproj.io',
      version: resource.version ?? 'v1alpha1',
      kind: 'Rollout',
      namespace: resource.namespace ?? namespace,
      name: resource.name ?? '',
    });
    const progress = rollout && rolloutProgress(rollout);
    if (!progress?.previewImages) return progress;
    const preview = new Set(progress.previewImages);
    const activeImages = (app.status?.summary?.images ?? []).filter(
      image => !preview.has(image),
    );
    const previewService = rollout.spec.strategy.blueGreen.previewService;
    const ingresses =
      typeof previewService === 'string'
        ? await Promise.all(
            resources
              .filter(
                r => r.kind === 'Ingress' && r.group === 'networking.k8s.io',
              )
              .slice(0, MAX_INGRESSES)
              .map(r =>
                this.resource(source, app, appRef, {
                  group: 'networking.k8s.io',
                  version: r.version ?? 'v1',
                  kind: 'Ingress',
                  namespace: r.namespace ?? namespace,
                  name: r.name ?? '',
                }),
              ),
          )
        : [];
    const previewUrl = previewUrlOf(ingresses, previewService);
    return {
      ...progress,
      ...(activeImages.length > 0 && { activeImages }),
      ...(previewUrl && { previewUrl }),
    };
  }

  /** One live resource of the Application; undefined (logged) when Argo CD cannot say. */
  private async resource(
    source: GitopsLiveStateSource,
    app: ArgoApplication,
    appRef: AppRef,
    ref: ResourceRef,
  ): Promise<unknown> {
    const version = app.metadata.resourceVersion ?? '';
    const answer = await this.options.cache.get(
      `resource:${source.id}:${appRef.namespace}/${appRef.name}:${ref.kind}/${ref.namespace}/${ref.name}:${version}`,
      this.options.cacheSeconds * 1000,
      () => source.getResource!(appRef, ref),
    );
    if ('error' in answer) {
      this.options.logger.warn(
        `${ref.kind} ${ref.name} of ${appRef.name}: ${answer.error.message}`,
      );
      return undefined;
    }
    return answer.value;
  }
}
