import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { AxeBuilder } from '@axe-core/playwright';
import {
  APP_URL,
  cloneSandboxRepo,
  eventually,
  launchBrowser,
  OUTPUT_DIR,
  pushClone,
  pushImage,
  setInstanceFault,
  signIn,
  startPortal,
} from './portal.mjs';

let portal;
let browser;
let page;

before(async () => {
  portal = await startPortal();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // Roomy for a loaded 2-core machine; every wait ends as soon as its element shows.
  page.setDefaultTimeout(120_000);
});

after(async () => {
  await browser?.close();
  await portal?.stop();
});

test('the catalog lists the example services', async () => {
  await signIn(page);
  const table = page.getByRole('table');
  for (const name of ['service-a', 'service-b']) {
    await table.getByRole('link', { name, exact: true }).waitFor();
  }
  await page.screenshot({ path: `${OUTPUT_DIR}/catalog.png` });
});

test("service-a's entity page renders with its owner, system and the Deployments tab", async () => {
  await page.getByRole('link', { name: 'service-a', exact: true }).click();
  await page.waitForURL(/\/catalog\/default\/component\/service-a/);
  await page.getByRole('heading', { name: 'service-a' }).first().waitFor();
  await page.getByRole('link', { name: 'team-checkout' }).first().waitFor();
  await page.getByRole('link', { name: 'checkout' }).first().waitFor();
  // Entity page tabs are links in the new frontend system.
  const deployments = page.getByRole('link', {
    name: 'Deployments',
    exact: true,
  });
  await deployments.waitFor();
  await page.screenshot({ path: `${OUTPUT_DIR}/entity-page.png` });
  await deployments.click();
  await page.waitForURL(/\/deployments$/);
  // The tab reads the entity's annotations: the selector the example carries.
  await page.getByText('app.kubernetes.io/name=service-a').first().waitFor();
  await page.screenshot({ path: `${OUTPUT_DIR}/deployments-tab.png` });
  assert.match(
    page.url(),
    /\/catalog\/default\/component\/service-a\/deployments$/,
  );
});

test('the scaffolder lists the gitops:values:set action', async () => {
  await signIn(page, '/create/actions');
  await page.getByText('gitops:values:set', { exact: true }).waitFor();
  await page.getByText(/^Sets keys in a YAML file of the workspace/).waitFor();
  await page.screenshot({ path: `${OUTPUT_DIR}/scaffolder-actions.png` });
});

test("service-a's Deployments tab shows, per environment, the tag its config repo pins", async () => {
  const config = await cloneSandboxRepo('service-a-config');
  await signIn(page, '/catalog/default/component/service-a/deployments');
  for (const env of ['dev', 'staging', 'prod']) {
    const values = parse(
      await readFile(path.join(config, `chart/values-${env}.yaml`), 'utf8'),
    );
    const lane = page.getByTestId(`lane-${env}`);
    await lane
      .getByTestId('running-version')
      .getByText(values.image.tag, { exact: true })
      .waitFor();
    await lane
      .getByTestId('desired-version')
      .getByText(values.image.tag, { exact: true })
      .waitFor();
    await lane.getByTestId('sync-status').getByText('Synced').waitFor();
  }
  await page.screenshot({
    path: `${OUTPUT_DIR}/deployments-tab.png`,
    fullPage: true,
  });
});

test("service-a's overview shows one line per environment", async () => {
  await signIn(page, '/catalog/default/component/service-a');
  for (const env of ['dev', 'staging', 'prod']) {
    await page.getByTestId(`card-${env}`).getByText('Synced').waitFor();
  }
  await page.screenshot({
    path: `${OUTPUT_DIR}/overview-card.png`,
    fullPage: true,
  });
});

test('one failing Argo CD instance leaves the other environments and names its error', async () => {
  await signIn(page, '/catalog/default/component/service-a/deployments');
  // Down: its watch breaks, so views ask it and show why it does not answer.
  await setInstanceFault('prod', 'refuse');
  try {
    await eventually(page, async () => {
      await page
        .getByTestId('lane-prod')
        .getByTestId('instance-error')
        .getByText(/prod: unreachable/)
        .waitFor({ timeout: 10_000 });
    });
    await page.getByTestId('lane-dev').getByTestId('running-version').waitFor();
    await page
      .getByTestId('lane-staging')
      .getByTestId('running-version')
      .waitFor();
    await page.screenshot({
      path: `${OUTPUT_DIR}/instance-fault.png`,
      fullPage: true,
    });
  } finally {
    await setInstanceFault('prod', null);
  }
});

test('the fleet page lists the services and filters the out-of-sync ones', async () => {
  // A release waiting in Git: prod syncs by hand, so service-b's prod turns OutOfSync.
  // CI pushed its image first: the sandbox cluster pulls every image it runs.
  await pushImage('registry.example.com/checkout/service-b:v1.0.0');
  const config = await cloneSandboxRepo('service-b-config');
  const file = path.join(config, 'chart/values-prod.yaml');
  await writeFile(
    file,
    (await readFile(file, 'utf8')).replace(/tag: .*/, "tag: 'v1.0.0'"),
  );
  await pushClone(config, 'release service-b v1.0.0 to prod');

  await signIn(page, '/gitops');
  await page.getByRole('link', { name: 'service-a', exact: true }).waitFor();
  await eventually(page, async () => {
    const row = page.getByRole('row').filter({
      has: page.getByRole('link', { name: 'service-b', exact: true }),
    });
    await row
      .getByTestId('fleet-prod')
      .filter({ hasText: 'v0.9.2' })
      .waitFor({ timeout: 10_000 });
    await row.getByTitle(/^OutOfSync/).waitFor({ timeout: 10_000 });
  });
  await page.getByRole('checkbox', { name: 'Out of sync' }).check();
  await page.getByText('1 of 2 services').waitFor();
  await page.getByRole('link', { name: 'service-b', exact: true }).waitFor();
  assert.equal(
    await page.getByRole('link', { name: 'service-a', exact: true }).count(),
    0,
  );
  await page.screenshot({ path: `${OUTPUT_DIR}/fleet.png`, fullPage: true });
});

test("an owner syncs service-b's prod from its lane, and the lane then runs the release", async () => {
  // The guest is in team-checkout, which owns service-b: the policy allows the sync.
  await signIn(page, '/catalog/default/component/service-b/deployments');
  const prod = page.getByTestId('lane-prod');
  await prod
    .getByTestId('desired-version')
    .getByText('v1.0.0', { exact: true })
    .waitFor();
  await prod.getByRole('button', { name: 'Sync' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Sync' }).click();
  await prod
    .getByTestId('action-outcome')
    .getByText(/Sync: operation/)
    .waitFor();
  await eventually(page, async () => {
    await page
      .getByTestId('lane-prod')
      .getByTestId('running-version')
      .getByText('v1.0.0', { exact: true })
      .waitFor({ timeout: 10_000 });
  });
  await page.screenshot({
    path: `${OUTPUT_DIR}/after-sync.png`,
    fullPage: true,
  });
});

test("an owner promotes service-a's dev version to staging, and staging deploys it", async () => {
  await signIn(page, '/catalog/default/component/service-a/deployments');
  const step = page.getByTestId('promotion-step').first();
  await step.getByText('promote: 1a2b3c4 → 4c5d6e7').waitFor();
  // dev's image was built four app-repository commits after staging's (their labels).
  await page
    .getByTestId('lane-dev')
    .getByTestId('commits-ahead')
    .getByText('4 commits ahead of staging')
    .waitFor();
  await step.getByRole('button', { name: 'Promote' }).click();
  const dialog = page.getByRole('dialog');
  await dialog
    .getByTestId('promotion-summary')
    .getByText(/staging moves from 1a2b3c4 to 4c5d6e7/)
    .waitFor();
  // What ships: the commits between the two versions, newest first, with their pull requests.
  await dialog
    .getByTestId('change-log-headline')
    .getByText('staging gets these 4 changes')
    .waitFor();
  await dialog
    .getByTestId('change-log-commit')
    .first()
    .getByText("Return the build's commit in /version (#14)")
    .waitFor();
  await dialog.getByText('Add a readiness probe endpoint').first().waitFor();
  // Every gate passed, and helm's rendered manifests show the new image.
  await dialog
    .getByTestId('promotion-gates')
    .getByText('source healthy')
    .waitFor();
  await dialog
    .getByTestId('promotion-rendered-diff')
    .getByText(
      /\+\s+image: "registry.example.com\/checkout\/service-a:4c5d6e7"/,
    )
    .waitFor();
  await page.screenshot({ path: `${OUTPUT_DIR}/promote-dialog.png` });
  await dialog.getByRole('button', { name: 'Promote 4c5d6e7' }).click();
  await dialog
    .getByTestId('promotion-result')
    .getByText(/Committed/)
    .waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();
  // staging syncs automatically: it soon runs the promoted version.
  await eventually(page, async () => {
    await page
      .getByTestId('lane-staging')
      .getByTestId('running-version')
      .getByText('4c5d6e7', { exact: true })
      .waitFor({ timeout: 10_000 });
  });
  // The promotion is in staging's history, from the audit trail.
  await page.getByRole('tab', { name: 'staging' }).click();
  await page
    .getByRole('table', { name: 'promotions and rollbacks of staging' })
    .getByTestId('promotion-row')
    .getByText(/1a2b3c4 → 4c5d6e7 \(from dev\)/)
    .waitFor();

  // Rolling staging back: it syncs automatically, so the rollback goes through Git (a commit of the
  // earlier deployment's version here), and staging runs 1a2b3c4 again.
  await page
    .getByTestId('history-row')
    .last()
    .getByRole('button', { name: 'Roll back' })
    .click();
  await page
    .getByRole('dialog')
    .getByText(/the rollback goes through Git/)
    .waitFor();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: 'Roll back' })
    .click();
  await page
    .getByTestId('action-outcome')
    .getByText(/Roll back: committed [0-9a-f]{7}, staging says 1a2b3c4 again/)
    .waitFor();
  await eventually(page, async () => {
    await page
      .getByTestId('lane-staging')
      .getByTestId('running-version')
      .getByText('1a2b3c4', { exact: true })
      .waitFor({ timeout: 10_000 });
  });
  // (eventually reloads the page: the history shows dev again.)
  await page.getByRole('tab', { name: 'staging' }).click();
  await page
    .getByRole('table', { name: 'promotions and rollbacks of staging' })
    .getByText(/4c5d6e7 → 1a2b3c4 \(rollback\)/)
    .waitFor();
});

test("service-a's delivery performance: the DORA figures of staging after the promotion and the rollback, each with its band", async () => {
  await signIn(page, '/catalog/default/component/service-a/deployments');
  const card = page.getByTestId('gitops-dora-card');
  await card.getByText(/DORA figures of prod over 30 days/).waitFor();
  await card.getByLabel('DORA environment').selectOption('staging');
  // Recorded as Argo CD's history showed them: the first deployment, the promotion, and
  // the rollback's; the rollback made the promotion a failed change.
  await eventually(page, async () => {
    const staging = page.getByTestId('gitops-dora-card');
    if (!(await staging.getByText(/DORA figures of staging/).isVisible())) {
      await staging.getByLabel('DORA environment').selectOption('staging');
    }
    await staging
      .getByTestId('dora-changeFailureRate')
      .getByText('1 of 3 deployments failed')
      .waitFor({ timeout: 10_000 });
  });
  const figures = page.getByTestId('gitops-dora-card');
  await figures.getByText('3 deployments in 30 days').waitFor();
  // The promotion shipped dev's four commits (the change log from 1a2b3c4 to 4c5d6e7).
  await figures
    .getByTestId('dora-leadTime')
    .getByText(/4 commits$/)
    .waitFor();
  // The rollback's deployment, Healthy, restored the failed one.
  await figures
    .getByTestId('dora-timeToRestore')
    .getByText(/1 restored, 0 open/)
    .waitFor();
  await figures
    .getByTestId('dora-changeFailureRate')
    .getByText(/^Low$/)
    .waitFor();
  for (const key of ['deploymentFrequency', 'changeFailureRate']) {
    const band = await figures
      .getByTestId(`dora-${key}`)
      .locator('[data-band]')
      .getAttribute('data-band');
    assert.ok(
      ['elite', 'high', 'medium', 'low'].includes(band),
      `${key}: ${band}`,
    );
  }
  await figures.scrollIntoViewIfNeeded();
  await figures.screenshot({ path: `${OUTPUT_DIR}/dora-card.png` });
});

test('a new user creates service-c from the gitops-service template, and its Deployments tab shows dev, staging and prod with no version yet', async () => {
  await signIn(page, '/create');
  await page
    .getByText('GitOps service (app + config repositories, Helm, Argo CD)')
    .waitFor();
  await page
    .locator('.MuiCard-root')
    .filter({ hasText: 'GitOps service (app + config' })
    .getByRole('button', { name: 'Choose' })
    .click();
  await page.getByLabel('Name').first().fill('service-c');
  // The owner picker lists the catalog's groups and users by title.
  await page.getByLabel('Owner').first().click();
  await page.getByRole('option', { name: 'Team Checkout' }).click();
  await page.getByRole('button', { name: 'Next' }).click();
  // The defaults: dev and staging on the main Argo CD, prod on prod; the sandbox's Git.
  await page
    .getByRole('heading', {
      name: 'Environments, in promotion order',
      exact: true,
    })
    .waitFor();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByText('Where to create the repositories').waitFor();
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByText('group:default/team-checkout').waitFor();
  await page.getByRole('button', { name: 'Create' }).click();
  // The task runs: plan, files, chart validation, both repositories, Argo CD, catalog.
  await page
    .getByRole('link', { name: 'Open in the catalog' })
    .waitFor({ timeout: 300_000 });
  await page.screenshot({ path: `${OUTPUT_DIR}/scaffolder-task.png` });

  await eventually(page, async () => {
    await page.goto(
      new URL('/catalog/default/component/service-c/deployments', APP_URL).href,
    );
    for (const env of ['dev', 'staging', 'prod']) {
      await page.getByTestId(`lane-${env}`).waitFor({ timeout: 10_000 });
    }
    // dev and staging sync by themselves, Healthy with no version yet: nothing runs
    // until CI's first build of main. prod waits for someone to press Sync.
    const dev = page.getByTestId('lane-dev');
    await dev
      .getByTestId('no-version-yet')
      .getByText('No version yet')
      .waitFor({ timeout: 10_000 });
    await dev
      .getByTestId('health-status')
      .getByText('Healthy')
      .waitFor({ timeout: 10_000 });
  });
  await page.screenshot({
    path: `${OUTPUT_DIR}/service-c-deployments.png`,
    fullPage: true,
  });
});

test('a lane follows Argo CD as it changes, without a reload (signals)', async () => {
  await signIn(page, '/catalog/default/component/service-a/deployments');
  const dev = page.getByTestId('lane-dev');
  await dev.getByTestId('running-version').waitFor();
  // CI builds an image and bumps dev's tag; dev syncs itself.
  await pushImage('registry.example.com/checkout/service-a:5e5e5e5');
  const clone = await cloneSandboxRepo('service-a-config');
  const file = path.join(clone, 'chart/values-dev.yaml');
  await writeFile(
    file,
    (await readFile(file, 'utf8')).replace(/tag: .*/, 'tag: "5e5e5e5"'),
  );
  await pushClone(clone, 'dev gets 5e5e5e5');
  // No reload: with signals the tab does not poll (it reloads every 5 minutes at
  // most), so only the backend's signal can bring the change within this wait.
  await dev
    .getByTestId('running-version')
    .getByText('5e5e5e5', { exact: true })
    .waitFor({ timeout: 180_000 });
  await page.screenshot({ path: `${OUTPUT_DIR}/live-lane.png` });
});

test("an owner aborts service-b's paused canary in dev from its lane, retries it and promotes it fully", async () => {
  // CI bumps dev to a new image whose canary waits at a pause for someone.
  await pushImage('registry.example.com/checkout/service-b:cafe001');
  const clone = await cloneSandboxRepo('service-b-config');
  const file = path.join(clone, 'chart/values-dev.yaml');
  await writeFile(
    file,
    (
      await readFile(file, 'utf8')
    )
      .replace(/tag: .*/, 'tag: "cafe001"')
      .replace('replicaCount: 1', 'replicaCount: 4')
      .replace(
        'rollout:\n  enabled: true',
        'rollout:\n  enabled: true\n  steps:\n    - setWeight: 50\n    - pause: {}',
      ),
  );
  await pushClone(clone, 'dev gets cafe001 as a canary that waits');
  await signIn(page, '/catalog/default/component/service-b/deployments');
  const dev = page.getByTestId('lane-dev');
  await dev
    .getByText(/Canary Paused: step 1 of 2/)
    .waitFor({ timeout: 180_000 });
  const controls = dev.getByTestId('rollout-actions');
  await controls.getByRole('button', { name: 'Abort' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Abort' }).click();
  await dev.getByTestId('rollout-aborted').waitFor({ timeout: 180_000 });
  await dev
    .getByText(/RolloutAborted: Rollout aborted update/)
    .first()
    .waitFor();
  await page.screenshot({ path: `${OUTPUT_DIR}/rollout-aborted.png` });

  await controls.getByRole('button', { name: 'Retry' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
  await dev
    .getByText(/Canary Paused: step 1 of 2/)
    .waitFor({ timeout: 180_000 });
  await controls.getByRole('button', { name: 'Promote full' }).click();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: 'Promote full' })
    .click();
  await dev
    .getByTestId('running-version')
    .getByText('cafe001', { exact: true })
    .waitFor({ timeout: 180_000 });
  await dev
    .getByText(/Canary Healthy: step 2 of 2/)
    .waitFor({ timeout: 180_000 });
  assert.equal(await dev.getByTestId('rollout-actions').count(), 0);
});

test("an owner promotes service-b's blue/green preview in staging from its lane, and the active selector switches to it", async () => {
  // CI bumps staging to a new image that waits behind the preview Service and host.
  await pushImage('registry.example.com/checkout/service-b:b1e0b1e');
  const clone = await cloneSandboxRepo('service-b-config');
  const file = path.join(clone, 'chart/values-staging.yaml');
  await writeFile(
    file,
    `${(await readFile(file, 'utf8'))
      .replace(/tag: .*/, "tag: 'b1e0b1e'")
      .replace(
        'rollout:\n  enabled: true',
        'rollout:\n  enabled: true\n  strategy: blueGreen',
      )}ingress:\n  previewHost: service-b-preview.staging.example.com\n`,
  );
  await pushClone(clone, 'staging gets b1e0b1e as a blue/green preview');
  await signIn(page, '/catalog/default/component/service-b/deployments');
  const staging = page.getByTestId('lane-staging');
  const preview = staging.getByTestId('rollout-preview');
  await preview
    .getByText('b1e0b1e', { exact: true })
    .waitFor({ timeout: 180_000 });
  await staging
    .getByText(/Blue\/green Paused \(paused: BlueGreenPause\)/)
    .waitFor();
  await preview
    .getByRole('link', { name: /service-b-preview\.staging\.example\.com/ })
    .waitFor({ timeout: 60_000 });
  await staging
    .getByTestId('rollout-active')
    .getByText('9f8e7d6', { exact: true })
    .waitFor();
  const [, previewSelector] = (await preview.textContent()).match(
    /Preview \(([^)]+)\)/,
  );
  await staging.scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${OUTPUT_DIR}/bluegreen-preview.png` });

  await staging
    .getByTestId('rollout-actions')
    .getByRole('button', { name: 'Promote', exact: true })
    .click();
  await page
    .getByRole('dialog')
    .getByRole('button', { name: 'Promote', exact: true })
    .click();
  await staging
    .getByText(`No preview: the active ReplicaSet (${previewSelector})`, {
      exact: false,
    })
    .waitFor({ timeout: 180_000 });
  await staging
    .getByTestId('running-version')
    .getByText('b1e0b1e', { exact: true })
    .waitFor({ timeout: 180_000 });
  assert.equal(
    await staging
      .getByTestId('running-version')
      .getByText('9f8e7d6', { exact: true })
      .count(),
    0,
  );
});

/**
 * axe-core over our own part of a page (`root`, the sidebar and header left out): its
 * serious and critical violations, each with its rule, help and the nodes it names.
 */
async function seriousViolations(root) {
  // Legacy mode: axe.run in the page itself. The default finishes in a new page of the
  // same context, which a page from browser.newPage() cannot open (no cross-origin
  // frames here, which is all legacy mode leaves out).
  const { violations } = await new AxeBuilder({ page })
    .include(root)
    .setLegacyMode()
    .analyze();
  return violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(
      v =>
        `${root}: ${v.id} (${v.impact}): ${v.help}\n${v.nodes
          .map(n => `    ${n.target.join(' ')}`)
          .join('\n')}`,
    );
}

test("axe finds no serious or critical violation in service-a's Deployments tab and Promote dialog, the fleet page and the overview card, light and dark", async () => {
  const found = [];
  try {
    for (const theme of ['light', 'dark']) {
      const tab = '/catalog/default/component/service-a/deployments';
      // Signed in first (the tab shows only then): the theme is stored for the app's origin.
      await signIn(page, tab);
      await page.getByTestId('gitops-deployments').waitFor();
      await page.evaluate(id => localStorage.setItem('theme', id), theme);
      await signIn(page, tab);
      for (const env of ['dev', 'staging', 'prod']) {
        await page
          .getByTestId(`lane-${env}`)
          .getByTestId('running-version')
          .waitFor();
      }
      // The theme took: a lane is on the theme's paper (#FFFFFF or #424242).
      assert.equal(
        await page
          .getByTestId('lane-dev')
          .evaluate(e => getComputedStyle(e).backgroundColor),
        theme === 'dark' ? 'rgb(66, 66, 66)' : 'rgb(255, 255, 255)',
      );
      await page.getByTestId('history-row').first().waitFor();
      found.push(
        ...(await seriousViolations('[data-testid="gitops-deployments"]')),
      );

      // The Promote dialog with its coloured diffs: dev is ahead of staging.
      await page
        .getByTestId('promotion-step')
        .first()
        .getByRole('button', { name: 'Promote' })
        .click();
      const dialog = page.getByRole('dialog');
      await dialog.getByTestId('promotion-diff').waitFor();
      await dialog.locator('[data-diff="added"]').first().waitFor();
      await page.screenshot({
        path: `${OUTPUT_DIR}/promote-dialog-${theme}.png`,
      });
      found.push(...(await seriousViolations('[role="dialog"]')));
      await dialog.getByRole('button', { name: 'Cancel' }).click();
      await dialog.waitFor({ state: 'hidden' });

      await signIn(page, '/gitops');
      await page
        .getByRole('link', { name: 'service-a', exact: true })
        .waitFor();
      found.push(...(await seriousViolations('[data-testid="gitops-fleet"]')));

      await signIn(page, '/catalog/default/component/service-a');
      await page.getByTestId('card-prod').waitFor();
      found.push(
        ...(await seriousViolations('[data-testid="gitops-deployments-card"]')),
      );
    }
  } finally {
    await page.evaluate(() => localStorage.removeItem('theme'));
  }
  assert.deepEqual(found, [], `axe:\n${found.join('\n')}`);
});

test("service-a's lanes share the width equally at 1400 px and stack inside the screen at 900 px", async () => {
  const lanes = () =>
    Promise.all(
      ['dev', 'staging', 'prod'].map(env =>
        page.getByTestId(`lane-${env}`).boundingBox(),
      ),
    );
  try {
    await signIn(page, '/catalog/default/component/service-a/deployments');
    await page.locator('[data-testid="pipeline"][data-layout="row"]').waitFor();
    await page
      .getByTestId('lane-prod')
      .getByTestId('running-version')
      .waitFor();
    const wide = await lanes();
    for (const box of wide) {
      assert.ok(
        Math.abs(box.width - wide[0].width) <= 2,
        `lane widths ${wide.map(b => b.width)}`,
      );
      assert.ok(box.x + box.width <= 1400, `lane ends at ${box.x + box.width}`);
    }

    await page.setViewportSize({ width: 900, height: 900 });
    await page
      .locator('[data-testid="pipeline"][data-layout="stacked"]')
      .waitFor();
    const boxes = await lanes();
    const promote = page
      .getByTestId('promotion-step')
      .getByRole('button', { name: 'Promote' });
    assert.ok((await promote.count()) > 0, 'no Promote button to check');
    for (const button of await promote.all()) {
      boxes.push(await button.boundingBox());
    }
    for (const box of boxes) {
      assert.ok(
        box.x >= 0 && box.x + box.width <= 900,
        `ends at ${box.x + box.width}`,
      );
    }
    // Top to bottom: dev, then staging, then prod.
    assert.ok(boxes[0].y < boxes[1].y && boxes[1].y < boxes[2].y);
    await page.screenshot({
      path: `${OUTPUT_DIR}/lanes-900.png`,
      fullPage: true,
    });
  } finally {
    await page.setViewportSize({ width: 1400, height: 900 });
  }
});
