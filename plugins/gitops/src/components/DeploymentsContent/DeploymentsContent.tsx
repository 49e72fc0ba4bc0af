import {
  ApplicationLocator,
  InvalidAnnotationError,
  readApplicationLocator,
} from '@gitops-backstage/plugin-gitops-common';
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useEntity } from '@backstage/plugin-catalog-react';
import Box from '@material-ui/core/Box';
import { ApplicationLocatorCard } from './ApplicationLocatorCard';
import { EntityDeployments } from './EntityDeployments';
import { InvalidAnnotationPanel } from './InvalidAnnotationPanel';
import { MissingAnnotationsState } from './MissingAnnotationsState';

type LocatorResult =
  | { locator: ApplicationLocator | undefined; error?: undefined }
  | { locator?: undefined; error: InvalidAnnotationError };

function readLocator(annotations?: Record<string, string>): LocatorResult {
  try {
    return { locator: readApplicationLocator(annotations) };
  } catch (error) {
    if (error instanceof InvalidAnnotationError) {
      return { error };
    }
    throw error;
  }
}

/**
 * The content of the entity "Deployments" tab.
 *
 * @remarks
 *
 * Must be rendered inside an entity context (`EntityProvider`).
 *
 * @public
 */
export function DeploymentsContent() {
  const { entity } = useEntity();
  const annotations = entity.metadata.annotations;
  const { locator, error } = readLocator(annotations);

  if (error) {
    return (
      <InvalidAnnotationPanel
        error={error}
        value={annotations?.[error.annotation]}
      />
    );
  }
  if (!locator) {
    return <MissingAnnotationsState entityName={entity.metadata.name} />;
  }
  return (
    <Box
      display="flex"
      flexDirection="column"
      style={{ gap: 16 }}
      data-testid="gitops-deployments"
    >
      <EntityDeployments entityRef={stringifyEntityRef(entity)} />
      <ApplicationLocatorCard locator={locator} />
    </Box>
  );
}
