import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  isPermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  gitopsApplicationCreatePermission,
  gitopsPermissions,
} from '@gitops-backstage/plugin-gitops-common';

/**
 * The portal's permission policy.
 *
 * - The GitOps write permissions (promote, sync, rollback) are allowed only on entities the
 *   user owns, directly or through a group (`isEntityOwner` over the user's ownership refs).
 * - Creating Argo CD Applications from a template (`gitops.application.create`, a basic
 *   permission: the entity may not exist yet) is allowed to signed-in users; the action
 *   then creates only in the Argo CD projects and destinations app-config's
 *   `gitops.projects` hands to the user's groups, and replaces only their own.
 * - Everything else is allowed: reading the catalog, registering entities and running
 *   templates, as in a portal where every signed-in engineer may do those.
 *
 * To tighten it, add rules above the final ALLOW; see
 * https://backstage.io/docs/permissions/writing-a-policy
 */
export class GitopsPortalPolicy implements PermissionPolicy {
  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    if (isPermission(request.permission, gitopsApplicationCreatePermission)) {
      return { result: user ? AuthorizeResult.ALLOW : AuthorizeResult.DENY };
    }
    const gitopsWrite = gitopsPermissions.find(p =>
      isPermission(request.permission, p),
    );
    if (gitopsWrite) {
      // A GitOps permission this policy does not know yet is refused, not allowed.
      if (!user || gitopsWrite.type !== 'resource') {
        return { result: AuthorizeResult.DENY };
      }
      return createCatalogConditionalDecision(
        gitopsWrite,
        catalogConditions.isEntityOwner({
          claims: user.info.ownershipEntityRefs ?? [],
        }),
      );
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

export const permissionPolicyModule = createBackendModule({
  pluginId: 'permission',
  moduleId: 'gitops-portal-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new GitopsPortalPolicy());
      },
    });
  },
});
