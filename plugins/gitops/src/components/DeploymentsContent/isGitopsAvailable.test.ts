import { Entity } from '@backstage/catalog-model';
import { isGitopsAvailable } from './isGitopsAvailable';

function entity(annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'service-a', annotations },
  };
}

describe('isGitopsAvailable', () => {
  it('is true with argocd/app-name or argocd/app-selector', () => {
    expect(isGitopsAvailable(entity({ 'argocd/app-name': 'a-dev' }))).toBe(
      true,
    );
    expect(isGitopsAvailable(entity({ 'argocd/app-selector': 'app=a' }))).toBe(
      true,
    );
  });

  it('is true for a malformed annotation, so the tab can explain it', () => {
    expect(isGitopsAvailable(entity({ 'argocd/app-name': '' }))).toBe(true);
  });

  it('is false without them', () => {
    expect(isGitopsAvailable(entity())).toBe(false);
    expect(
      isGitopsAvailable(entity({ 'argocd/project-name': 'checkout' })),
    ).toBe(false);
  });
});
