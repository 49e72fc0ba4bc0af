import { usePermission } from '@backstage/plugin-permission-react';
import { ResourcePermission } from '@backstage/plugin-permission-common';
import Button, { ButtonProps } from '@material-ui/core/Button';
import Tooltip from '@material-ui/core/Tooltip';

/**
 * A button for an action on an entity: disabled, with the reason on hover, where the
 * permission policy says no.
 */
export function PermittedButton(
  props: ButtonProps & {
    permission: ResourcePermission<'catalog-entity'>;
    entityRef: string;
    /** The verb for the reason: "You may not <verb> <entity>". */
    verb: string;
  },
) {
  const { permission, entityRef, verb, disabled, ...buttonProps } = props;
  const { allowed, loading } = usePermission({
    permission,
    resourceRef: entityRef,
  });
  const button = (
    <Button {...buttonProps} disabled={disabled || !allowed || loading} />
  );
  if (allowed || loading) return button;
  return (
    <Tooltip title={`You may not ${verb} ${entityRef} (${permission.name})`}>
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
