/* eslint-disable no-console */
// The status scenario: our backend, @roadiehq/backstage-plugin-argo-cd-backend and the
// Backstage community's @backstage-community/plugin-argocd-backend side by side in one
// backend, against the same sandbox (two Argo CD instances, the examples plus 1,000
// generated services × 3 environments).
import {
  SERVICES,
  percentile,
  startBackend,
  startSandboxProcess,
  indexed,
  upstream,
  get,
  views,
  timed,
} from './statusSetup';

export type Result = {
  scenario: string;
  metric: string;
  value: string;
  target?: string;
};

const ms = (v: number) => `${v.toFixed(1)} ms`;

/**
 * `latencyMs` is added to every Argo CD answer: 0 is loopback; a remote Argo CD takes
 * tens of milliseconds per call.
 */
export async function statusScenario(latencyMs: number): Promise<Result[]> {
  const sandbox = await startSandboxProcess(7190, latencyMs);
  const upstreamNote = latencyMs
    ? `, Argo CD answers in +${latencyMs} ms`
    : ', loopback';
  const results: Result[] = [];
  const row = (
    scenario: string,
    metric: string,
    value: string,
    target?: string,
  ) => results.push({ scenario, metric, value, target });
  try {
    const view = {
      ours: views.ours,
      roadie: views.roadie,
      community: views.community(sandbox.info.instances.map(i => i.name)),
    };
    // Cold: a fresh backend (empty cache) per sample, its first view of the entity once
    // the backend is ready (our health says indexed: watches live, config read ahead),
    // as a user's first view after a start. Ours right at start (before the index) too.
    const cold = {
      ours: [] as number[],
      roadie: [] as number[],
      community: [] as number[],
    };
    const coldRequests = { ours: 0, roadie: 0, community: 0 };
    let coldGitRequests = 0;
    const atStart: number[] = [];
    const toIndexed: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const side of ['ours', 'roadie', 'community'] as const) {
        const backend = await startBackend(sandbox, 300);
        toIndexed.push(await indexed(backend.base));
        const before = await upstream(sandbox);
        const gitBefore = (await sandbox.sandboxInfo()).gitRequests;
        cold[side].push(...(await timed(1, () => view[side](backend.base))));
        coldRequests[side] = (await upstream(sandbox)) - before;
        if (side === 'ours')
          coldGitRequests =
            (await sandbox.sandboxInfo()).gitRequests - gitBefore;
        await backend.close();
      }
      const backend = await startBackend(sandbox, 300);
      atStart.push(...(await timed(1, () => view.ours(backend.base))));
      await indexed(backend.base);
      await backend.close();
    }

    const backend = await startBackend(sandbox, 300);
    try {
      // Warm views are measured once the read ahead is done, not beside it.
      await indexed(backend.base);
      await views.ours(backend.base);
      const warmBefore = await upstream(sandbox);
      const warmOurs = await timed(200, () => views.ours(backend.base));
      const warmOursRequests = ((await upstream(sandbox)) - warmBefore) / 200;
      const roadieBefore = await upstream(sandbox);
      const warmRoadie = await timed(50, () => views.roadie(backend.base));
      const warmRoadieRequests =
        ((await upstream(sandbox)) - roadieBefore) / 50;
      const communityBefore = await upstream(sandbox);
      const warmCommunity = await timed(50, () => view.community(backend.base));
      const warmCommunityRequests =
        ((await upstream(sandbox)) - communityBefore) / 50;
      // The floor: a route of the same backend that only checks the caller and answers
      // a small JSON (our /health). No view can be faster than this.
      const warmFloor = await timed(200, () =>
        get(`${backend.base}/api/gitops/health`),
      );

      const entity = `entity status (service-a: 3 environments, 2 instances${upstreamNote})`;
      row(
        entity,
        'upstream requests per view, cold — ours',
        String(coldRequests.ours),
        '0',
      );
      row(
        entity,
        'Git requests per view, cold — ours',
        String(coldGitRequests),
        '0',
      );
      row(
        entity,
        'upstream requests per view, cold — Roadie',
        String(coldRequests.roadie),
      );
      row(
        entity,
        'upstream requests per view, cold — community',
        String(coldRequests.community),
      );
      row(
        entity,
        'upstream requests per view, warm — ours',
        warmOursRequests.toFixed(2),
        '0',
      );
      row(
        entity,
        'upstream requests per view, warm — Roadie',
        warmRoadieRequests.toFixed(2),
      );
      row(
        entity,
        'upstream requests per view, warm — community',
        warmCommunityRequests.toFixed(2),
      );
      const sorted = (samples: number[]) => samples.sort((a, b) => a - b);
      const three = (p: number, a: number[], b: number[], c: number[]) =>
        [a, b, c].map(samples => ms(percentile(samples, p))).join(' / ');
      row(
        entity,
        'cold p50 (first view once started) — ours / Roadie / community',
        three(
          50,
          sorted(cold.ours),
          sorted(cold.roadie),
          sorted(cold.community),
        ),
      );
      row(
        entity,
        `ours: backend started → indexed (watches live, config of ${
          SERVICES + 2
        } services read ahead): p50 / max`,
        `${ms(percentile(sorted(toIndexed), 50))} / ${ms(
          Math.max(...toIndexed),
        )}`,
      );
      row(
        entity,
        'ours right at start, before the index is built: p50 / max',
        `${ms(percentile(sorted(atStart), 50))} / ${ms(Math.max(...atStart))}`,
      );
      row(
        entity,
        'warm p50 — ours / Roadie / community',
        three(50, warmOurs, warmRoadie, warmCommunity),
      );
      row(
        entity,
        'warm p95 — ours / Roadie / community',
        three(95, warmOurs, warmRoadie, warmCommunity),
        '≤ 5 ms and ≥ 10× faster',
      );
      for (const [peer, samples] of [
        ['Roadie', warmRoadie],
        ['community', warmCommunity],
      ] as const) {
        row(
          entity,
          `warm p95 speed-up over ${peer}`,
          `${(percentile(samples, 95) / percentile(warmOurs, 95)).toFixed(1)}×`,
          '≥ 10×',
        );
      }
      row(
        entity,
        'floor: GET /api/gitops/health on the same backend (auth check, small JSON) p50 / p95',
        `${ms(percentile(warmFloor, 50))} / ${ms(percentile(warmFloor, 95))}`,
      );
      row(
        entity,
        'warm p95 speed-up over Roadie of a view that cost only the floor (the most any view can reach)',
        `${(percentile(warmRoadie, 95) / percentile(warmFloor, 95)).toFixed(
          1,
        )}×`,
      );

      // Fleet: Roadie has no fleet view; ours answers every entity in one call.
      const fleetScenario = `fleet (${SERVICES} services × 3 environments, ${sandbox.info.instances.length} instances${upstreamNote})`;
      const fresh = await startBackend(sandbox, 300);
      global.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const fleetCold = await timed(1, () =>
        get(`${fresh.base}/api/gitops/fleet`),
      );
      // Warm as the entity views: once the read ahead is done, not beside it.
      await indexed(fresh.base);
      const fleetWarm = await timed(20, () =>
        get(`${fresh.base}/api/gitops/fleet`),
      );
      global.gc?.();
      const heapAfter = process.memoryUsage().heapUsed;
      await fresh.close();
      row(
        fleetScenario,
        'cold (one List per instance)',
        ms(fleetCold[0]),
        '≤ 2 s',
      );
      row(
        fleetScenario,
        'warm p50 / p95 (once indexed)',
        `${ms(percentile(fleetWarm, 50))} / ${ms(percentile(fleetWarm, 95))}`,
        '≤ 300 ms',
      );
      row(
        fleetScenario,
        'heap held after the fleet is cached',
        `${((heapAfter - heapBefore) / 2 ** 20).toFixed(1)} MiB${
          global.gc ? '' : ' (no --expose-gc: approximate)'
        }`,
      );
    } finally {
      await backend.close();
    }
  } finally {
    await sandbox.stop();
  }
  return results;
}
