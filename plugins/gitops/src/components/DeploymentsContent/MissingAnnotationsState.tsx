import { CodeSnippet, EmptyState } from '@backstage/core-components';
import {
  ARGOCD_ANNOTATIONS,
  DEFAULT_ENVIRONMENTS,
} from '@gitops-backstage/plugin-gitops-common';

/** The annotations to add, for an entity named `name`. */
export function annotationExample(name: string): string {
  const names = DEFAULT_ENVIRONMENTS.map(env => `${name}-${env}`).join(',');
  return [
    'metadata:',
    '  annotations:',
    `    ${ARGOCD_ANNOTATIONS.appSelector}: app.kubernetes.io/name=${name}`,
    `    # or: ${ARGOCD_ANNOTATIONS.appName}: ${names}`,
  ].join('\n');
}

export function MissingAnnotationsState(props: { entityName: string }) {
  return (
    <EmptyState
      missing="field"
      title="No Argo CD Applications linked to this entity"
      description={
        <>
          Add the <code>{ARGOCD_ANNOTATIONS.appSelector}</code> annotation (a
          label selector matching its Applications) or the{' '}
          <code>{ARGOCD_ANNOTATIONS.appName}</code> annotation (a
          comma-separated list of Application names) to the entity's{' '}
          <code>catalog-info.yaml</code>. Optionally, narrow the search with{' '}
          <code>{ARGOCD_ANNOTATIONS.projectName}</code>,{' '}
          <code>{ARGOCD_ANNOTATIONS.instanceName}</code> or{' '}
          <code>{ARGOCD_ANNOTATIONS.appNamespace}</code>.
        </>
      }
      action={
        <CodeSnippet
          text={annotationExample(props.entityName)}
          language="yaml"
          showCopyCodeButton
        />
      }
    />
  );
}
