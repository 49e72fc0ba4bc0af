import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  InputError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import {
  ApplicationLocator,
  EntityDeploymentStatus,
  FleetStatus,
  InstanceError,
  RevisionMetadata,
} from '@gitops-backstage/plugin-gitops-common';
import {
  ApplicationQuery,
  ArgoApplication,
  GitopsLiveStateSource,
  GitopsSourceError,
} from '@gitops-backstage/plugin-gitops-node';
import { GitopsConfig } from '../../config';
import { checkApplications, ListedApplication } from '../applicationSchema';
import { UpstreamCache } from '../UpstreamCache';
import { ChartVersionReader } from '../ChartRepository/ChartVersionReader';
import { ApplicationIndex } from './applicationIndex';
import { LiveIndex } from '../LiveIndex/LiveIndex';
import { DesiredStateReader, driftOf } from './desiredState';
import { environmentStatusOf } from './environmentStatus';
import { fleetStatusOf } from './fleetStatus';
import { RolloutReader } from './rolloutReader';
import {
  environmentOrder,
  locatorOf,
  queryOf,
  sortByOrder,
  tooManyApplications,
  withPinnedAt,
} from './entityAnnotations';

export interface DeploymentStatusServiceOptions {
  sources: () => GitopsLiveStateSource[];
  cache: UpstreamCache;
  desired: DesiredStateReader;
  config: GitopsConfig;
  logger: LoggerService;
  /** Watched sources' Applications: read there, not asked of the source. */
  live?: LiveIndex;
  /** Versions of charts from chart repositories. */
  charts?: ChartVersionReader;
}

/**
 * Joins, per entity and environment, what Argo CD runs (live) with what the config
 * repository says (desired), and says whether the entity may write each environment
 * (see writeOwnership). Upstream answers are cached for `gitops.cacheSeconds`
 * (failures for a few seconds), identical concurrent loads share one upstream call,
 * and an entity matching more than `gitops.maxApplicationsPerEntity` Applications
 * gets an error instead of a Git read and a Rollout call for each.
 */
export class DeploymentStatusService {
  /** Indexes of cached lists: a warm fleet answer does not index again. */
  private readonly indexes = new WeakMap<ArgoApplication[], ApplicationIndex>();

  private readingAhead = 0;

  private readonly rollouts: RolloutReader;

  constructor(private readonly options: DeploymentStatusServiceOptions) {
    this.rollouts = new RolloutReader({
      cache: options.cache,
      cacheSeconds: options.config.cacheSeconds,
      logger: options.logger,
    });
  }

  /**
   * Reads what a first view of these Applications would read, so that views read
   * memory only: their config where the index has none yet and, with `rollouts`, their
   * Rollouts (at a watch's snapshot; after a change a view reads a Rollout again, as
   * reading ahead on every change would cost a request per Application change).
   */
  async readAhead(
    sourceId: string,
    apps: ArgoApplication[],
    options: { rollouts: boolean },
  ) {
    this.readingAhead++;
    try {
      const source = this.options.sources().find(s => s.id === sourceId);
      await Promise.all([
        this.options.desired.readAhead(apps),
        // The source bounds its own requests in flight.
        options.rollouts &&
          source &&
          Promise.all(apps.map(app => this.rollouts.read(source, app))),
      ]);
    } finally {
      this.readingAhead--;
    }
  }

  /** Whether a read ahead is under way. */
  isReadingAhead() {
    return this.readingAhead > 0;
  }

  private indexOf(apps: ArgoApplication[], source: GitopsLiveStateSource) {
    let index = this.indexes.get(apps);
    if (!index) {
      index = new ApplicationIndex(apps, source.applicationNamespace);
      this.indexes.set(apps, index);
    }
    return index;
  }

  /**
   * The entity's view. `fresh` reads Argo CD and Git anew (what an action checks
   * against); otherwise cached answers within the time to live serve.
   */
  async entityStatus(
    entity: Entity,
    options: { fresh?: boolean } = {},
  ): Promise<EntityDeploymentStatus> {
    // A fresh view lists anew; what it reads also refreshes the live index (below).
    if (options.fresh) await this.forgetLists(entity);
    const locator = locatorOf(entity);
    const entityRef = stringifyEntityRef(entity);
    if (locator.kind === 'names') {
      // One upstream call per name: bounded before any is made.
      this.checkLimit(entityRef, locator.names.length, 'names');
    }
    const order = environmentOrder(entity, this.options.config.environments);
    const sources = this.sourcesFor(locator);
    const answers = await Promise.all(
      sources.map(async source => {
        // An action (fresh) checks against the source itself.
        const index = !options.fresh && this.options.live?.index(source.id);
        return {
          source,
          answer: index
            ? { value: index.find(locator) }
            : await this.list(source, queryOf(locator)),
        };
      }),
    );

    const errors: InstanceError[] = [];
    const listed: Array<{
      source: GitopsLiveStateSource;
      app: ListedApplication;
    }> = [];
    for (const { source, answer } of answers) {
      if ('error' in answer) {
        errors.push({ instance: source.id, ...answer.error });
        continue;
      }
      listed.push(...answer.value.map(app => ({ source, app })));
      if (options.fresh) this.options.live?.observe(source.id, answer.value);
    }
    this.checkLimit(entityRef, listed.length, 'matches');

    // A malformed Application is shown with its error; nothing more is read for it.
    const found = listed.filter(({ app }) => !app.malformed);
    const [desired, rollouts, charts] = await Promise.all([
      this.options.desired.readAll(
        found.map(f => f.app),
        options,
      ),
      Promise.all(
        found.map(({ source, app }) => this.rollouts.read(source, app)),
      ),
      Promise.all(found.map(({ app }) => this.options.charts?.read(app))),
    ]);
    const environments = found.map(({ source, app }, i) => {
      const status = environmentStatusOf(
        source,
        app,
        entity,
        locator,
        this.options.config,
      );
      status.desired = desired[i];
      if (rollouts[i]) status.live.rollout = rollouts[i];
      if (charts[i]) status.chart = withPinnedAt(charts[i]!, entity, status);
      status.drift = driftOf(desired[i], status.live.images, charts[i]);
      return status;
    });
    for (const { source, app } of listed) {
      if (app.malformed)
        environments.push(
          environmentStatusOf(
            source,
            app,
            entity,
            locator,
            this.options.config,
          ),
        );
    }
    return {
      entityRef,
      environmentOrder: order,
      environments: sortByOrder(environments, order),
      errors,
    };
  }

  /**
   * Every annotated entity's environments, from one List per instance (live state
   * only: the config repositories are read in the entity view).
   */
  async fleetStatus(entities: Entity[]): Promise<FleetStatus> {
    const lists = await Promise.all(
      this.options.sources().map(async source => {
        const live = this.options.live?.index(source.id);
        if (live) return { source, index: live };
        const answer = await this.list(
          source,
          { selector: '', projects: [] },
          true,
        );
        return 'error' in answer
          ? { source, error: answer.error }
          : { source, index: this.indexOf(answer.value, source) };
      }),
    );
    return fleetStatusOf(entities, lists, this.options);
  }

  /** An environment's Application and the source it lives in, for an action. */
  async locate(entity: Entity, environment: string) {
    const status = await this.entityStatus(entity);
    const env = status.environments.find(e => e.environment === environment);
    if (!env && status.errors.length > 0) {
      // It may live in an instance that did not answer: say so rather than "no such".
      throw new ServiceUnavailableError(
        `${environment} of ${status.entityRef} is not known now: ${status.errors
          .map(e => `${e.message} (${e.code})`)
          .join('; ')}`,
      );
    }
    if (!env) {
      throw new NotFoundError(
        `${status.entityRef} has no environment "${environment}"; it has ${
          status.environments.map(e => e.environment).join(', ') || 'none'
        }`,
      );
    }
    const source = this.options.sources().find(s => s.id === env.instance)!;
    return {
      env,
      source,
      application: {
        name: env.application.name,
        namespace: env.application.namespace,
      },
    };
  }

  /**
   * Forgets the cached lists behind an entity's view, and reads its Applications into
   * the live index anew, so the next view shows what an action just did.
   */
  async forget(entity: Entity) {
    await this.forgetLists(entity);
    const locator = locatorOf(entity);
    const query = queryOf(locator);
    await Promise.all(
      this.sourcesFor(locator).map(async source => {
        const live = this.options.live;
        if (!live?.index(source.id)) return;
        try {
          live.observe(
            source.id,
            checkApplications(
              await source.listApplications(query),
              `Instance "${source.id}"`,
            ),
          );
        } catch (error) {
          // The watch brings the change a moment later.
          this.options.logger.warn(
            `Could not re-read ${stringifyEntityRef(entity)} from "${
              source.id
            }": ${error}`,
          );
        }
      }),
    );
  }

  /** Forgets the cached lists behind an entity's view, so the next one reads anew. */
  private async forgetLists(entity: Entity) {
    const locator = locatorOf(entity);
    await Promise.all(
      this.sourcesFor(locator).map(source =>
        this.options.cache.forget(
          this.listKey(source, queryOf(locator), false),
        ),
      ),
    );
  }

  /** Metadata of a deployed revision of one of the entity's environments. */
  async revisionMetadata(
    entity: Entity,
    environment: string,
    revision: string,
  ): Promise<RevisionMetadata> {
    const { source, application } = await this.locate(entity, environment);
    if (!source.getRevisionMetadata) {
      throw new NotFoundError(
        `Instance "${source.id}" gives no revision metadata`,
      );
    }
    // Commits never change: kept for a day, in this process's bounded LRU only (the
    // revision is the caller's choice, so the shared cache is not filled with them).
    const answer = await this.options.cache.get(
      `revision:${source.id}:${application.namespace}/${application.name}:${revision}`,
      24 * 60 * 60 * 1000,
      () => source.getRevisionMetadata!(application, revision),
      { shared: false },
    );
    if ('error' in answer) {
      throw new GitopsSourceError(answer.error.code, answer.error.message);
    }
    return answer.value;
  }

  /** Refuses (400) an entity that would read more Applications than configured. */
  private checkLimit(
    entityRef: string,
    count: number,
    what: 'names' | 'matches',
  ) {
    const tooMany = tooManyApplications(
      this.options.config.maxApplicationsPerEntity,
      entityRef,
      count,
      what,
    );
    if (tooMany) throw new InputError(tooMany);
  }

  private sourcesFor(locator: ApplicationLocator): GitopsLiveStateSource[] {
    const all = this.options.sources();
    if (!locator.instanceName) return all;
    const named = all.filter(s => s.id === locator.instanceName);
    if (named.length === 0) {
      throw new InputError(
        `argocd/instance-name "${
          locator.instanceName
        }" names no configured Argo CD instance; configured: ${
          all.map(s => s.id).join(', ') || 'none'
        }`,
      );
    }
    return named;
  }

  private listKey(
    source: GitopsLiveStateSource,
    query: ApplicationQuery,
    summary: boolean,
  ) {
    return `list:${source.id}:${summary ? 'summary:' : ''}${JSON.stringify(
      query,
    )}`;
  }

  /** A List, each item checked on its own (a malformed one costs only itself). */
  private list(
    source: GitopsLiveStateSource,
    query: ApplicationQuery,
    summary = false,
  ) {
    return this.options.cache.get(
      this.listKey(source, query, summary),
      this.options.config.cacheSeconds * 1000,
      async () =>
        checkApplications(
          await source.listApplications(query, { summary }),
          `Instance "${source.id}"`,
        ),
    );
  }
}
