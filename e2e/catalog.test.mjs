import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { launchBrowser, OUTPUT_DIR, signIn, startPortal } from './portal.mjs';

let portal;
let browser;
let page;

before(async () => {
  portal = await startPortal();
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(60_000);
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
