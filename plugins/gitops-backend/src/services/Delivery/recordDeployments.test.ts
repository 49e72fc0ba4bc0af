import { Entity } from '@backstage/catalog-model';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import { DeploymentRecorder, recordDeployments } from './DeploymentRecorder';

const entity = (name: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name },
});

describe('a pass of recording', () => {
  const recorded: string[] = [];
  const recorder = {
    record: async (e: Entity) => {
      recorded.push(e.metadata.name);
    },
  } as unknown as DeploymentRecorder;
  beforeEach(() => recorded.splice(0));

  it('records every entity; one that never answers or fails holds none of the others up', async () => {
    const status = {
      entityStatus: (e: Entity) => {
        if (e.metadata.name === 'stuck') return new Promise<never>(() => {});
        if (e.metadata.name === 'broken')
          return Promise.reject(new Error('malformed annotation'));
        return Promise.resolve({} as EntityDeploymentStatus);
      },
    };
    await recordDeployments({
      entities: ['a', 'stuck', 'broken', 'b', 'c', 'd', 'e'].map(entity),
      status,
      recorder,
      entityTimeoutMs: 50,
    });
    expect(recorded.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('an aborted pass starts no more entities', async () => {
    const controller = new AbortController();
    controller.abort();
    await recordDeployments({
      entities: [entity('a')],
      status: { entityStatus: async () => ({} as EntityDeploymentStatus) },
      recorder,
      signal: controller.signal,
      entityTimeoutMs: 50,
    });
    expect(recorded).toEqual([]);
  });
});
