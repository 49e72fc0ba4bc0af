import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  EnvironmentStatus,
  ImageReference,
} from '@gitops-backstage/plugin-gitops-common';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { ImageKeys, imageIn } from '../DeploymentStatus/desiredState';
import {
  requireValuesFile,
  safeParse,
  validateVersion,
  versionOf,
} from './plan';

/**
 * The image an earlier deployment of the environment ran: its values file at the
 * deployed revision, read as the desired state is. That version goes back into Git.
 */
export async function rollbackImage(options: {
  env: EnvironmentStatus;
  historyId: number;
  reader: GitConfigRepoReader;
  keys: ImageKeys;
}) {
  const { env, historyId } = options;
  const entry = env.live.history.find(h => h.id === historyId);
  if (!entry) {
    throw new NotFoundError(
      `${
        env.environment
      } has no deployment with history id ${historyId}; it has ${
        env.live.history.map(h => h.id).join(', ') || 'none'
      }`,
    );
  }
  const desired = requireValuesFile(env);
  const text = await options.reader.readFileAt(
    {
      repoURL: desired.valuesRepoURL ?? desired.repoURL,
      branch: desired.valuesTargetRevision ?? desired.targetRevision,
      file: desired.valuesFile!,
    },
    entry.revision,
  );
  const then = imageIn(
    text === undefined ? undefined : safeParse(text),
    options.keys,
  );
  const image = {
    repository:
      then.repository ??
      desired.image?.repository ??
      desired.noVersionYet?.repository,
    ...(then.tag && { tag: then.tag }),
    ...(then.digest && { digest: then.digest }),
  };
  const at = `${desired.valuesFile} at ${entry.revision.slice(0, 7)}`;
  if (!image.repository || !versionOf(image)) {
    throw new ConflictError(`${at} names no image version to go back to`);
  }
  validateVersion(image, `${desired.valuesFile} at ${entry.revision}`);
  return {
    image: image as ImageReference,
    detail: `The version of deployment ${historyId} (${entry.revision.slice(
      0,
      7,
    )}, ${
      entry.deployedAt
    }). Argo CD's automated sync keeps what Git says, so the rollback is written to Git.`,
  };
}
