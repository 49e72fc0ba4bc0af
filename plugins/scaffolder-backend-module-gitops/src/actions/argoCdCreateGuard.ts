import {
  BackstageCredentials,
  PermissionsService,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import {
  APPLICATION_ENTITY_ANNOTATION,
  gitopsApplicationCreatePermission,
} from '@gitops-backstage/plugin-gitops-common';
import {
  applicationEntityRef,
  destinationAllowed,
  ProjectOwnership,
  projectOwnedBy,
  redactUrl,
  sourceRepoAllowed,
} from '@gitops-backstage/plugin-gitops-node';
import { ArgoCdClient } from './argoCdClient';
import { Destination, Generated } from './argoCdManifests';

/** Who runs the template, as far as creating Applications goes. */
export interface Initiator {
  /** The user's entity ref, for messages and the audit log. */
  actor: string;
  /** The user and the groups it is in: the owners gitops.projects names. */
  ownershipRefs: string[];
}

/** What one run of the action would create, and where it deploys. */
export interface CreateRequest {
  kind: 'Application' | 'ApplicationSet';
  name: string;
  namespace: string;
  /** The entity the Application(s) will name as their own. */
  entityRef: string;
  /** The Application, or those the set generates: name, project, destination. */
  deploys: Generated[];
  upsert: boolean;
}

const PROJECTS_KEY = "app-config's gitops.projects";

/** Who the credentials are: a user's entity ref, else the kind of principal. */
export function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as {
    type: string;
    userEntityRef?: string;
  };
  return principal.type === 'user' && principal.userEntityRef
    ? principal.userEntityRef
    : principal.type;
}

function describe(destination: Destination) {
  const cluster = destination.server ?? `cluster "${destination.name}"`;
  return `${cluster} namespace "${destination.namespace}"`;
}

/**
 * Who may create which Argo CD Applications through `argocd:application:create`:
 * the user running the template needs the permission `gitops.application.create`,
 * every Application goes into an Argo CD project that app-config (`gitops.projects`)
 * hands to that user or one of their groups, towards a destination listed for it,
 * with sources among its `sourceRepos`, and an existing Application or ApplicationSet
 * is replaced only when it names the same entity. Each refusal is a NotAllowedError saying which rule refused.
 */
export class ArgoCdCreateGuard {
  constructor(
    private readonly options: {
      projects: ProjectOwnership[];
      permissions: PermissionsService;
      userInfo: UserInfoService;
    },
  ) {}

  /** The permission, the projects and the destinations: no Argo CD call. */
  async authorize(
    credentials: BackstageCredentials,
    request: CreateRequest,
  ): Promise<Initiator> {
    const actor = actorOf(credentials);
    const [decision] = await this.options.permissions.authorize(
      [{ permission: gitopsApplicationCreatePermission }],
      { credentials },
    );
    if (decision?.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `${actor} may not create Argo CD Applications: the permission ${gitopsApplicationCreatePermission.name} was refused`,
      );
    }
    if ((credentials.principal as { type: string }).type !== 'user') {
      throw new NotAllowedError(
        `Argo CD Applications are created for a signed-in user, whose groups ${PROJECTS_KEY} hands projects to; this template runs as ${actor}`,
      );
    }
    const { ownershipEntityRefs } = await this.options.userInfo.getUserInfo(
      credentials,
    );
    const initiator = { actor, ownershipRefs: ownershipEntityRefs };
    for (const deploy of request.deploys) {
      this.checkProject(initiator, deploy.project);
      const project = this.options.projects.find(
        p => p.name === deploy.project,
      )!;
      if (!destinationAllowed(project, deploy.destination)) {
        const allowed = project.destinations.map(describe).join(', ') || 'none';
        throw new NotAllowedError(
          `Application "${deploy.name}" would deploy to ${describe(
            deploy.destination,
          )}, which is not a destination of Argo CD project "${
            deploy.project
          }" in ${PROJECTS_KEY} (allowed: ${allowed})`,
        );
      }
      this.checkSourceRepos(deploy, project);
    }
    return initiator;
  }

  /**
   * What already exists under the names to be created: with upsert, the Application
   * (ApplicationSet) itself; for a set, every Application it generates, which its
   * controller would otherwise take over. Each must name the same entity, and an
   * Application must be in a project handed to the user.
   */
  async checkExisting(
    client: ArgoCdClient,
    request: CreateRequest,
    initiator: Initiator,
  ) {
    const { kind, name, namespace } = request;
    if (request.upsert && kind === 'ApplicationSet') {
      const existing = await client.getApplicationSet(name, namespace);
      if (existing) {
        const owner =
          applicationEntityRef(existing) ??
          applicationEntityRef(existing.spec?.template ?? {});
        this.checkOwner(`ApplicationSet ${namespace}/${name}`, owner, request);
      }
    }
    const applications =
      kind === 'ApplicationSet' || request.upsert ? request.deploys : [];
    for (const { name: app } of applications) {
      const existing = await client.getApplication(app, namespace);
      if (!existing) continue;
      const what = `Application ${namespace}/${app}`;
      this.checkOwner(what, applicationEntityRef(existing), request);
      this.checkProject(initiator, existing.spec?.project, what);
    }
  }

  /** Every source's repository is among the project's sourceRepos, as Argo CD's AppProject would demand. */
  private checkSourceRepos(deploy: Generated, project: ProjectOwnership) {
    const outside = deploy.repoURLs.find(
      repoURL => !sourceRepoAllowed(project, repoURL),
    );
    if (outside === undefined) return;
    const where = `${PROJECTS_KEY}[${project.name}]`;
    throw new NotAllowedError(
      `Application "${deploy.name}" would use repository ${redactUrl(
        outside,
      )}, which Argo CD project "${project.name}" may not use: ${
        project.sourceRepos.length
          ? `it is not among the sourceRepos of ${where} (allowed: ${project.sourceRepos
              .map(redactUrl)
              .join(', ')})`
          : `${where} lists no sourceRepos, so it allows no repository: add sourceRepos to gitops.projects[${project.name}]`
      }`,
    );
  }

  private checkOwner(
    what: string,
    owner: string | undefined,
    request: CreateRequest,
  ) {
    if (owner === request.entityRef) return;
    throw new NotAllowedError(
      owner
        ? `${what} exists and belongs to ${owner} (annotation ${APPLICATION_ENTITY_ANNOTATION}), not to ${request.entityRef}: not replacing it`
        : `${what} exists and names no entity (annotation ${APPLICATION_ENTITY_ANNOTATION}): not replacing it for ${request.entityRef}; its owners may add the annotation first`,
    );
  }

  private checkProject(
    initiator: Initiator,
    project: string | undefined,
    what?: string,
  ) {
    if (
      projectOwnedBy(this.options.projects, project, initiator.ownershipRefs)
    ) {
      return;
    }
    const listed = this.options.projects.some(p => p.name === project);
    throw new NotAllowedError(
      `${what ? `${what} is in ` : ''}Argo CD project "${project}"${
        listed
          ? `, which ${PROJECTS_KEY} does not hand to ${initiator.actor} or their groups`
          : `, which ${PROJECTS_KEY} does not list`
      }: Applications are created only in projects it hands to their owners`,
    );
  }
}
