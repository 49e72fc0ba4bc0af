import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { ChangeLog } from '@gitops-backstage/plugin-gitops-common';
import { Sandbox, startTestSandbox } from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { gitopsPlugin } from './plugin';
import {
  component,
  gitIn,
  sandboxBackendConfig,
  specErrors,
} from './__testUtils__/sandboxBackend';

// Real Git over smart HTTP and the sandbox's registry, on a loaded 2-core machine.
jest.setTimeout(180_000);

// The examples' app repository: dev runs main, staging main~4, prod the tag v1.4.0
// (three commits after the first), each image labelled with the commit it was built
// from (the sandbox's EXAMPLE_BUILT_FROM).
const selector = { 'argocd/app-selector': 'app.kubernetes.io/name=service-a' };

describe('the change log between versions, over plain Git (the sandbox)', () => {
  let sandbox: Sandbox;
  let sandboxDir: string;
  let server: any;
  const sha = async (revision: string) =>
    (await gitIn(sandboxDir, 'service-a-app', 'rev-parse', revision)).trim();
  const changeLog = (entity: string, query: Record<string, string>) =>
    request(server)
      .get(`/api/gitops/entities/component/default/${entity}/changelog`)
      .query(query);

  beforeAll(async () => {
    sandboxDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-changes-'));
    sandbox = await startTestSandbox({ dir: sandboxDir });
    const appRepo = `${sandbox.gitUrl}/git/service-a-app.git`;
    const entities = [
      component('service-a', {
        ...selector,
        'gitops/app-repository': appRepo,
      }),
      // Its web UI location, as Backstage records where an entity was registered from.
      component('service-a-located', {
        ...selector,
        'backstage.io/source-location': `url:${sandbox.gitUrl}/git/service-a-app/tree/main/`,
      }),
      component('service-a-bad', {
        ...selector,
        'gitops/app-repository': 'ftp://example.com/app',
      }),
      component('service-a-elsewhere', {
        ...selector,
        'gitops/app-repository': 'https://git.unknown.example/app.git',
      }),
      component('service-a-no-repo', selector),
      // Registered from its own repository, as the templates register services.
      component('service-a-registered', {
        ...selector,
        'gitops/app-repository': appRepo,
        'backstage.io/managed-by-location': `url:${sandbox.gitUrl}/git/service-a-app/raw/main/catalog-info.yaml`,
      }),
      // Registered from another repository, naming service-a's to read its commits.
      component('service-a-foreign', {
        ...selector,
        'gitops/app-repository': appRepo,
        'backstage.io/managed-by-location': `url:${sandbox.gitUrl}/git/service-b-app/raw/main/catalog-info.yaml`,
      }),
    ];
    const { username, password } = sandbox.registry.credentials;
    const config = sandboxBackendConfig(sandbox, {
      imageRegistries: [
        {
          host: 'registry.example.com',
          url: sandbox.registry.url,
          username,
          password,
        },
      ],
      changeLog: { maxCommits: 3 },
    });
    ({ server } = await startTestBackend({
      features: [
        gitopsPlugin,
        catalogServiceMock.factory({ entities }),
        mockServices.permissions.factory({ result: AuthorizeResult.ALLOW }),
        mockServices.rootConfig.factory({ data: config }),
      ],
    }));
  });

  afterAll(async () => {
    server?.close();
    await sandbox?.stop();
    await fs.rm(sandboxDir, { recursive: true, force: true });
  });

  it("lists what dev's version brings to staging: commits newest first, capped, with pull requests and issue keys", async () => {
    const res = await changeLog('service-a', {
      environment: 'staging',
      to: '4c5d6e7',
    });
    expect(res.status).toBe(200);
    expect(specErrors('ChangeLog', res.body)).toEqual([]);
    const log: ChangeLog = res.body;
    expect(log.error).toBeUndefined();
    // Both versions found through their images' revision labels.
    expect(log.from).toEqual({
      version: '1a2b3c4',
      sha: await sha('main~4'),
      origin: 'image-label',
    });
    expect(log.to).toEqual({
      version: '4c5d6e7',
      sha: await sha('main'),
      origin: 'image-label',
    });
    expect(log.direction).toBe('ahead');
    // Four commits between; the cap (maxCommits: 3) lists the newest three.
    expect(log.total).toBe(4);
    expect(log.commits.map(c => c.subject)).toEqual([
      "Return the build's commit in /version (#14)",
      'Merge pull request #12 from team-checkout/readiness',
      'Tidy the Dockerfile (#11)',
    ]);
    expect(log.commits[0]).toMatchObject({
      sha: await sha('main'),
      author: 'Sandbox',
      pullRequest: 14,
      issueKeys: [],
    });
    expect(Date.parse(log.commits[0].date!)).toBeGreaterThan(
      Date.parse(log.commits[2].date!),
    );
    expect(log.pullRequests).toEqual([
      {
        number: 14,
        title: "Return the build's commit in /version",
        author: 'Sandbox',
      },
      {
        number: 12,
        title: 'Add a readiness probe endpoint',
        author: 'Sandbox',
      },
      { number: 11, title: 'Tidy the Dockerfile', author: 'Sandbox' },
    ]);
  });

  it('finds the release in prod by its label, and names issue keys; a rollback lists what leaves', async () => {
    const res = await changeLog('service-a', {
      environment: 'prod',
      to: '1a2b3c4',
    });
    expect(res.body).toMatchObject({
      direction: 'ahead',
      total: 3,
      from: { version: 'v1.4.0', sha: await sha('v1.4.0') },
    });
    expect(res.body.issueKeys).toEqual(['#8']);
    const back = await changeLog('service-a', {
      environment: 'staging',
      to: 'v1.4.0',
    });
    expect(back.body).toMatchObject({ direction: 'behind', total: 3 });
    expect(back.body.commits[0].subject).toBe(
      'Merge pull request #9 from team-checkout/metrics',
    );
    const same = await changeLog('service-a', {
      environment: 'staging',
      to: '1a2b3c4',
    });
    expect(same.body).toMatchObject({
      direction: 'same',
      total: 0,
      commits: [],
    });
  });

  it('finds a version with no label by its tag: a commit SHA, else a release tag of the app repository', async () => {
    // Images CI built without the label: one tagged with its short SHA, one with a
    // release tag made on the app repository.
    const shortSha = (await sha('main~1')).slice(0, 7);
    await gitIn(sandboxDir, 'service-a-app', 'tag', 'v1.5.0', 'main~2');
    await sandbox.registry.pushImage(
      `registry.example.com/checkout/service-a:${shortSha}`,
    );
    await sandbox.registry.pushImage(
      'registry.example.com/checkout/service-a:v1.5.0',
    );
    const byCommit = await changeLog('service-a', {
      environment: 'dev',
      from: 'v1.5.0',
      to: shortSha,
    });
    expect(byCommit.body.error).toBeUndefined();
    expect(byCommit.body.from).toEqual({
      version: 'v1.5.0',
      sha: await sha('main~2'),
      origin: 'release-tag',
    });
    expect(byCommit.body.to).toEqual({
      version: shortSha,
      sha: await sha('main~1'),
      origin: 'commit-tag',
    });
    expect(byCommit.body).toMatchObject({ direction: 'ahead', total: 1 });
    // A version no source knows is said, not guessed.
    const unknown = await changeLog('service-a', {
      environment: 'dev',
      to: 'v9.9.9',
    });
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({
      direction: 'unknown',
      commits: [],
      error: { code: 'not-found' },
    });
    expect(unknown.body.error.message).toContain('"v9.9.9"');
  });

  it('reads the repository from backstage.io/source-location too', async () => {
    const res = await changeLog('service-a-located', {
      environment: 'staging',
      to: '4c5d6e7',
    });
    expect(res.body).toMatchObject({ direction: 'ahead', total: 4 });
  });

  it('keeps a change log by its pair of versions: asked again, it does not read the repository', async () => {
    const query = { environment: 'prod', to: '4c5d6e7' };
    const first = await changeLog('service-a', query);
    expect(first.body).toMatchObject({ direction: 'ahead', total: 7 });
    const repo = path.join(sandboxDir, 'repos', 'service-a-app.git');
    await fs.rename(repo, `${repo}.away`);
    try {
      // Past the reuse of the fetched copy too: another pair reads again and fails.
      const again = await changeLog('service-a', query);
      expect(again.body).toEqual(first.body);
    } finally {
      await fs.rename(`${repo}.away`, repo);
    }
  });

  it('refuses bad requests with a status and a message naming the problem', async () => {
    const unknownEnv = await changeLog('service-a', {
      environment: 'qa',
      to: '4c5d6e7',
    });
    expect(unknownEnv.status).toBe(404);
    expect(unknownEnv.body.error.message).toContain('no environment "qa"');
    const badTag = await changeLog('service-a', {
      environment: 'dev',
      to: '../../etc',
    });
    expect(badTag.status).toBe(400);
    expect(badTag.body.error.message).toContain('Invalid to');
    const badAnnotation = await changeLog('service-a-bad', {
      environment: 'dev',
      to: '4c5d6e7',
    });
    expect(badAnnotation.status).toBe(400);
    expect(badAnnotation.body.error.message).toContain('gitops/app-repository');
    const noRepo = await changeLog('service-a-no-repo', {
      environment: 'dev',
      to: '4c5d6e7',
    });
    expect(noRepo.status).toBe(409);
    expect(noRepo.body.error.message).toContain('names no app repository');
  });

  it("names only the repository its catalog file is in: another one's is refused (400), nothing read", async () => {
    const own = await changeLog('service-a-registered', {
      environment: 'staging',
      to: '4c5d6e7',
    });
    expect(own.body).toMatchObject({ direction: 'ahead', total: 4 });
    const foreign = await changeLog('service-a-foreign', {
      environment: 'staging',
      to: '4c5d6e7',
    });
    expect(foreign.status).toBe(400);
    expect(foreign.body.error.message).toContain(
      'an entity may name only the repository its catalog file is in',
    );
  });

  it('never reads a repository on a host nothing is configured for', async () => {
    const res = await changeLog('service-a-elsewhere', {
      environment: 'staging',
      to: '4c5d6e7',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      direction: 'unknown',
      error: { code: 'forbidden' },
    });
  });
});
