import { LoggerService } from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  entitySignalChannel,
  FLEET_SIGNAL_CHANNEL,
  GitopsStatusSignal,
} from '@gitops-backstage/plugin-gitops-common';
import { SignalsService } from '@backstage/plugin-signals-node';
import { ListedApplication } from '../applicationSchema';
import { locatorMatcher } from '../DeploymentStatus/applicationIndex';
import { locatorOf } from '../DeploymentStatus/entityAnnotations';
import { ApplicationChange } from './LiveIndex';

interface EntityMatcher {
  instanceName?: string;
  matches: (app: ListedApplication) => boolean;
}

/** Changes within this time go out as one signal per channel. */
const COALESCE_MS = 100;

/**
 * Tells browsers that an entity's status changed, on the entity's signals channel
 * (and the fleet's), when a watched Application it shows changes. Which entities
 * show an Application comes from their annotations: all annotated entities of the
 * catalog (refreshed periodically) and any entity a view just read.
 */
export class LiveSignals {
  private readonly entities = new Map<string, EntityMatcher>();
  private readonly pending = new Map<string, GitopsStatusSignal>();
  private timer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly signals: SignalsService,
    private readonly logger: LoggerService,
  ) {}

  /** Replaces the known entities (a catalog listing). */
  setEntities(entities: Entity[]) {
    this.entities.clear();
    this.remember(entities);
  }

  /** Adds or updates entities (a view read them). */
  remember(entities: Entity[]) {
    for (const entity of entities) {
      try {
        const locator = locatorOf(entity);
        this.entities.set(stringifyEntityRef(entity), {
          instanceName: locator.instanceName,
          matches: locatorMatcher(locator),
        });
      } catch {
        // Malformed annotations show no Applications: nothing to signal.
      }
    }
  }

  /**
   * Signals the fleet and every entity that shows the changed Application: what it
   * runs changed (`live`), or what its config asks (`desired`).
   */
  applicationChanged(
    change: Pick<ApplicationChange, 'sourceId' | 'application'>,
    changed: GitopsStatusSignal['changed'] = 'live',
  ) {
    this.queue(FLEET_SIGNAL_CHANNEL, changed);
    for (const [ref, entity] of this.entities) {
      if (entity.instanceName && entity.instanceName !== change.sourceId)
        continue;
      if (entity.matches(change.application))
        this.queue(entitySignalChannel(ref), changed);
    }
  }

  private queue(channel: string, changed: GitopsStatusSignal['changed']) {
    // Both in one window: the browser reads it all either way; 'desired' is kept as
    // the one Argo CD's own events would not tell.
    if (this.pending.get(channel)?.changed !== 'desired')
      this.pending.set(channel, { changed });
    this.timer ??= setTimeout(() => this.flush(), COALESCE_MS);
  }

  private flush() {
    this.timer = undefined;
    const batch = [...this.pending];
    this.pending.clear();
    for (const [channel, message] of batch) {
      this.signals
        .publish<GitopsStatusSignal>({
          recipients: { type: 'broadcast' },
          channel,
          message,
        })
        .catch(error =>
          this.logger.warn(`Could not signal ${channel}: ${error}`),
        );
    }
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
