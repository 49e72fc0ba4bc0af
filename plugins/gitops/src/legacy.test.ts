import {
  EntityDoraCard,
  EntityGitopsDeploymentsContent,
  gitopsPlugin,
  isGitopsAvailable,
} from './legacy';

describe('legacy gitops plugin', () => {
  it('provides the deployments content and the entity filter', () => {
    expect(gitopsPlugin.getId()).toBe('gitops');
    expect(gitopsPlugin.routes.entityContent).toBeDefined();
    expect(EntityGitopsDeploymentsContent).toBeInstanceOf(Function);
    expect(EntityDoraCard).toBeInstanceOf(Function);
    expect(
      isGitopsAvailable({
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: {
          name: 'service-a',
          annotations: { 'argocd/app-selector': 'app=service-a' },
        },
      }),
    ).toBe(true);
  });
});
