import { Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  FAST_TIMING,
  startTestSandbox,
} from '../testing/testSandbox';

/** The sandbox of the reconcile tests: from the examples, with their clocks. */
export function startReconcileSandbox() {
  // Automated sync waits, and canary steps last, long enough for polling to see them
  // on a loaded machine (a poll takes tens of milliseconds on an idle one).
  return startTestSandbox({
    timing: { ...FAST_TIMING, autoSyncDelayMs: 1500, rolloutStepMs: 4000 },
  });
}

/** An Application as the API answers it (with `refresh`, after a refresh), checked against the CRD. */
export async function getApplication(
  sandbox: Sandbox,
  instance: string,
  app: string,
  refresh = false,
) {
  const { status, body } = await argo(
    sandbox,
    instance,
    `/api/v1/applications/${app}${refresh ? '?refresh=normal' : ''}`,
  );
  expect(status).toBe(200);
  expect(contractErrors(c => c.applicationErrors(body))).toEqual([]);
  return body;
}
