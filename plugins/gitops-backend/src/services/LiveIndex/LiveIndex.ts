import { LoggerService } from '@backstage/backend-plugin-api';
import { GitopsError } from '@gitops-backstage/plugin-gitops-common';
import { GitopsLiveStateSource } from '@gitops-backstage/plugin-gitops-node';
import { checkApplications, ListedApplication } from '../applicationSchema';
import { ApplicationIndex } from '../DeploymentStatus/applicationIndex';

/** One Application added, changed or deleted in a watched source. */
export interface ApplicationChange {
  sourceId: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  application: ListedApplication;
}

interface SourceState {
  /** Where the source looks up names without an app namespace, when it says. */
  namesNamespace?: string;
  apps: Map<string, ListedApplication>;
  /** A snapshot is loaded and the watch (or the polling in its place) runs. */
  live: boolean;
  index?: ApplicationIndex;
  lastError?: GitopsError;
}

const keyOf = (app: ListedApplication) =>
  `${app.metadata.namespace ?? ''}/${app.metadata.name}`;

/**
 * Every watched source's Applications in memory, kept current by its watch: views
 * read them here instead of asking the source. While a source's watch is down its
 * index is not offered (views ask the source, and see its error), until the next
 * snapshot after the reconnect.
 */
export class LiveIndex {
  private readonly states = new Map<string, SourceState>();
  private readonly listeners = new Set<(change: ApplicationChange) => void>();
  private readonly snapshotListeners = new Set<
    (sourceId: string, apps: ListedApplication[]) => void
  >();
  private readonly stopping = new AbortController();

  constructor(private readonly logger: LoggerService) {}

  /** Watches every source that can be watched, until {@link LiveIndex.stop}. */
  start(sources: GitopsLiveStateSource[]) {
    for (const source of sources) {
      if (!source.watchApplications) continue;
      const state: SourceState = {
        namesNamespace: source.applicationNamespace,
        apps: new Map(),
        live: false,
      };
      this.states.set(source.id, state);
      this.consume(source, state).catch(error =>
        this.logger.error(`Watch of "${source.id}" stopped: ${error}`),
      );
    }
  }

  stop() {
    this.stopping.abort();
  }

  /** The source's Applications, when its watch is live; else undefined. */
  index(sourceId: string): ApplicationIndex | undefined {
    const state = this.states.get(sourceId);
    if (!state?.live) return undefined;
    state.index ??= new ApplicationIndex(
      [...state.apps.values()],
      state.namesNamespace,
    );
    return state.index;
  }

  /** Whether each watched source is live now, for health and tests. */
  status(): Record<string, { live: boolean; error?: GitopsError }> {
    return Object.fromEntries(
      [...this.states].map(([id, s]) => [
        id,
        { live: s.live, ...(s.lastError && { error: s.lastError }) },
      ]),
    );
  }

  /**
   * Applications just read from the source (after an action): they replace what the
   * index holds unless the watch already brought a newer version.
   */
  observe(sourceId: string, apps: ListedApplication[]) {
    const state = this.states.get(sourceId);
    if (!state?.live) return;
    for (const app of apps) {
      const held = state.apps.get(keyOf(app));
      if (held && !isNewer(app, held)) continue;
      state.apps.set(keyOf(app), app);
      state.index = undefined;
      this.announce({
        sourceId,
        type: held ? 'MODIFIED' : 'ADDED',
        application: app,
      });
    }
  }

  /** Every live Application `matches` picks, with its source. */
  filter(
    matches: (app: ListedApplication) => boolean,
  ): Array<{ sourceId: string; application: ListedApplication }> {
    return [...this.states].flatMap(([sourceId, state]) =>
      state.live
        ? [...state.apps.values()]
            .filter(matches)
            .map(application => ({ sourceId, application }))
        : [],
    );
  }

  /** Calls `listener` on each change after a source's first snapshot. */
  onChange(listener: (change: ApplicationChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with every snapshot a source's watch loads (at start, after reconnects). */
  onSnapshot(
    listener: (sourceId: string, apps: ListedApplication[]) => void,
  ): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  private async consume(source: GitopsLiveStateSource, state: SourceState) {
    const where = `Instance "${source.id}"`;
    let loaded = false;
    for await (const event of source.watchApplications!({
      signal: this.stopping.signal,
    })) {
      if (event.type === 'disconnected') {
        if (state.live) {
          this.logger.warn(
            `Watch of "${source.id}" broke, reconnecting: ${event.error.message}`,
          );
        }
        state.live = false;
        state.lastError = {
          code: event.error.code,
          message: event.error.message,
        };
        continue;
      }
      if (event.type === 'snapshot') {
        const apps = new Map(
          checkApplications(event.applications, where).map(app => [
            keyOf(app),
            app,
          ]),
        );
        const previous = state.apps;
        state.apps = apps;
        state.index = undefined;
        state.live = true;
        state.lastError = undefined;
        // The first snapshot changes nothing anyone saw from this index.
        if (loaded) this.announceDifferences(source.id, previous, apps);
        loaded = true;
        for (const listener of this.snapshotListeners) {
          try {
            listener(source.id, [...apps.values()]);
          } catch (error) {
            this.logger.warn(`A snapshot listener failed: ${error}`);
          }
        }
        continue;
      }
      const [app] = checkApplications([event.application], where);
      if (event.type === 'DELETED') state.apps.delete(keyOf(app));
      else state.apps.set(keyOf(app), app);
      state.index = undefined;
      this.announce({
        sourceId: source.id,
        type: event.type,
        application: app,
      });
    }
  }

  private announceDifferences(
    sourceId: string,
    before: Map<string, ListedApplication>,
    after: Map<string, ListedApplication>,
  ) {
    for (const [key, app] of after) {
      const old = before.get(key);
      if (!old) this.announce({ sourceId, type: 'ADDED', application: app });
      else if (versionOf(old) !== versionOf(app) || !versionOf(app)) {
        this.announce({ sourceId, type: 'MODIFIED', application: app });
      }
    }
    for (const [key, app] of before) {
      if (!after.has(key))
        this.announce({ sourceId, type: 'DELETED', application: app });
    }
  }

  private announce(change: ApplicationChange) {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.logger.warn(`A live-change listener failed: ${error}`);
      }
    }
  }
}

function versionOf(app: ListedApplication): string | undefined {
  return app.metadata.resourceVersion;
}

/**
 * Whether `app` is a later version than `held`. Kubernetes calls resourceVersions
 * opaque, but Argo CD's come from etcd revisions, which grow: compared as numbers
 * where both are; otherwise a different version counts as newer.
 */
function isNewer(app: ListedApplication, held: ListedApplication): boolean {
  const [a, b] = [versionOf(app), versionOf(held)];
  if (a === undefined || a !== b) {
    if (a && b && /^\d+$/.test(a) && /^\d+$/.test(b))
      return BigInt(a) > BigInt(b);
    return true;
  }
  return false;
}
