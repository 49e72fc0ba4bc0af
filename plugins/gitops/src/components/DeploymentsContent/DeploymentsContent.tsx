import {
  ApplicationLocator,
  InvalidAnnotationError,
  readApplicationLocator,
} from '@gitops-backstage/plugin-gitops-common';
import { useEntity } from '@backstage/plugin-catalog-react';
import { ApplicationLocatorCard } from './ApplicationLocatorCard';
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
  return <ApplicationLocatorCard locator={locator} />;
}
