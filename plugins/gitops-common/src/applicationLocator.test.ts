import {
  InvalidAnnotationError,
  readApplicationLocator,
} from './applicationLocator';

describe('readApplicationLocator', () => {
  it('returns undefined for an entity without Argo CD annotations', () => {
    expect(readApplicationLocator(undefined)).toBeUndefined();
    expect(readApplicationLocator({ 'backstage.io/x': 'y' })).toBeUndefined();
  });

  it('reads app names, instance and namespace', () => {
    expect(
      readApplicationLocator({
        'argocd/app-name': 'service-a-dev, service-a-prod',
        'argocd/instance-name': 'main',
        'argocd/app-namespace': 'argocd',
      }),
    ).toEqual({
      kind: 'names',
      names: ['service-a-dev', 'service-a-prod'],
      instanceName: 'main',
      appNamespace: 'argocd',
    });
  });

  it('reads a label selector with projects, keeping set-based terms whole', () => {
    expect(
      readApplicationLocator({
        'argocd/app-selector':
          'app.kubernetes.io/name=service-a, gitops/environment in (dev,prod)',
        'argocd/project-name': 'team-a,shared',
      }),
    ).toEqual({
      kind: 'selector',
      selector:
        'app.kubernetes.io/name=service-a,gitops/environment in (dev,prod)',
      projects: ['team-a', 'shared'],
      instanceName: undefined,
      appNamespace: undefined,
    });
  });

  it.each([
    [{ 'argocd/app-name': '' }, 'argocd/app-name'],
    [{ 'argocd/app-name': 'Service_A' }, 'argocd/app-name'],
    [{ 'argocd/app-selector': 'a=b,,c' }, 'argocd/app-selector'],
    [{ 'argocd/app-selector': 'a=b;rm -rf' }, 'argocd/app-selector'],
    [
      { 'argocd/app-name': 'a', 'argocd/instance-name': 'not a name' },
      'argocd/instance-name',
    ],
    [
      { 'argocd/app-name': 'a', 'argocd/app-selector': 'x=y' },
      'argocd/app-name',
    ],
  ])('rejects %j naming %s', (annotations, annotation) => {
    let error: unknown;
    try {
      readApplicationLocator(annotations);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidAnnotationError);
    expect((error as InvalidAnnotationError).annotation).toBe(annotation);
    expect((error as Error).message).toContain(annotation);
  });
});
