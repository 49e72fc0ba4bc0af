import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { CATALOG_FILTER_EXISTS } from '@backstage/catalog-client';
import { Entity } from '@backstage/catalog-model';
import { ARGOCD_ANNOTATIONS } from '@gitops-backstage/plugin-gitops-common';
import type { CatalogService } from '@backstage/plugin-catalog-node';

/** Every entity the annotations tie to Argo CD Applications, with what views need. */
export async function annotatedEntities(
  catalog: CatalogService,
  credentials: BackstageCredentials,
): Promise<Entity[]> {
  const { items } = await catalog.getEntities(
    {
      filter: [
        {
          [`metadata.annotations.${ARGOCD_ANNOTATIONS.appSelector}`]:
            CATALOG_FILTER_EXISTS,
        },
        {
          [`metadata.annotations.${ARGOCD_ANNOTATIONS.appName}`]:
            CATALOG_FILTER_EXISTS,
        },
      ],
      fields: [
        'kind',
        'metadata.namespace',
        'metadata.name',
        'metadata.title',
        'metadata.annotations',
        'spec.owner',
        'spec.system',
      ],
    },
    { credentials },
  );
  return items;
}
