import { stringify } from 'yaml';
import { Sandbox } from '../sandbox';
import {
  argo,
  contractErrors,
  eventually,
  pushChange,
  startTestSandbox,
} from '../testing/testSandbox';

// Each case waits for real helm renders and several reconciliation rounds.
// Real Git and helm on a loaded 2-core machine.
jest.setTimeout(180_000);

const IMAGE = 'registry.example.com/checkout/service-a';

describe('ApplicationSets (list generator) through the Argo CD API and in Git', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
  });
  afterAll(() => sandbox?.stop());

  /** service-a's chart once per element, as the gitops-service template's applicationSet layout does. */
  function appSet(name: string, environments: string[], more: object = {}) {
    return {
      metadata: { name },
      spec: {
        generators: [
          {
            list: {
              elements: environments.map(environment => ({ environment })),
            },
          },
        ],
        template: {
          metadata: {
            name: `${name}-{{environment}}`,
            labels: {
              'app.kubernetes.io/name': name,
              'gitops/environment': '{{environment}}',
            },
          },
          spec: {
            project: 'default',
            source: {
              repoURL: sandbox.repoUrl('service-a-config'),
              targetRevision: 'main',
              path: 'chart',
              helm: {
                releaseName: 'service-a',
                valueFiles: ['values-{{environment}}.yaml'],
              },
            },
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: `${name}-{{environment}}`,
            },
            syncPolicy: {
              automated: { prune: true, selfHeal: true },
              syncOptions: ['CreateNamespace=true'],
            },
          },
        },
        ...more,
      },
    };
  }

  /**
   * Calls the API; checks the answer against swagger.json and the ApplicationSet CRD,
   * and a posted body too unless it is `invalid` on purpose.
   */
  async function call(
    swaggerRoute: string,
    url: string,
    init: Parameters<typeof argo>[3] & {
      instance?: string;
      invalid?: boolean;
    } = {},
  ) {
    const method = init.method ?? 'GET';
    if (method === 'POST' && !init.invalid) {
      expect(
        contractErrors(c =>
          c.definitionErrors('v1alpha1ApplicationSet', init.body),
        ),
      ).toEqual([]);
    }
    const answer = await argo(sandbox, init.instance ?? 'main', url, init);
    expect(
      contractErrors(c =>
        c.responseErrors(swaggerRoute, method, answer.status, answer.body),
      ),
    ).toEqual([]);
    const sets = answer.body?.items ?? (answer.body?.spec ? [answer.body] : []);
    if (answer.status === 200 && swaggerRoute.includes('applicationsets')) {
      for (const set of sets) {
        expect(contractErrors(c => c.applicationSetErrors(set))).toEqual([]);
      }
    }
    return answer;
  }

  const create = (body: unknown, query = '', invalid = false) =>
    call('/api/v1/applicationsets', `/api/v1/applicationsets${query}`, {
      method: 'POST',
      body,
      invalid,
    });
  const getSet = (name: string, instance = 'main') =>
    call('/api/v1/applicationsets/{name}', `/api/v1/applicationsets/${name}`, {
      instance,
    });
  const getApp = async (name: string, instance = 'main') => {
    const answer = await call(
      '/api/v1/applications/{name}',
      `/api/v1/applications/${name}`,
      { instance },
    );
    if (answer.status === 200) {
      expect(contractErrors(c => c.applicationErrors(answer.body))).toEqual([]);
    }
    return answer;
  };
  const settled = (name: string, instance = 'main') =>
    eventually(async () => {
      const { body } = await getApp(name, instance);
      return body.status?.sync.status === 'Synced' &&
        body.status?.health.status === 'Healthy'
        ? body
        : undefined;
    }, `${name} Synced and Healthy`);

  it('creates one Application per element, owned by the set, and they deploy', async () => {
    const created = await create(appSet('service-a-set', ['dev', 'staging']));
    expect(created.status).toBe(200);
    const { uid } = created.body.metadata;
    expect(created.body.status.resources.map((r: any) => r.name)).toEqual([
      'service-a-set-dev',
      'service-a-set-staging',
    ]);

    const dev = await settled('service-a-set-dev');
    expect(dev.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'ApplicationSet',
        name: 'service-a-set',
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(dev.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'service-a-set',
      'gitops/environment': 'dev',
    });
    expect(dev.spec.source.helm.valueFiles).toEqual(['values-dev.yaml']);
    expect(dev.status.summary.images).toEqual([`${IMAGE}:4c5d6e7`]);
    const staging = await settled('service-a-set-staging');
    expect(staging.status.summary.images).toEqual([`${IMAGE}:1a2b3c4`]);

    // The set reports its Applications' sync and health, as Argo CD's status.resources.
    const { body } = await getSet('service-a-set');
    expect(body.status.resources).toEqual([
      expect.objectContaining({
        kind: 'Application',
        name: 'service-a-set-dev',
        status: 'Synced',
        health: expect.objectContaining({ status: 'Healthy' }),
      }),
      expect.objectContaining({ name: 'service-a-set-staging' }),
    ]);
    expect(body.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'ErrorOccurred', status: 'False' }),
    );
    const listed = await call(
      '/api/v1/applicationsets',
      '/api/v1/applicationsets?selector=&projects=default',
    );
    expect(listed.body.items.map((s: any) => s.metadata.name)).toEqual([
      'service-a-set',
    ]);
  });

  it('needs upsert for a different set; an element removed takes its Application with it', async () => {
    const devOnly = appSet('service-a-set', ['dev']);
    const refused = await create(devOnly);
    expect(refused).toEqual({
      status: 400,
      body: expect.objectContaining({
        code: 3,
        message:
          'existing ApplicationSet spec is different, use upsert flag to force update',
      }),
    });
    expect((await getApp('service-a-set-staging')).status).toBe(200);

    const { body: before } = await getApp('service-a-set-dev');
    const upserted = await create(devOnly, '?upsert=true');
    expect(upserted.status).toBe(200);
    expect(upserted.body.status.resources.map((r: any) => r.name)).toEqual([
      'service-a-set-dev',
    ]);
    expect((await getApp('service-a-set-staging')).status).toBe(404);
    // The one still generated is the same Application, history and all.
    const { body: after } = await getApp('service-a-set-dev');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.status.history).toHaveLength(1);
  });

  it('re-creates a generated Application deleted through the API, and deleting the set deletes them', async () => {
    await call(
      '/api/v1/applications/{name}',
      '/api/v1/applications/service-a-set-dev',
      { method: 'DELETE' },
    );
    await sandbox.reconcile();
    expect((await getApp('service-a-set-dev')).status).toBe(200);

    const deleted = await call(
      '/api/v1/applicationsets/{name}',
      '/api/v1/applicationsets/service-a-set',
      { method: 'DELETE' },
    );
    expect(deleted).toEqual({ status: 200, body: {} });
    expect((await getSet('service-a-set')).status).toBe(404);
    expect((await getApp('service-a-set-dev')).status).toBe(404);
  });

  it('refuses a bad set with 400 naming the problem, and 404 for an unknown one', async () => {
    const noTemplate: any = appSet('service-a-bad', ['dev']);
    delete noTemplate.spec.template;
    const missing = await create(noTemplate, '', true);
    expect(missing).toEqual({
      status: 400,
      body: expect.objectContaining({
        code: 3,
        message:
          'error creating ApplicationSet: ApplicationSet.argoproj.io "service-a-bad" is invalid: spec.template: Required value',
      }),
    });

    const unknown: any = appSet('service-a-bad', ['dev']);
    unknown.spec.generators = [{ lists: { elements: [] } }];
    expect((await create(unknown, '', true)).body).toMatchObject({
      code: 3,
      message:
        'error validating ApplicationSets: ApplicationSet service-a-bad contains unrecognized generators: lists',
    });

    const git: any = appSet('service-a-bad', ['dev']);
    git.spec.generators = [{ git: { repoURL: 'x', revision: 'main' } }];
    expect((await create(git)).body.message).toBe(
      'error validating ApplicationSets: the sandbox runs only the list generator, not git',
    );

    const notFound = await getSet('nope');
    expect(notFound).toEqual({
      status: 404,
      body: expect.objectContaining({
        code: 5,
        message:
          'error getting ApplicationSet: applicationsets.argoproj.io "nope" not found',
      }),
    });
    const { body } = await call(
      '/api/v1/applicationsets',
      '/api/v1/applicationsets',
    );
    expect(body.items).toEqual([]);
  });

  it('renders Go templates ({{.key}}) and answers a dry run without creating anything', async () => {
    const set: any = appSet('service-a-go', ['dev', 'staging'], {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
    });
    set.spec.template = JSON.parse(
      JSON.stringify(set.spec.template).replaceAll(
        '{{environment}}',
        '{{.environment}}',
      ),
    );
    const dryRun = await create(set, '?dryRun=true');
    expect(dryRun.body.status.resources.map((r: any) => r.name)).toEqual([
      'service-a-go-dev',
      'service-a-go-staging',
    ]);
    expect((await getSet('service-a-go')).status).toBe(404);
    expect((await getApp('service-a-go-dev')).status).toBe(404);

    // A key no element has: the set is stored, its conditions say why nothing was generated.
    const typo = structuredClone(set);
    typo.spec.template.spec.destination.namespace = '{{.enviroment}}';
    const failed = await create(typo);
    expect(failed.body.status.resources).toEqual([]);
    expect(failed.body.status.conditions).toContainEqual(
      expect.objectContaining({
        type: 'ErrorOccurred',
        status: 'True',
        message: expect.stringContaining(
          'map has no entry for key "enviroment"',
        ),
      }),
    );

    const fixed = await create(set, '?upsert=true');
    expect(fixed.body.status.resources).toHaveLength(2);
    const staging = await settled('service-a-go-staging');
    expect(staging.spec.destination.namespace).toBe('service-a-go-staging');
  });

  it('keeps an Application no longer generated under applicationsSync create-update', async () => {
    const policy = { syncPolicy: { applicationsSync: 'create-update' } };
    await create(appSet('service-a-keep', ['dev', 'staging'], policy));
    await create(appSet('service-a-keep', ['dev'], policy), '?upsert=true');
    expect((await getApp('service-a-keep-staging')).status).toBe(200);
  });

  it('generates the Applications of an ApplicationSet file in Git once the root Application of its instance deploys it', async () => {
    const file = 'argocd/applicationset-prod.yaml';
    const set = appSet('service-a-git', ['prod']);
    set.spec.template.spec.syncPolicy = {} as any;
    await pushChange(
      sandbox,
      'service-a-config',
      {
        [file]: () =>
          stringify({
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'ApplicationSet',
            ...set,
          }),
      },
      'Add an ApplicationSet',
    );
    const { body } = await eventually(async () => {
      const answer = await getSet('service-a-git', 'prod');
      return answer.status === 200 ? answer : undefined;
    }, 'the root Application of prod to deploy the ApplicationSet');
    expect(body.status.resources.map((r: any) => r.name)).toEqual([
      'service-a-git-prod',
    ]);
    expect((await getSet('service-a-git', 'main')).status).toBe(404);
    // The Applications beside it stay.
    expect((await getApp('service-a-prod', 'prod')).status).toBe(200);
    const prod = await getApp('service-a-git-prod', 'prod');
    expect(prod.body.metadata.ownerReferences[0].name).toBe('service-a-git');

    await pushChange(
      sandbox,
      'service-a-config',
      { [file]: () => undefined },
      'Remove it',
    );
    // The root Application prunes it.
    await eventually(
      async () =>
        (await getSet('service-a-git', 'prod')).status === 404 || undefined,
      'the root Application to prune the ApplicationSet',
    );
    expect((await getApp('service-a-git-prod', 'prod')).status).toBe(404);
  });
});
