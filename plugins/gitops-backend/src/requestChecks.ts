import {
  AuditorService,
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import express from 'express';
import { z } from 'zod';

// What every route checks of a request before it acts: its parameters, the entity
// (read with the caller's credentials), the caller's permission, and the audit of a
// refusal.

export const entityParams = z.object({
  kind: z
    .string()
    .regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'kind must be a catalog kind'),
  namespace: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'namespace must be a catalog namespace'),
  name: z
    .string()
    .regex(
      /^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/,
      'name must be a catalog name',
    ),
});
export const environmentParams = entityParams.extend({
  environment: z
    .string()
    .regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, 'environment must be a name'),
});
export const revisionParams = environmentParams.extend({
  revision: z
    .string()
    .regex(
      /^[a-zA-Z0-9][-a-zA-Z0-9_.]{0,99}$/,
      'revision must be a commit SHA, tag or branch',
    ),
});

export function parse<S extends z.ZodTypeAny>(
  schema: S,
  value: unknown,
): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InputError(`Invalid ${issue.path.join('.')}: ${issue.message}`);
  }
  return result.data;
}

export function requestChecks(options: {
  catalog: CatalogService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  auditor: AuditorService;
}) {
  const { catalog, httpAuth, permissions, auditor } = options;

  /** The entity, read with the caller's credentials: the catalog's read permission applies. */
  async function entityOf(req: express.Request): Promise<Entity> {
    const ref = parse(entityParams, req.params);
    const entity = await catalog.getEntityByRef(
      { kind: ref.kind, namespace: ref.namespace, name: ref.name },
      { credentials: await httpAuth.credentials(req) },
    );
    if (!entity) {
      throw new NotFoundError(
        `No entity ${ref.kind}:${ref.namespace}/${ref.name}, or you may not read it`,
      );
    }
    return entity;
  }

  /** Refuses (403) unless the caller holds `permission` on the entity. */
  async function authorizeOn(
    req: express.Request,
    entityRef: string,
    permission: ResourcePermission<'catalog-entity'>,
    verb: string,
  ) {
    const credentials = await httpAuth.credentials(req);
    const [decision] = await permissions.authorize(
      [{ permission, resourceRef: entityRef }],
      { credentials },
    );
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not ${verb} ${entityRef} (permission ${permission.name})`,
      );
    }
    return credentials;
  }

  /**
   * Runs `check`; a refusal (403) is recorded as an auditor event of severity high with
   * its reason, then answered.
   */
  async function refusedAudited<T>(
    req: express.Request,
    eventId: string,
    meta: Record<string, unknown>,
    check: () => Promise<T>,
  ): Promise<T> {
    try {
      return await check();
    } catch (error) {
      if (error instanceof NotAllowedError)
        await auditRefusal(req, eventId, meta, error);
      throw error;
    }
  }

  async function auditRefusal(
    req: express.Request,
    eventId: string,
    meta: Record<string, unknown>,
    error: NotAllowedError,
  ) {
    const event = await auditor.createEvent({
      eventId,
      severityLevel: 'high',
      request: req,
      meta: { ...meta, refused: error.message },
    });
    await event.fail({ error });
  }

  /** The user a write is recorded for. */
  function actorOf(credentials: BackstageCredentials) {
    const principal = credentials.principal as {
      userEntityRef?: string;
      subject?: string;
    };
    return principal.userEntityRef ?? principal.subject ?? 'unknown';
  }

  return { entityOf, authorizeOn, refusedAudited, auditRefusal, actorOf };
}
