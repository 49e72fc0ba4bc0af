import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  ApplicationLocator,
  EnvironmentStatus,
  FleetStatus,
  InstanceError,
} from '@gitops-backstage/plugin-gitops-common';
import { GitopsLiveStateSource } from '@gitops-backstage/plugin-gitops-node';
import { GitopsConfig } from '../../config';
import { ListedApplication } from '../applicationSchema';
import { DesiredStateReader, driftOf } from './desiredState';
import { environmentStatusOf } from './environmentStatus';
import {
  environmentOrder,
  locatorOf,
  sortByOrder,
  tooManyApplications,
} from './entityAnnotations';

/** Applications running nothing whose config one fleet request may read from Git. */
export const FLEET_CONFIG_READS = 20;

/** What one instance gave the fleet: its Applications by entity, or why not. */
export type FleetList = {
  source: GitopsLiveStateSource;
  index?: { find(locator: ApplicationLocator): ListedApplication[] };
  error?: Omit<InstanceError, 'instance'>;
};

/**
 * Every entity's environments from the instances' lists (live state; the desired state
 * only where a recent entity view read it, or for a few that run nothing yet).
 */
export async function fleetStatusOf(
  entities: Entity[],
  lists: FleetList[],
  options: {
    config: GitopsConfig;
    desired: DesiredStateReader;
    logger: LoggerService;
  },
): Promise<FleetStatus> {
  const { config, desired } = options;
  const errors: InstanceError[] = lists.flatMap(({ source, error }) =>
    error ? [{ instance: source.id, ...error }] : [],
  );
  const unread: Unread[] = [];
  const answer: FleetStatus = {
    environmentOrder: config.environments,
    errors,
    entities: entities.map(entity => {
      const summary = {
        entityRef: stringifyEntityRef(entity),
        title: entity.metadata.title,
        owner: entity.spec?.owner as string | undefined,
        system: entity.spec?.system as string | undefined,
      };
      let locator: ApplicationLocator;
      try {
        locator = locatorOf(entity);
      } catch (error) {
        return {
          ...summary,
          environments: [],
          error: {
            code: 'invalid-annotation' as const,
            message: (error as Error).message,
          },
        };
      }
      const matched = lists.flatMap(({ source, index }) =>
        !index || (locator.instanceName && locator.instanceName !== source.id)
          ? []
          : index.find(locator).map(app => ({ source, app })),
      );
      const tooMany = tooManyApplications(
        config.maxApplicationsPerEntity,
        summary.entityRef,
        matched.length,
        'matches',
      );
      if (tooMany) {
        return {
          ...summary,
          environments: [],
          error: { code: 'invalid-annotation' as const, message: tooMany },
        };
      }
      const environments = matched.map(({ source, app }) => {
        const status = withCachedDesired(
          desired,
          environmentStatusOf(source, app, entity, locator, config),
          app,
        );
        if (!status.desired && !app.malformed && !status.live.images.length)
          unread.push({ status, app });
        return status;
      });
      return {
        ...summary,
        environments: sortByOrder(
          environments,
          environmentOrder(entity, config.environments),
        ),
      };
    }),
  };
  await readNothingRunning(unread, options);
  return answer;
}

type Unread = { status: EnvironmentStatus; app: ListedApplication };

/**
 * The config of Applications that run nothing and no recent view read: a new service
 * (no version yet) says so in the fleet instead of nothing. At most
 * {@link FLEET_CONFIG_READS} a request, one Git read per repository, then cached.
 */
async function readNothingRunning(
  unread: Unread[],
  options: { desired: DesiredStateReader; logger: LoggerService },
) {
  const batch = unread.slice(0, FLEET_CONFIG_READS);
  if (!batch.length) return;
  let desired;
  try {
    desired = await options.desired.readAll(batch.map(u => u.app));
  } catch (error) {
    // The fleet is live state first: an unexpected Git failure leaves these unknown.
    // Its message is not logged: it may carry a repository URL with credentials.
    options.logger.warn(
      'Fleet: the config of Applications that run nothing could not be read',
      { error: (error as Error).name },
    );
    return;
  }
  batch.forEach(({ status }, i) => {
    status.desired = desired[i];
    status.drift = driftOf(desired[i], status.live.images);
  });
}

/** Adds the desired state and drift when a recent entity view read them (no Git read). */
function withCachedDesired(
  desired: DesiredStateReader,
  status: EnvironmentStatus,
  app: ListedApplication,
) {
  if (app.malformed) return status;
  const read = desired.peek(app);
  if (read) {
    status.desired = read;
    status.drift = driftOf(read, status.live.images);
  }
  return status;
}
