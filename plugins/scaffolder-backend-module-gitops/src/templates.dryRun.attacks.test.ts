import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import {
  argo,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { scaffolderModuleGitops } from './module';
import { sandboxArgoCdConfig } from './__testUtils__/scaffolderBackend';

jest.setTimeout(240_000);

const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * The template editor's dry run (`/v2/dry-run` of the real scaffolder) runs a template
 * a user wrote, with the portal's credentials: it must create no repository and no
 * Application, and the checks of a real run hold there too.
 */
describe("the scaffolder's dry run of a hostile template", () => {
  let sandbox: Sandbox;
  let server: any;
  let stop: () => Promise<void>;
  let foreign: http.Server;
  let foreignUrl: string;
  const foreignRequests: Array<string | undefined> = [];

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    foreign = http.createServer((req, res) => {
      foreignRequests.push(req.headers.authorization ?? '(none)');
      res.writeHead(201);
      res.end();
    });
    await new Promise<void>(resolve => foreign.listen(0, '127.0.0.1', resolve));
    foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}`;
    const backend = await startTestBackend({
      features: [
        scaffolderPlugin,
        catalogPlugin,
        scaffolderModuleGitops,
        mockServices.rootConfig.factory({
          data: {
            argocd: sandboxArgoCdConfig(sandbox),
            gitops: {
              git: {
                credentials: [
                  {
                    host: new URL(sandbox.gitUrl).host,
                    password: sandbox.gitToken,
                  },
                ],
              },
              // The test backend's user (user:default/mock) has project default only.
              projects: [
                {
                  name: 'default',
                  owners: ['user:default/mock'],
                  destinations: [{ server: IN_CLUSTER, namespace: 'team-a-*' }],
                  sourceRepos: [`${sandbox.gitUrl}/git/*`],
                },
                {
                  name: 'payments',
                  owners: ['group:default/team-payments'],
                  destinations: [{ server: IN_CLUSTER, namespace: '*' }],
                  sourceRepos: [`${sandbox.gitUrl}/git/*`],
                },
              ],
            },
          },
        }),
      ],
    });
    server = backend.server;
    stop = () => backend.stop();
  });
  afterAll(async () => {
    await stop?.();
    await sandbox?.stop();
    await new Promise(resolve => foreign?.close(resolve));
  });

  /** Dry-runs a template of these steps, as the template editor does. */
  const dryRun = (steps: object[]) =>
    request(server)
      .post('/api/scaffolder/v2/dry-run')
      .send({
        template: {
          apiVersion: 'scaffolder.backstage.io/v1beta3',
          kind: 'Template',
          metadata: { name: 'hostile', namespace: 'default' },
          spec: { type: 'service', parameters: [], steps },
        },
        values: {},
        directoryContents: [],
      });

  const createApplication = (name: string, project: string) => ({
    id: 'argocd',
    action: 'argocd:application:create',
    input: {
      instance: 'main',
      name,
      entityRef: 'component:default/team-a-svc',
      project,
      source: { repoURL: sandbox.repoUrl('service-a-config'), path: 'chart' },
      destination: { server: IN_CLUSTER, namespace: 'team-a-dev' },
    },
  });

  it('refuses gitCreateUrl on another host in a dry run: the host hears nothing, no repository is made', async () => {
    const res = await dryRun([
      {
        id: 'publish',
        action: 'gitops:git:publish',
        input: {
          repoUrl: sandbox.repoUrl('hostile-dry'),
          createRepository: { url: `${foreignUrl}/api/repos` },
        },
      },
    ]);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).toContain(
      `No Git credentials for ${new URL(foreignUrl).host}`,
    );
    expect(foreignRequests).toEqual([]);
    const repos = await fetch(`${sandbox.gitUrl}/api/repos`, {
      headers: { authorization: `Bearer ${sandbox.gitToken}` },
    }).then(r => r.json());
    expect(repos.repositories).not.toContain('hostile-dry');
  });

  it('refuses an Application in a project app-config does not hand to the user, in a dry run (403)', async () => {
    const res = await dryRun([
      createApplication('team-a-payments', 'payments'),
    ]);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        `Argo CD project "payments", which app-config's gitops.projects does not hand to user:default/mock`,
      ),
    });
    expect(
      (await argo(sandbox, 'main', '/api/v1/applications/team-a-payments'))
        .status,
    ).toBe(404);
  });

  it('a dry run the checks allow creates no Application: it only logs the manifest', async () => {
    const res = await dryRun([createApplication('team-a-dry', 'default')]);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body.log)).toContain(
      'Dry run: would create on Argo CD instance \\"main\\"',
    );
    expect(
      (await argo(sandbox, 'main', '/api/v1/applications/team-a-dry')).status,
    ).toBe(404);
  });
});
