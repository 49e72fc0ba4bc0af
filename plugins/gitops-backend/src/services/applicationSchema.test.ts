import { checkApplications } from './applicationSchema';

const good = {
  metadata: { name: 'a-dev', labels: { 'gitops/environment': 'dev' } },
  spec: { project: 'p', destination: { namespace: 'a-dev' } },
  status: { sync: { status: 'Synced' }, history: [] },
};

describe('checkApplications', () => {
  it('keeps well-formed items as they came and turns each malformed one (a field of another type, not an object) into a named error', () => {
    const wrongType = {
      ...good,
      metadata: {
        name: 'a-prod',
        labels: { 'gitops/environment': 'prod' },
        annotations: {
          'gitops.backstage.io/entity-ref': 'component:default/a',
        },
      },
      status: { history: [{ id: 'first', deployedAt: 'x' }] },
    };
    const [kept, typed, unnamed] = checkApplications(
      [good, wrongType, 'not an object'],
      'Instance "main"',
    );
    expect(kept).toBe(good);
    expect(typed).toEqual({
      metadata: {
        name: 'a-prod',
        labels: { 'gitops/environment': 'prod' },
        annotations: {
          'gitops.backstage.io/entity-ref': 'component:default/a',
        },
      },
      spec: { project: 'p', destination: {} },
      malformed:
        'Instance "main" answered Application a-prod with an unexpected shape: status.history.0.id: Expected number, received string',
    });
    expect(unnamed.metadata.name).toBe('(item 2 without a name)');
    expect(unnamed.malformed).toBe(
      'Instance "main" answered Application (item 2 without a name) with an unexpected shape: the object: Expected object, received string',
    );
  });

  it('names a missing spec', () => {
    const { spec, ...noSpec } = good;
    const [app] = checkApplications([noSpec], 'Instance "main"');
    expect(app.spec).toEqual({ project: '', destination: {} });
    expect(app.malformed).toBe(
      'Instance "main" answered Application a-dev with an unexpected shape: spec: Required',
    );
  });
});
