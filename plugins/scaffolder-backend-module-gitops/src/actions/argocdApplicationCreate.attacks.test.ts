import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  argo,
  Sandbox,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { createArgoCdApplicationCreateAction } from './argocdApplicationCreate';

jest.setTimeout(180_000);

const IN_CLUSTER = 'https://kubernetes.default.svc';
const ANNOTATION = 'gitops.backstage.io/entity-ref';
const TEAM_CHECKOUT = ['user:default/ana', 'group:default/team-checkout'];
const TEAM_PAYMENTS = ['user:default/mallory', 'group:default/team-payments'];

/**
 * What a template run can make argocd:application:create do to Applications that are
 * not its own, with the portal's token: nothing. Each attack runs against the
 * sandbox's Argo CD, and the Application attacked is read before and after.
 */
describe('argocd:application:create refuses to act outside the rights of the user running the template', () => {
  let sandbox: Sandbox;
  let config: ConfigReader;
  const fetchSpy = jest.spyOn(globalThis, 'fetch');

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const [main] = sandbox.instances;
    config = new ConfigReader({
      gitops: {
        projects: [
          {
            name: 'checkout',
            owners: ['group:default/team-checkout'],
            destinations: [{ server: IN_CLUSTER, namespace: 'checkout-*' }],
            // service-a's team: its own config repository only, not service-b's.
            sourceRepos: [sandbox.repoUrl('service-a-config')],
          },
          {
            name: 'payments',
            owners: ['group:default/team-payments'],
            destinations: [{ server: IN_CLUSTER, namespace: 'payments-*' }],
            sourceRepos: [`${sandbox.gitUrl}/git/payments-*`],
          },
          // Listed without sourceRepos: no repository at all.
          {
            name: 'checkout-bare',
            owners: ['group:default/team-checkout'],
            destinations: [{ server: IN_CLUSTER, namespace: 'checkout-*' }],
          },
        ],
      },
      argocd: {
        appLocatorMethods: [
          {
            type: 'config',
            instances: [{ name: main.name, url: main.url, token: main.token }],
          },
        ],
      },
    });
    // An Application of service-b's team, as its template writes it: naming service-b.
    const answer = await argo(sandbox, 'main', '/api/v1/applications', {
      method: 'POST',
      body: application('service-b-qa', 'component:default/service-b'),
    });
    if (answer.status !== 200) {
      throw new Error(`service-b-qa not created: ${JSON.stringify(answer)}`);
    }
  });
  afterAll(() => sandbox?.stop());
  beforeEach(() => fetchSpy.mockClear());

  /** An Application of service-b's config in project checkout, naming `owner`. */
  function application(name: string, owner?: string) {
    return {
      metadata: {
        name,
        namespace: 'argocd',
        labels: { 'app.kubernetes.io/name': 'service-b' },
        ...(owner && { annotations: { [ANNOTATION]: owner } }),
      },
      spec: {
        project: 'checkout',
        source: {
          repoURL: sandbox.repoUrl('service-b-config'),
          targetRevision: 'main',
          path: 'chart',
          helm: { releaseName: 'service-b', valueFiles: ['values-dev.yaml'] },
        },
        destination: { server: IN_CLUSTER, namespace: 'checkout-qa' },
      },
    };
  }

  /** Input pointing `name` at service-a's config, as service-a's template run would. */
  const input = (name: string, more: Record<string, unknown> = {}) => ({
    instance: 'main',
    name,
    entityRef: 'component:default/service-a',
    project: 'checkout',
    source: {
      repoURL: sandbox.repoUrl('service-a-config'),
      targetRevision: 'main',
      path: 'chart',
      helm: { releaseName: 'service-a', valueFiles: ['values-dev.yaml'] },
    },
    destination: { server: IN_CLUSTER, namespace: 'checkout-dev' },
    ...more,
  });

  async function run(
    values: Record<string, unknown>,
    options: {
      ownershipRefs?: string[];
      permission?: AuthorizeResult.ALLOW | AuthorizeResult.DENY;
      dryRun?: boolean;
      credentials?: ReturnType<typeof mockCredentials.user>;
    } = {},
  ) {
    const auditor = mockServices.auditor.mock();
    const event = { success: jest.fn(), fail: jest.fn() };
    auditor.createEvent.mockResolvedValue(event);
    const ctx = {
      ...createMockActionContext({ input: values as any }),
      isDryRun: options.dryRun ?? false,
      getInitiatorCredentials: async () =>
        options.credentials ?? mockCredentials.user('user:default/ana'),
    };
    const action = createArgoCdApplicationCreateAction({
      config,
      permissions: mockServices.permissions({
        result: options.permission ?? AuthorizeResult.ALLOW,
      }),
      userInfo: mockServices.userInfo({
        ownershipEntityRefs: options.ownershipRefs ?? TEAM_CHECKOUT,
      }),
      auditor,
    });
    const result = action.handler(ctx as any);
    return { result, auditor, event };
  }

  const get = async (name: string) =>
    argo(sandbox, 'main', `/api/v1/applications/${name}`);

  /** What an attack must leave as it was: spec, annotations, labels. */
  const state = async (name: string) => {
    const { status, body } = await get(name);
    return status === 200
      ? {
          spec: body.spec,
          annotations: body.metadata.annotations,
          labels: body.metadata.labels,
        }
      : status;
  };

  /** No create (POST) reached Argo CD. */
  const created = () =>
    fetchSpy.mock.calls.filter(
      ([url, init]) =>
        init?.method === 'POST' && String(url).includes('/api/v1/application'),
    );

  it("refuses to upsert another team's Application (service-b-qa, naming service-b) with service-a's config, and leaves it unchanged", async () => {
    const before = await state('service-b-qa');
    const { result, auditor, event } = await run(
      input('service-b-qa', { upsert: true }),
    );
    await expect(result).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        'Application argocd/service-b-qa exists and belongs to component:default/service-b (annotation gitops.backstage.io/entity-ref), not to component:default/service-a: not replacing it',
      ),
    });
    expect(created()).toEqual([]);
    expect(await state('service-b-qa')).toEqual(before);
    // Audited as a refused write.
    expect(auditor.createEvent).toHaveBeenCalledWith(
      expect.objectContaining({
        eventId: 'argocd-application-create',
        severityLevel: 'high',
        meta: expect.objectContaining({
          actor: 'user:default/ana',
          name: 'argocd/service-b-qa',
        }),
      }),
    );
    expect(event.fail).toHaveBeenCalled();
  });

  it("refuses to upsert the sandbox's service-b-dev (Git's, service-b's) with service-a's config: it stays on service-b-config", async () => {
    const before = await state('service-b-dev');
    const { result } = await run(input('service-b-dev', { upsert: true }));
    await expect(result).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringMatching(
        /^Application argocd\/service-b-dev exists and (belongs to component:default\/service-b|names no entity)/,
      ),
    });
    expect(created()).toEqual([]);
    expect(await state('service-b-dev')).toEqual(before);
    expect((await get('service-b-dev')).body.spec.source.repoURL).toBe(
      sandbox.repoUrl('service-b-config'),
    );
  });

  it("refuses to replace an Application that names no entity (upsert), even in the user's own project", async () => {
    await argo(sandbox, 'main', '/api/v1/applications', {
      method: 'POST',
      body: application('service-b-unclaimed'),
    });
    const before = await state('service-b-unclaimed');
    const { result } = await run(
      input('service-b-unclaimed', { upsert: true }),
    );
    await expect(result).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        'Application argocd/service-b-unclaimed exists and names no entity',
      ),
    });
    expect(await state('service-b-unclaimed')).toEqual(before);
  });

  it('without upsert, Argo CD itself refuses a different spec: nothing replaced', async () => {
    const before = await state('service-b-qa');
    const { result } = await run(input('service-b-qa'));
    await expect(result).rejects.toThrow(
      '(400: existing application spec is different, use upsert flag to force update)',
    );
    expect(await state('service-b-qa')).toEqual(before);
  });

  it("refuses an ApplicationSet whose elements generate another team's Application (service-b-qa)", async () => {
    const before = await state('service-b-qa');
    const { result } = await run(
      input('service-b', {
        destination: { server: IN_CLUSTER, namespace: 'checkout-{{env}}' },
        applicationSet: {
          applicationName: 'service-b-{{env}}',
          elements: [{ env: 'qa' }],
        },
      }),
    );
    await expect(result).rejects.toMatchObject({
      name: 'NotAllowedError',
      message: expect.stringContaining(
        'Application argocd/service-b-qa exists and belongs to component:default/service-b',
      ),
    });
    expect(created()).toEqual([]);
    expect(
      (await argo(sandbox, 'main', '/api/v1/applicationsets/service-b')).status,
    ).toBe(404);
    expect(await state('service-b-qa')).toEqual(before);
  });

  it('without the permission gitops.application.create: NotAllowedError naming it, nothing created (a dry run too)', async () => {
    for (const dryRun of [false, true]) {
      fetchSpy.mockClear();
      const { result, event } = await run(input('service-a-denied'), {
        permission: AuthorizeResult.DENY,
        dryRun,
      });
      await expect(result).rejects.toMatchObject({
        name: 'NotAllowedError',
        message:
          'user:default/ana may not create Argo CD Applications: the permission gitops.application.create was refused',
      });
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(event.fail).toHaveBeenCalled();
    }
    expect(await state('service-a-denied')).toBe(404);
  });

  it('refuses project checkout to a user whose groups app-config does not hand it to (team-payments), and a project it does not list', async () => {
    const { result } = await run(input('service-a-payments'), {
      ownershipRefs: TEAM_PAYMENTS,
    });
    await expect(result).rejects.toMatchObject({
      name: 'NotAllowedError',
      message:
        'Argo CD project "checkout", which app-config\'s gitops.projects does not hand to user:default/ana or their groups: Applications are created only in projects it hands to their owners',
    });
    const unlisted = await run(
      input('service-a-unlisted', { project: 'platform' }),
    );
    await expect(unlisted.result).rejects.toThrow(
      'Argo CD project "platform", which app-config\'s gitops.projects does not list',
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await state('service-a-payments')).toBe(404);
    expect(await state('service-a-unlisted')).toBe(404);
  });

  it.each([
    [
      'a namespace outside checkout-*',
      { server: IN_CLUSTER, namespace: 'kube-system' },
    ],
    [
      'another cluster',
      { server: 'https://prod.example.com', namespace: 'checkout-dev' },
    ],
    [
      'a cluster by name the project does not list',
      { name: 'prod-eu', namespace: 'checkout-dev' },
    ],
  ])(
    'refuses a destination the project does not list: %s',
    async (_, destination) => {
      const { result } = await run(
        input('service-a-elsewhere', { destination }),
      );
      await expect(result).rejects.toMatchObject({
        name: 'NotAllowedError',
        message: expect.stringMatching(
          /^Application "service-a-elsewhere" would deploy to .*, which is not a destination of Argo CD project "checkout" in app-config's gitops.projects \(allowed: https:\/\/kubernetes.default.svc namespace "checkout-\*"\)$/,
        ),
      });
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(await state('service-a-elsewhere')).toBe(404);
    },
  );

  it("refuses an ApplicationSet element that deploys outside the project's destinations", async () => {
    const { result } = await run(
      input('service-a-spread', {
        destination: { server: IN_CLUSTER, namespace: '{{namespace}}' },
        applicationSet: {
          applicationName: 'service-a-spread-{{env}}',
          elements: [
            { env: 'dev', namespace: 'checkout-dev' },
            { env: 'sys', namespace: 'kube-system' },
          ],
        },
      }),
    );
    await expect(result).rejects.toThrow(
      'Application "service-a-spread-sys" would deploy to https://kubernetes.default.svc namespace "kube-system"',
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it("refuses an Application in one's own project whose source is another team's config repository (service-b-config, outside sourceRepos): nothing created, a dry run too", async () => {
    const repo = sandbox.repoUrl('service-b-config');
    const hijack = input('service-a-hijack', {
      source: {
        repoURL: repo,
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: 'service-a', valueFiles: ['values-prod.yaml'] },
      },
    });
    for (const dryRun of [false, true]) {
      fetchSpy.mockClear();
      const { result, event } = await run(hijack, { dryRun });
      await expect(result).rejects.toMatchObject({
        name: 'NotAllowedError',
        message: `Application "service-a-hijack" would use repository ${repo}, which Argo CD project "checkout" may not use: it is not among the sourceRepos of app-config's gitops.projects[checkout] (allowed: ${sandbox.repoUrl(
          'service-a-config',
        )})`,
      });
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(event.fail).toHaveBeenCalled();
    }
    expect(await state('service-a-hijack')).toBe(404);
  });

  it("refuses a multi-source Application whose values (ref) source is another team's repository", async () => {
    const { result } = await run(
      input('service-a-refs', {
        source: undefined,
        sources: [
          {
            repoURL: sandbox.repoUrl('service-a-config'),
            path: 'chart',
            helm: { valueFiles: ['$values/chart/values-prod.yaml'] },
          },
          { repoURL: sandbox.repoUrl('service-b-config'), ref: 'values' },
        ],
      }),
    );
    await expect(result).rejects.toThrow(
      `Application "service-a-refs" would use repository ${sandbox.repoUrl(
        'service-b-config',
      )}, which Argo CD project "checkout" may not use`,
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await state('service-a-refs')).toBe(404);
  });

  it("refuses an ApplicationSet element that fills the template's repoURL with another team's repository", async () => {
    const { result } = await run(
      input('service-a-repos', {
        source: {
          repoURL: `${sandbox.gitUrl}/git/{{repo}}.git`,
          targetRevision: 'main',
          path: 'chart',
        },
        applicationSet: {
          applicationName: 'service-a-repos-{{env}}',
          elements: [
            { env: 'dev', repo: 'service-a-config' },
            { env: 'qa', repo: 'service-b-config' },
          ],
        },
      }),
    );
    await expect(result).rejects.toThrow(
      `Application "service-a-repos-qa" would use repository ${sandbox.gitUrl}/git/service-b-config.git, which Argo CD project "checkout" may not use`,
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(
      (await argo(sandbox, 'main', '/api/v1/applicationsets/service-a-repos'))
        .status,
    ).toBe(404);
  });

  it('refuses every repository in a project listed without sourceRepos, saying to add them', async () => {
    const { result } = await run(
      input('service-a-bare', { project: 'checkout-bare' }),
    );
    await expect(result).rejects.toThrow(
      `Application "service-a-bare" would use repository ${sandbox.repoUrl(
        'service-a-config',
      )}, which Argo CD project "checkout-bare" may not use: app-config's gitops.projects[checkout-bare] lists no sourceRepos, so it allows no repository: add sourceRepos to gitops.projects[checkout-bare]`,
    );
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(await state('service-a-bare')).toBe(404);
  });

  it('refuses a template run by a service instead of a user: no groups to hand projects to', async () => {
    const { result } = await run(input('service-a-service'), {
      credentials: mockCredentials.service('plugin:catalog') as any,
    });
    await expect(result).rejects.toMatchObject({ name: 'NotAllowedError' });
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('creates its own Application with the annotation, and upserts it: the one allowed replacement', async () => {
    const first = await run(input('service-a-own'));
    await first.result;
    expect(first.event.success).toHaveBeenCalled();
    const before = await get('service-a-own');
    expect(before.body.metadata.annotations).toEqual({
      [ANNOTATION]: 'component:default/service-a',
    });

    const staging = input('service-a-own', {
      upsert: true,
      source: {
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: 'service-a', valueFiles: ['values-staging.yaml'] },
      },
    });
    await (
      await run(staging)
    ).result;
    const after = await get('service-a-own');
    expect(after.body.metadata.uid).toBe(before.body.metadata.uid);
    expect(after.body.spec.source.helm.valueFiles).toEqual([
      'values-staging.yaml',
    ]);
  });

  it('refuses an entityRef that is not a full entity ref, before calling anything', async () => {
    const { result } = await run(
      input('service-a-x', { entityRef: 'service-a' }),
    );
    await expect(result).rejects.toThrow(
      'Invalid entityRef "service-a": a full entity ref such as component:default/service-c',
    );
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('refuses a repoURL with user:password@, without repeating the password', async () => {
    const { result } = await run(
      input('service-a-creds', {
        source: {
          repoURL: 'https://bot:hunter2-secret@git.example.com/a.git',
          path: 'chart',
        },
      }),
    );
    await expect(result).rejects.toThrow(
      'repoURL https://***@git.example.com/a.git carries credentials (user:password@): give Argo CD repository credentials instead',
    );
    await expect(result).rejects.not.toThrow(/hunter2/);
    expect(fetchSpy).not.toHaveBeenCalled();
  });
});
