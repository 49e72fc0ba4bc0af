import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogEntityReadPermission } from '@backstage/plugin-catalog-common/alpha';
import {
  gitopsApplicationCreatePermission,
  gitopsApplicationRollbackPermission,
  gitopsApplicationSyncPermission,
  gitopsPromotionCreatePermission,
} from '@gitops-backstage/plugin-gitops-common';
import { PolicyQueryUser } from '@backstage/plugin-permission-node';
import { GitopsPortalPolicy } from './permissionPolicy';

const user = {
  info: {
    userEntityRef: 'user:default/guest',
    ownershipEntityRefs: ['user:default/guest', 'group:default/team-checkout'],
  },
} as PolicyQueryUser;

describe('GitopsPortalPolicy', () => {
  const policy = new GitopsPortalPolicy();

  it('allows reading the catalog', async () => {
    await expect(
      policy.handle({ permission: catalogEntityReadPermission }, user),
    ).resolves.toEqual({ result: AuthorizeResult.ALLOW });
  });

  it.each([
    gitopsPromotionCreatePermission,
    gitopsApplicationSyncPermission,
    gitopsApplicationRollbackPermission,
  ])('allows $name only on entities the user owns', async permission => {
    await expect(policy.handle({ permission }, user)).resolves.toEqual({
      result: AuthorizeResult.CONDITIONAL,
      pluginId: 'catalog',
      resourceType: 'catalog-entity',
      conditions: {
        rule: 'IS_ENTITY_OWNER',
        resourceType: 'catalog-entity',
        params: {
          claims: ['user:default/guest', 'group:default/team-checkout'],
        },
      },
    });
  });

  it('denies gitops writes without a user', async () => {
    await expect(
      policy.handle({ permission: gitopsPromotionCreatePermission }),
    ).resolves.toEqual({ result: AuthorizeResult.DENY });
  });

  it('allows gitops.application.create to signed-in users only (the action checks their projects)', async () => {
    await expect(
      policy.handle({ permission: gitopsApplicationCreatePermission }, user),
    ).resolves.toEqual({ result: AuthorizeResult.ALLOW });
    await expect(
      policy.handle({ permission: gitopsApplicationCreatePermission }),
    ).resolves.toEqual({ result: AuthorizeResult.DENY });
  });
});
