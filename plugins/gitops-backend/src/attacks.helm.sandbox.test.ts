import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  argo,
  eventually,
  helmBinary,
  pushChange,
  Sandbox,
  setTag,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import knexFactory, { Knex } from 'knex';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import request from 'supertest';
import { parseDocument } from 'yaml';
import { gitopsPlugin } from './plugin';
import {
  component,
  gitIn,
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

jest.setTimeout(180_000);

/**
 * A config repository pushes an Argo CD Application whose helm settings attack the
 * backend that renders the promotion preview (the Promote dialog's dry run): a release
 * name that is a helm flag, values files outside the clone. helm runs behind a wrapper
 * that logs every call; a post-renderer script leaves a marker if it ever runs.
 */
describe('helm attacks through an Application, against the promotion preview (sandbox, real helm)', () => {
  let sandbox: Sandbox;
  let dir: string;
  let server: any;
  let stopBackend: () => Promise<void>;
  let db: Knex;
  let log: string;
  let marker: string;
  let postRenderer: string;

  beforeAll(async () => {
    dir = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-helm-attacks-')),
    );
    log = path.join(dir, 'helm-calls.log');
    marker = path.join(dir, 'post-renderer-ran');
    postRenderer = path.join(dir, 'post-renderer.sh');
    await fs.writeFile(postRenderer, `#!/bin/sh\ntouch '${marker}'\ncat\n`, {
      mode: 0o755,
    });
    const wrapper = path.join(dir, 'helm-wrapper.sh');
    await fs.writeFile(
      wrapper,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> '${log}'`,
        `exec '${await helmBinary()}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );

    sandbox = await startTestSandbox({ dir: path.join(dir, 'sandbox') });
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
    });
    const backend = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({
          entities: [
            component('service-b', {
              'argocd/app-selector': 'app.kubernetes.io/name=service-b',
            }),
          ],
        }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({
          data: sandboxBackendConfig(sandbox, {
            helm: { command: wrapper },
          }),
        }),
        mockServices.database.factory({ knex: db }),
      ],
    });
    server = backend.server;
    stopBackend = () => backend.stop();
    await settled(sandbox);
    // dev moves ahead of staging, so a preview of dev → staging has something to render.
    // CI pushes the image before it bumps the tag.
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-b:c0ffee3',
    );
    await pushChange(
      sandbox,
      'service-b-config',
      { 'chart/values-dev.yaml': setTag('c0ffee3') },
      'ci: c0ffee3',
    );
  });

  afterAll(async () => {
    await stopBackend?.();
    await sandbox?.stop();
    await db?.destroy();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await fs.rm(log, { force: true });
  });

  const head = async () =>
    (
      await gitIn(
        path.join(dir, 'sandbox'),
        'service-b-config',
        'rev-parse',
        'main',
      )
    ).trim();
  const helmCalls = async () =>
    (await fs.readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean);
  const staging = async () =>
    (await argo(sandbox, 'main', '/api/v1/applications/service-b-staging'))
      .body;
  const preview = () =>
    request(server)
      .post('/api/gitops/entities/component/default/service-b/promotions')
      .send({ from: 'dev', to: 'staging', dryRun: true });

  /** Pushes staging's Application with `helm` changed; waits until Argo CD has it. */
  async function pushStagingHelm(helm: Record<string, unknown>) {
    await pushChange(
      sandbox,
      'service-b-config',
      {
        'argocd/staging.yaml': old => {
          const doc = parseDocument(old!);
          for (const [key, value] of Object.entries(helm)) {
            doc.setIn(['spec', 'source', 'helm', key], value);
          }
          return doc.toString();
        },
      },
      'hostile helm settings',
    );
    return eventually(async () => {
      const app = await staging();
      const now = app?.spec?.source?.helm ?? {};
      return Object.entries(helm).every(([key, value]) =>
        isDeepStrictEqual(now[key], value),
      )
        ? app
        : undefined;
    }, 'Argo CD to read the pushed Application');
  }

  /**
   * The preview's note: it answers 200 with the values diff and a note instead of a
   * rendered diff, helm never started, and nothing changed.
   */
  async function refusedPreviewNote(): Promise<string> {
    const before = await head();
    const appBefore = await staging();
    const res = await preview();

    expect(res.status).toBe(200);
    expect(specErrors('PromotionResult', res.body)).toEqual([]);
    expect(res.body).toMatchObject({ dryRun: true, version: 'c0ffee3' });
    expect(res.body.diff).toContain("+  tag: 'c0ffee3'");
    expect(res.body.renderedDiff).toBeUndefined();
    // helm never started for the portal, no post-renderer ran, nothing was written.
    expect(await helmCalls()).toEqual([]);
    await expect(fs.access(marker)).rejects.toThrow('ENOENT');
    expect(await head()).toBe(before);
    expect((await staging()).spec).toEqual(appBefore.spec);
    return res.body.renderedDiffNote;
  }

  it('control: a valid Application renders the preview through the wrapper', async () => {
    const res = await preview();

    expect(res.status).toBe(200);
    expect(res.body.renderedDiff).toMatch(
      /^\+\s+image: "registry.example.com\/checkout\/service-b:c0ffee3"$/m,
    );
    expect(await helmCalls()).toEqual([
      expect.stringMatching(
        /^template --namespace staging --values \S+\/chart\/values-staging.yaml -- service-b \S+\/chart$/,
      ),
      expect.stringMatching(
        /^template --namespace staging --values \S+\/chart\/values-staging.yaml -- service-b \S+\/chart$/,
      ),
    ]);
  });

  it('refuses a release name that is a helm flag (--post-renderer=<script>): no helm, no script, a note saying why', async () => {
    const releaseName = `--post-renderer=${postRenderer}`;
    const app = await pushStagingHelm({ releaseName });

    // Argo CD (the sandbox) refuses to render it too, as helm --name-template does.
    await eventually(async () => {
      const conditions = (await staging()).status?.conditions ?? [];
      return conditions.some(
        (c: any) =>
          c.type === 'ComparisonError' &&
          c.message.includes('invalid release name'),
      )
        ? true
        : undefined;
    }, 'the sandbox to report the invalid release name');
    expect(app.spec.source.helm.releaseName).toBe(releaseName);

    expect(await refusedPreviewNote()).toBe(
      `Not rendered: helm was not run, the Application's helm settings are refused: releaseName ${JSON.stringify(
        releaseName,
      )} is not a valid Helm release name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );
  });

  it('refuses values files that leave the clone (../../../.., /etc/passwd): no helm, a note naming the file', async () => {
    await pushStagingHelm({
      releaseName: 'service-b',
      valueFiles: ['values-staging.yaml', '../../../../../../../../etc/passwd'],
    });
    expect(await refusedPreviewNote()).toBe(
      `Not rendered: helm was not run, the Application's helm settings are refused: valueFiles "../../../../../../../../etc/passwd" is outside the repository`,
    );

    await pushStagingHelm({
      valueFiles: ['values-staging.yaml', '/etc/passwd'],
    });
    expect(await refusedPreviewNote()).toBe(
      `Not rendered: helm was not run, the Application's helm settings are refused: valueFiles "/etc/passwd" is not a file in the repository (a leading '/' is the repository root, as in Argo CD)`,
    );
  });
});
