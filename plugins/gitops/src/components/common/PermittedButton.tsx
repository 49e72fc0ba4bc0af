import { usePermission } from '@backstage/plugin-permission-react';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import Button, { ButtonProps } from '@material-ui/core/Button';
import Tooltip from '@material-ui/core/Tooltip';

/**
 * A button for an action on an entity: disabled, with the reason on hover, where the
 * backend says the Application may not be changed from this entity (`refusal`) or the
 * permission policy says no.
 */
export function PermittedButton(
  props: ButtonProps & {
    permission: ResourcePermission<'catalog-entity'>;
    entityRef: string;
    /** The verb for the reason: "You may not <verb> <entity>". */
    verb: string;
    /** Why the backend would refuse whatever the permission says (not owned...). */
    refusal?: string;
  },
) {
  const { permission, entityRef, verb, disabled, refusal, ...buttonProps } =
    props;
  const { allowed, loading } = usePermission({
    permission,
    resourceRef: entityRef,
  });
  const button = (
    <Button
      {...buttonProps}
      disabled={disabled || Boolean(refusal) || !allowed || loading}
    />
  );
  if (!refusal && (allowed || loading)) return button;
  return (
    <Tooltip
      title={refusal ?? `You may not ${verb} ${entityRef} (${permission.name})`}
    >
      {/* A disabled button gets no hover events: the span carries the tooltip. */}
      <span>{button}</span>
    </Tooltip>
  );
}

/** The backend's message: ResponseError carries it in its body. */
export function backendMessage(error: unknown): string {
  const body = (error as { body?: { error?: { message?: string } } }).body;
  return body?.error?.message ?? (error as Error).message;
}
