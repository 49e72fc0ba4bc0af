import {
  AppState,
  Json,
  hasHealth,
  podHash,
  resourceKey,
  uidOf,
} from './model';
import {
  activeBeforePromotion,
  blocked,
  canarySplit,
  podManifest,
  podState,
  stuckDeployment,
} from './pods';
import { imagesOf } from './render';

// Argo CD's resource tree of an Application: its managed resources and, under the
// workloads, the ReplicaSets and Pods the cluster runs for them; and a Pod's live
// manifest. `version` is the instance's resourceVersion at the time of the answer.

/** Argo CD's resource tree: the managed resources, with ReplicaSets and Pods under workloads. */
export function resourceTree(state: AppState, version: string): Json {
  const live = state.live?.manifests ?? [];
  const nodes: Json[] = [];
  const createdAt =
    state.history[state.history.length - 1]?.deployedAt ?? state.createdAt;
  for (const m of live) {
    const ref = resourceKey(m, state);
    const uid = uidOf(state, ref);
    nodes.push({
      ...ref,
      uid,
      resourceVersion: version,
      createdAt,
      ...(hasHealth(m) && {
        health: {
          status: state.health.status,
          ...(state.health.message && { message: state.health.message }),
        },
      }),
    });
    for (const rs of replicaSetsOf(state, m)) {
      nodes.push(...replicaSetNodes(state, version, rs, ref, uid, createdAt));
    }
  }
  return { nodes };
}

/**
 * `status.summary.images`: Argo CD gathers them from the tree's nodes, so while an
 * update runs (a canary's stable pods, a blue/green's active ones, a Deployment stuck
 * on its new pods) the old ReplicaSet's images are there too. Every template's own
 * images besides, running or not (a CronJob's between runs).
 */
export function summaryImages(state: AppState): string[] {
  const live = state.live?.manifests ?? [];
  const images = new Set(imagesOf(live));
  for (const m of live) {
    for (const { template, replicas } of replicaSetsOf(state, m)) {
      if (replicas === 0) continue;
      for (const image of imagesOf([template])) images.add(image);
    }
  }
  return [...images].sort();
}

/** A ReplicaSet a workload runs: the template it was made from and its pod count. */
interface ReplicaSetOf {
  template: Json;
  replicas: number;
}

/**
 * The ReplicaSets of a workload: the current one, and beside it the active one of a
 * blue/green Rollout not yet promoted, or the old one of a Deployment whose new pods
 * cannot start (the rolling update stops with both).
 */
function replicaSetsOf(state: AppState, m: Json): ReplicaSetOf[] {
  if (!m.spec?.template?.spec) return [];
  const replicas = m.spec.replicas ?? 1;
  const active =
    m.kind === 'Rollout' && m.spec.strategy?.blueGreen
      ? activeBeforePromotion(state, m)
      : undefined;
  if (active) {
    return [
      { template: active, replicas: active.spec.replicas ?? 1 },
      // An aborted update scales the preview down.
      { template: m, replicas: state.rolloutAborted ? 0 : replicas },
    ];
  }
  if (m.kind === 'Rollout' && m.spec.strategy?.canary) {
    const split = canarySplit(state, m);
    return [
      ...(split.stable
        ? [{ template: split.stable, replicas: split.stableReplicas }]
        : []),
      { template: m, replicas: split.canaryReplicas },
    ];
  }
  if (m.kind === 'Deployment' && blocked(state, m)) {
    const { updated, old, oldReplicas } = stuckDeployment(state, m);
    return [
      ...(old ? [{ template: old, replicas: oldReplicas }] : []),
      { template: m, replicas: updated },
    ];
  }
  return [{ template: m, replicas }];
}

const replicaSetRef = (namespace: string, name: string, template: Json) => ({
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  namespace,
  name: `${name}-${podHash(template)}`,
});

/** A workload's ReplicaSet of one pod template, and its Pods. */
function replicaSetNodes(
  state: AppState,
  version: string,
  { template, replicas }: ReplicaSetOf,
  ref: Json,
  uid: string,
  createdAt: string,
): Json[] {
  const nodes: Json[] = [];
  const podSpec = template.spec.template.spec;
  const pod = podState(state, podSpec);
  const rs = replicaSetRef(ref.namespace, ref.name, template);
  const rsUid = uidOf(state, rs);
  let health: Json = { status: 'Healthy' };
  if (state.health.status === 'Degraded' && state.faults.degraded) {
    health = { status: 'Degraded' };
  } else if (pod.health.status !== 'Healthy') {
    health = {
      status: 'Progressing',
      message: `Waiting for rollout to finish: 0 out of ${replicas} new replicas are available...`,
    };
  }
  nodes.push({
    ...rs,
    uid: rsUid,
    parentRefs: [{ ...ref, uid }],
    info: [{ name: 'Revision', value: `Rev:${state.history.length}` }],
    health,
    resourceVersion: version,
    createdAt,
  });
  for (let i = 0; i < replicas; i++) {
    const podRef = {
      group: '',
      version: 'v1',
      kind: 'Pod',
      namespace: ref.namespace,
      name: `${rs.name}-${i}`,
    };
    nodes.push({
      ...podRef,
      uid: uidOf(state, podRef),
      parentRefs: [{ ...rs, uid: rsUid }],
      images: podSpec.containers.map((c: Json) => c.image),
      info: [
        { name: 'Status Reason', value: pod.reason },
        { name: 'Containers', value: `${pod.ready}/${pod.total}` },
      ],
      health: pod.health,
      resourceVersion: version,
      createdAt,
    });
  }
  return nodes;
}

/** A Pod of the resource tree as its live manifest, found by name. */
export function livePod(
  state: AppState,
  query: { name: string; namespace?: string },
): Json | undefined {
  const createdAt =
    state.history[state.history.length - 1]?.deployedAt ?? state.createdAt;
  for (const m of state.live?.manifests ?? []) {
    const ref = resourceKey(m, state);
    if (query.namespace && ref.namespace !== query.namespace) continue;
    for (const { template, replicas } of replicaSetsOf(state, m)) {
      const rs = replicaSetRef(ref.namespace, ref.name, template);
      const index = Number(query.name.slice(rs.name.length + 1));
      if (
        !query.name.startsWith(`${rs.name}-`) ||
        !Number.isInteger(index) ||
        index < 0 ||
        index >= replicas
      ) {
        continue;
      }
      const podRef = {
        kind: 'Pod',
        namespace: ref.namespace,
        name: query.name,
      };
      const spec = template.spec.template;
      return podManifest(
        state,
        spec.spec,
        { ...spec.metadata?.labels, 'pod-template-hash': podHash(template) },
        {
          name: query.name,
          namespace: ref.namespace,
          uid: uidOf(state, podRef),
          creationTimestamp: createdAt,
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: rs.name,
              uid: uidOf(state, rs),
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        createdAt,
      );
    }
  }
  return undefined;
}
