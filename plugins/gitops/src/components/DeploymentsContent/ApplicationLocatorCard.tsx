import { InfoCard, StructuredMetadataTable } from '@backstage/core-components';
import { ApplicationLocator } from '@gitops-backstage/plugin-gitops-common';

function describe(locator: ApplicationLocator): Record<string, unknown> {
  const found =
    locator.kind === 'names'
      ? { 'Applications (by name)': locator.names }
      : {
          'Label selector': locator.selector,
          Projects:
            locator.projects.length > 0 ? locator.projects : 'any project',
        };
  return {
    ...found,
    'Argo CD instance': locator.instanceName ?? 'all configured instances',
    ...(locator.appNamespace && {
      'Application namespace': locator.appNamespace,
    }),
  };
}

export function ApplicationLocatorCard(props: { locator: ApplicationLocator }) {
  return (
    <InfoCard
      title="Argo CD Applications"
      variant="gridItem"
      subheader="How this entity's Applications are found, from its annotations"
    >
      <StructuredMetadataTable
        metadata={describe(props.locator)}
        options={{ titleFormat: key => key }}
      />
    </InfoCard>
  );
}
