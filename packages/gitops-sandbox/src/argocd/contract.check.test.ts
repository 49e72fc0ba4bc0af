import { ArgoContracts } from '../contracts';

const contracts = ArgoContracts.load();
const describeWithContracts = contracts ? describe : describe.skip;

// ArgoContracts alone, without a sandbox: the checks contract.test.ts relies on catch violations.
describeWithContracts('the contract check itself', () => {
  const application = {
    metadata: { name: 'a', namespace: 'argocd' },
    spec: {
      project: 'default',
      destination: { server: 'https://kubernetes.default.svc', namespace: 'a' },
      source: { repoURL: 'http://127.0.0.1/git/a.git', path: 'chart' },
    },
    status: {
      sync: { status: 'Synced', revision: 'abc' },
      health: { status: 'Healthy' },
      history: [{ id: 0, revision: 'abc', deployedAt: '2026-11-01T12:00:00Z' }],
    },
  };

  it('checks ApplicationSets against their CRD, closed like the others', () => {
    const applicationSet = {
      metadata: { name: 's', namespace: 'argocd' },
      spec: {
        generators: [{ list: { elements: [{ environment: 'dev' }] } }],
        template: {
          metadata: { name: 's-{{environment}}' },
          spec: application.spec,
        },
      },
    };
    expect(contracts!.applicationSetErrors(applicationSet)).toEqual([]);
    const broken = structuredClone(applicationSet) as any;
    broken.spec.generator = broken.spec.generators;
    delete broken.spec.generators;
    expect(contracts!.applicationSetErrors(broken)).toEqual(
      expect.arrayContaining([
        "/spec must have required property 'generators'",
        '/spec must NOT have additional properties: generator',
      ]),
    );
  });

  it('accepts a well-formed Application', () => {
    expect(contracts!.applicationErrors(application)).toEqual([]);
    expect(
      contracts!.definitionErrors('v1alpha1Application', application),
    ).toEqual([]);
  });

  it('rejects a deliberate violation: a wrong type, a missing required field, an invented field', () => {
    const broken = structuredClone(application) as any;
    broken.status.history[0].id = 'zero';
    delete broken.spec.destination;
    broken.status.sync.state = 'Synced';
    expect(contracts!.applicationErrors(broken)).toEqual(
      expect.arrayContaining([
        '/status/history/0/id must be integer',
        "/spec must have required property 'destination'",
        '/status/sync must NOT have additional properties: state',
      ]),
    );
    expect(contracts!.definitionErrors('v1alpha1Application', broken)).toEqual(
      expect.arrayContaining([
        '/status/history/0/id must be integer',
        '/status/sync must NOT have additional properties: state',
      ]),
    );
  });
});
