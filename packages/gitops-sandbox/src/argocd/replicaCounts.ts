/**
 * Replica counts of a canary Rollout without traffic routing, as Argo Rollouts computes
 * them (utils/replicaset/canary.go): the weight is only approximated by how many pods
 * run the new version, so a step's `setWeight` of 20 on 3 replicas runs 1 canary pod.
 */

/** `25%` or `1` of `replicas`: percentages round up for a surge and down for unavailability. */
export function scaledValue(
  value: number | string | undefined,
  fallback: string,
  replicas: number,
  roundUp: boolean,
): number {
  if (typeof value === 'number') return value;
  // The API server refuses any other string; here it falls back to the default.
  const percent =
    /^(\d+)%$/.exec(value ?? fallback) ?? /^(\d+)%$/.exec(fallback)!;
  const scaled = (Number(percent[1]) * replicas) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/** The canary's maxSurge (default 25%, rounded up), as the Rollout controller resolves it. */
export function maxSurgeOf(
  canary: { maxSurge?: number | string },
  replicas: number,
) {
  return scaledValue(canary.maxSurge, '25%', replicas, true);
}

/**
 * The canary and stable counts whose canary share comes closest to `weight` (of
 * `maxWeight`), with at most one surge pod: Argo Rollouts'
 * approximateWeightedCanaryStableReplicaCounts. A weight strictly between 0 and the
 * maximum never rounds either side to 0 when 2 or more pods run.
 */
export function canaryReplicaCounts(
  replicas: number,
  weight: number,
  maxSurge: number,
  maxWeight = 100,
): { canary: number; stable: number } {
  if (replicas === 0) return { canary: 0, stable: 0 };
  const exact = (replicas * weight) / maxWeight;
  const ceil = Math.ceil(exact);
  const floor = Math.floor(exact);
  const tied = (total: number) => ((total * weight) / maxWeight) % 1 === 0.5;
  const zeroAllowed =
    weight === maxWeight || weight === 0 || (replicas === 1 && maxSurge === 0);

  const options: Array<{ canary: number; total: number }> = [];
  if (ceil < replicas || zeroAllowed)
    options.push({ canary: ceil, total: replicas });
  if (!tied(replicas) && (floor !== 0 || zeroAllowed)) {
    options.push({ canary: floor, total: replicas });
  }
  if (maxSurge > 0) {
    options.push({ canary: ceil, total: replicas + 1 });
    if (!tied(replicas + 1) && (floor !== 0 || zeroAllowed)) {
      options.push({ canary: floor, total: replicas + 1 });
    }
  }
  if (options.length === 0) return { canary: 0, stable: replicas };

  const delta = (o: { canary: number; total: number }) =>
    Math.abs((o.canary * maxWeight) / o.total - weight);
  // The first of equally close options wins, as in the controller's loop.
  const best = options.reduce((a, b) => (delta(b) < delta(a) ? b : a));
  return { canary: best.canary, stable: best.total - best.canary };
}
