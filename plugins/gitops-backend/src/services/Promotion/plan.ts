import path from 'node:path';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import type { ChangeLog } from '@gitops-backstage/plugin-gitops-common';
import { ConflictError, InputError } from '@backstage/errors';
import {
  DesiredState,
  EnvironmentStatus,
  ImageReference,
  PromotionGate,
  PromotionMove,
  PromotionRecord,
  setYamlValues,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ConfigRepoWriter,
  ValuesFileChange,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { parse as parseYaml } from 'yaml';
import { ImageKeys, imageIn } from '../DeploymentStatus/desiredState';

/** OCI tag and digest grammars: anything else must not reach a values file. */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

/** What one write is about: the planned change and how to record it. */
export interface Plan {
  kind: PromotionRecord['kind'];
  entityRef: string;
  from: string;
  to: string;
  version: string;
  previous?: string;
  method: 'commit' | 'pull-request';
  gates: PromotionGate[];
  /** Its `edit` refuses (409) a text that would not pin the version afterwards. */
  change: ValuesFileChange;
  valueKey: string;
  /** The versions the change moves: the image's, the chart's, or both. */
  moves: PromotionMove[];
  /** The app-repository commits the image move ships, when they could be read. */
  changeLog?: ChangeLog;
  writer: ConfigRepoWriter;
}

/** The version an environment's config names: its digest (it pins), else its tag. */
export function versionOf(image: Partial<ImageReference> | undefined) {
  return image?.digest || image?.tag || undefined;
}

/**
 * The write of `image` into the target environment's own values file. The file ends up
 * pinning exactly that image: the tag and the digest are both written from it, and a
 * key the image lacks is emptied where the target has it (a digest left behind would
 * keep pinning the old version; an empty key overrides the chart's, as Helm merges).
 */
export function planChange(options: {
  kind: Plan['kind'];
  entity: Entity;
  from: string;
  to: string;
  image: ImageReference;
  target: EnvironmentStatus;
  method: Plan['method'];
  gates: PromotionGate[];
  actor: string;
  message: string;
  detail?: string;
  keys: ImageKeys;
  writerFor: (repoURL: string) => ConfigRepoWriter;
}): Plan {
  const { image, target, actor, to, keys } = options;
  const desired = requireValuesFile(target);
  const current = desired.image;
  const values: Record<string, string> = {};
  for (const key of ['tag', 'digest'] as const) {
    if (image[key]) values[keys[key]] = image[key]!;
    else if (current?.[key]) values[keys[key]] = '';
  }
  // An environment with no version yet still names its repository (the chart's).
  const repository = current?.repository ?? desired.noVersionYet?.repository;
  if (repository !== image.repository)
    values[keys.repository] = image.repository;
  const version = versionOf(image)!;
  const previous = versionOf(current);
  const repoURL = desired.valuesRepoURL ?? desired.repoURL;
  const writer = writerFor(options, repoURL);
  const valueKey = image.digest ? keys.digest : keys.tag;
  return {
    kind: options.kind,
    entityRef: stringifyEntityRef(options.entity),
    from: options.from,
    to,
    version,
    ...(previous && { previous }),
    method: options.method,
    gates: options.gates,
    valueKey,
    moves: [
      {
        what: 'image',
        ...(previous && { from: previous }),
        to: version,
        file: desired.valuesFile!,
        key: valueKey,
      },
    ],
    writer,
    change: {
      repoURL,
      branch: desired.valuesTargetRevision ?? desired.targetRevision,
      file: desired.valuesFile!,
      edit: pinningEdit(values, image, keys, `${to}'s ${desired.valuesFile}`),
      message: commitMessage({ ...options, previous }),
      author: { name: actor, email: 'backstage-gitops@noreply.local' },
    },
  };
}

/** The writer of the repository; refused (400) when the method needs pull requests it cannot open. */
export function writerFor(
  options: {
    kind: Plan['kind'];
    to: string;
    method: Plan['method'];
    writerFor: (repoURL: string) => ConfigRepoWriter;
  },
  repoURL: string,
): ConfigRepoWriter {
  const { kind, to } = options;
  const writer = options.writerFor(repoURL);
  if (options.method === 'pull-request' && !writer.openPullRequest) {
    throw new InputError(
      `${
        kind === 'rollback' ? 'A rollback of' : 'Promotion to'
      } ${to} is by pull request, but ${redactUrl(
        repoURL,
      )} is on a Git server without pull requests (writer "${
        writer.id
      }"); configure its GitHub or GitLab integration, or set gitops.promotion.methods.${to}: commit`,
    );
  }
  return writer;
}

/** The commit message of a write: what, why, what ran before and who asked. */
export function commitMessage(options: {
  message: string;
  detail?: string;
  to: string;
  previous?: string;
  actor: string;
}) {
  const { message, detail, to, previous, actor } = options;
  return `${message}\n\n${detail ? `${detail}\n` : ''}${to} ran ${
    previous ?? 'nothing'
  }. Requested by ${actor} in Backstage.`;
}

/**
 * Sets `values` and reads the result back with the reader that computes the desired
 * version: unless the text then pins exactly `image`, the edit refuses (409), and a
 * writer whose edit refuses writes nothing. One check for every writer.
 */
export function pinningEdit(
  values: Record<string, string>,
  image: ImageReference,
  keys: ImageKeys,
  where: string,
): (before: string) => string {
  const version = versionOf(image);
  return before => {
    let after: string;
    try {
      after = setYamlValues(before, values);
    } catch (error) {
      throw new ConflictError(
        `${where} cannot take ${version}: ${
          (error as Error).message
        }; nothing was written`,
      );
    }
    const pinned = imageIn(safeParse(after), keys);
    const pins =
      (pinned.tag || undefined) === image.tag &&
      (pinned.digest || undefined) === image.digest &&
      (!(keys.repository in values) || pinned.repository === image.repository);
    if (!pins) {
      throw new ConflictError(
        `${where} would not pin ${version} after the edit (read back: tag ${
          pinned.tag || 'none'
        }, digest ${pinned.digest || 'none'}); nothing was written`,
      );
    }
    return after;
  };
}

/** The environment's own values file that names its image: the one a write changes. */
export function requireValuesFile(env: EnvironmentStatus): DesiredState {
  const desired = env.desired;
  if (!desired?.valuesFile) {
    throw new ConflictError(
      `${env.environment} has no values file with an image (${
        desired?.error?.message ?? 'unknown'
      })`,
    );
  }
  // Writing the chart's defaults would move every environment at once.
  if (
    desired.chart &&
    desired.valuesFile === path.posix.join(desired.chart.path, 'values.yaml')
  ) {
    throw new ConflictError(
      `${env.environment} takes its image version from ${desired.valuesFile}, which every environment shares; set it in ${env.environment}'s own values file (helm.valueFiles) first`,
    );
  }
  return desired;
}

/** Only OCI tags and digests reach a values file: no YAML, no newlines, no tricks. */
export function validateVersion(image: Partial<ImageReference>, where: string) {
  const invalid = (value: string, grammar: string) =>
    new InputError(
      `The image version ${JSON.stringify(
        value,
      )} in ${where} is not a valid ${grammar}; fix it there first`,
    );
  if (image.tag !== undefined && !TAG.test(image.tag)) {
    throw invalid(image.tag, 'OCI tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})');
  }
  if (image.digest !== undefined && !DIGEST.test(image.digest)) {
    throw invalid(image.digest, 'OCI digest (algorithm:hex)');
  }
}

/** YAML as the desired-state reader parses it; unreadable text pins nothing. */
export function safeParse(text: string): unknown {
  try {
    return parseYaml(text);
  } catch {
    return undefined;
  }
}
