import { BareRepository } from '../git/repoFiles';
import { ArgoError } from './errors';
import { AppState, Json, sourcesOf } from './model';
import { Renderer } from './render';

// What Argo CD's API answers about an Application's sources: a Git source's commits,
// a chart source's versions.

/** The Git repository of source `sourceIndex`; a chart source has none. */
export function repositoryOf(
  renderer: Renderer,
  state: AppState,
  sourceIndex = 0,
): BareRepository {
  const source = sourcesOf(state.manifest.spec)[sourceIndex];
  if (source?.chart) {
    // Argo CD answers a chart's versions on `…/revisions/{version}/chartdetails`.
    throw new ArgoError(
      'InvalidArgument',
      `source ${sourceIndex} of ${state.manifest.metadata.name} is a Helm chart, not a Git repository`,
    );
  }
  return renderer.repository(source?.repoURL ?? '');
}

/** The Chart.yaml details of a chart source's version (`GET …/chartdetails`). */
export async function chartDetails(
  renderer: Renderer,
  state: AppState,
  revision: string,
  sourceIndex = 0,
): Promise<Json> {
  const source = sourcesOf(state.manifest.spec)[sourceIndex];
  if (!source?.chart) {
    throw new ArgoError(
      'InvalidArgument',
      `source ${sourceIndex} of ${state.manifest.metadata.name} is not a Helm chart`,
    );
  }
  return renderer.chartDetails(source, revision).catch(error => {
    throw new ArgoError('NotFound', (error as Error).message);
  });
}
