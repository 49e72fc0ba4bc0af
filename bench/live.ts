// The live scenario: the backend's watch of Argo CD with signals to the browser, against
// the same backend with `gitops.watch: false` and a frontend that polls (no signals).
//
// 1. Upstream Argo CD requests per minute at steady state: 3,000 Applications (scale
//    mode, 1,000 services × 3 environments over two instances, plus the examples),
//    200 simulated open tabs, each on its own entity. Counted at the sandbox's Argo CD
//    (a counting proxy in front of each instance, liveSandbox.ts), by path.
// 2. Change → lane in Chromium: from the sandbox's Argo CD announcing that service-a's
//    dev sync finished with a new image, to the Deployments tab showing that image in
//    the dev lane; one page with signals (watch), one without (polling), same changes.
import { chromiumRows } from './liveChromium';
import { upstreamRows } from './liveUpstream';
import type { Result } from './status';

export async function liveScenario(): Promise<Result[]> {
  const only = process.env.BENCH_LIVE_PART;
  return [
    ...(only && only !== 'upstream' ? [] : await upstreamRows()),
    ...(only && only !== 'chromium' ? [] : await chromiumRows()),
  ];
}
