import {
  Entity,
  parseEntityRef,
  RELATION_HAS_MEMBER,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { CatalogService } from '@backstage/plugin-catalog-node';

/** Logins on the SCMs, as Backstage's GitHub and GitLab org providers annotate users. */
const LOGIN_ANNOTATIONS = ['github.com/user-login', 'gitlab.com/user-login'];
const TEAM_ANNOTATION = 'github.com/team-slug';

export interface Reviewers {
  users: string[];
  teams: string[];
}

/**
 * Who reviews a pull request for the entity: its owner — a user's login, or a group's
 * team slug and its members' logins. Unknown owners ask nobody.
 */
export async function ownerReviewers(
  catalog: CatalogService,
  credentials: BackstageCredentials,
  entity: Entity,
): Promise<Reviewers> {
  const owner = (entity.spec as { owner?: unknown } | undefined)?.owner;
  if (typeof owner !== 'string') return { users: [], teams: [] };
  const ownerRef = stringifyEntityRef(
    parseEntityRef(owner, {
      defaultKind: 'group',
      defaultNamespace: entity.metadata.namespace ?? 'default',
    }),
  );
  const ownerEntity = await catalog.getEntityByRef(ownerRef, { credentials });
  if (!ownerEntity) return { users: [], teams: [] };
  const logins = (e: Entity | undefined) =>
    LOGIN_ANNOTATIONS.map(a => e?.metadata.annotations?.[a]).filter(
      (login): login is string => Boolean(login),
    );
  if (ownerEntity.kind.toLowerCase() === 'user') {
    return { users: logins(ownerEntity), teams: [] };
  }
  const memberRefs = (ownerEntity.relations ?? [])
    .filter(r => r.type === RELATION_HAS_MEMBER)
    .map(r => r.targetRef);
  const { items } = memberRefs.length
    ? await catalog.getEntitiesByRefs(
        { entityRefs: memberRefs, fields: ['metadata.annotations'] },
        { credentials },
      )
    : { items: [] };
  const team = ownerEntity.metadata.annotations?.[TEAM_ANNOTATION];
  return {
    users: [...new Set(items.flatMap(logins))],
    teams: team ? [team] : [],
  };
}
