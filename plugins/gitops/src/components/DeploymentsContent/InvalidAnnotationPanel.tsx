import { WarningPanel } from '@backstage/core-components';
import { InvalidAnnotationError } from '@gitops-backstage/plugin-gitops-common';

export function InvalidAnnotationPanel(props: {
  error: InvalidAnnotationError;
  value?: string;
}) {
  const { error, value } = props;
  return (
    <WarningPanel
      title="Invalid Argo CD annotation"
      defaultExpanded
      message={
        <>
          {error.message}.
          {value !== undefined && (
            <>
              {' '}
              Current value of <code>{error.annotation}</code>:{' '}
              <code>{value}</code>.
            </>
          )}{' '}
          Fix it in the entity's <code>catalog-info.yaml</code>.
        </>
      }
    />
  );
}
