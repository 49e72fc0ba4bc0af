import { mockCredentials } from '@backstage/backend-test-utils';
import { Entity } from '@backstage/catalog-model';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { ownerReviewers } from './reviewers';

const user = (name: string, annotations: Record<string, string>): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'User',
  metadata: { name, namespace: 'default', annotations },
  spec: {},
});
const service = (owner: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'service-a', namespace: 'default' },
  spec: { owner, type: 'service', lifecycle: 'production' },
});

const catalog = catalogServiceMock({
  entities: [
    {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Group',
      metadata: {
        name: 'team-checkout',
        namespace: 'default',
        annotations: { 'github.com/team-slug': 'acme/checkout' },
      },
      spec: { type: 'team', children: [] },
      relations: [
        { type: 'hasMember', targetRef: 'user:default/ada' },
        { type: 'hasMember', targetRef: 'user:default/bob' },
        { type: 'hasMember', targetRef: 'user:default/carol' },
      ],
    },
    user('ada', { 'github.com/user-login': 'ada-gh' }),
    user('bob', { 'gitlab.com/user-login': 'bob-gl' }),
    user('carol', {}),
  ],
});

describe('ownerReviewers', () => {
  const credentials = mockCredentials.service();

  it("asks a group owner's team and its members' SCM logins", async () => {
    expect(
      await ownerReviewers(catalog, credentials, service('team-checkout')),
    ).toEqual({ users: ['ada-gh', 'bob-gl'], teams: ['acme/checkout'] });
  });

  it('asks a user owner, and nobody for an owner the catalog does not know', async () => {
    expect(
      await ownerReviewers(catalog, credentials, service('user:ada')),
    ).toEqual({ users: ['ada-gh'], teams: [] });
    expect(
      await ownerReviewers(catalog, credentials, service('group:nobody')),
    ).toEqual({ users: [], teams: [] });
  });
});
