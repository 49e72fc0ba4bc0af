import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/core-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import useAsync from 'react-use/esm/useAsync';
import { gitopsApiRef } from '../../api';
import { pipelineEnvironments } from '../common/pipelineOrder';
import { DoraCard } from './DoraCard';

/**
 * The entity's four DORA figures, as a card of its overview page. Its environments come
 * from one status request; without them the selector offers the backend's choice only.
 */
export function EntityDoraCard() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const api = useApi(gitopsApiRef);
  const { value: status } = useAsync(
    () => api.getEntityStatus(entityRef),
    [api, entityRef],
  );
  return (
    <DoraCard
      entityRef={entityRef}
      environments={status ? pipelineEnvironments(status) : []}
    />
  );
}
