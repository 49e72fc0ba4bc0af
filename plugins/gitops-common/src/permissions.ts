import { createPermission } from '@backstage/plugin-permission-common';

/** Resource type of catalog entities (same value as the catalog's own). */
const RESOURCE_TYPE_CATALOG_ENTITY = 'catalog-entity';

/**
 * Promote a version from one environment of an entity to the next.
 * @public
 */
export const gitopsPromotionCreatePermission = createPermission({
  name: 'gitops.promotion.create',
  attributes: { action: 'create' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Sync or refresh an entity's Argo CD Application.
 * @public
 */
export const gitopsApplicationSyncPermission = createPermission({
  name: 'gitops.application.sync',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Roll an entity's Argo CD Application back to an earlier deployment.
 * @public
 */
export const gitopsApplicationRollbackPermission = createPermission({
  name: 'gitops.application.rollback',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Control an entity's Argo Rollouts Rollout: resume it past a pause (or promote a
 * blue/green preview), promote it fully, abort or retry its update.
 * @public
 */
export const gitopsRolloutControlPermission = createPermission({
  name: 'gitops.rollout.control',
  attributes: { action: 'update' },
  resourceType: RESOURCE_TYPE_CATALOG_ENTITY,
});

/**
 * Create or update an Argo CD Application (the `argocd:application:create` scaffolder
 * action), checked with the credentials of the user who runs the template. Not a
 * resource permission: the entity the Application belongs to may not exist yet.
 * @public
 */
export const gitopsApplicationCreatePermission = createPermission({
  name: 'gitops.application.create',
  attributes: { action: 'create' },
});

/**
 * Every permission this plugin set defines, for registration with the permission framework.
 * @public
 */
export const gitopsPermissions = [
  gitopsPromotionCreatePermission,
  gitopsApplicationSyncPermission,
  gitopsApplicationRollbackPermission,
  gitopsRolloutControlPermission,
  gitopsApplicationCreatePermission,
];
