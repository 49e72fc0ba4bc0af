import { isDeepStrictEqual } from 'node:util';
import { deployedBy, removeFromParents, replaceInParents } from './appOfApps';
import { ApplicationSetStore, toApplicationSet } from './applicationSetStore';
import { ArgoError } from './errors';
import { advanceHealth } from './health';
import {
  AppSetState,
  AppState,
  ApplicationFaults,
  ClusterOptions,
  InstanceContext,
  Json,
  Timing,
  byKey,
  idOf,
  key,
  newAppState,
  unchangedOrUpserted,
} from './model';
import {
  advanceOperation,
  autoSync,
  editLive,
  isOperationRunning,
  startSync,
  terminate,
} from './operations';
import { Rendered, Renderer } from './render';
import { ResourceRef, runResourceAction } from './rolloutActions';
import { validatedApplication } from './validation';
import { toApplication } from './views';

// The types moved to model.ts; sandbox.ts and index.ts import them from here.
export type {
  ApplicationFaults,
  ClusterOptions,
  ImagePuller,
  Timing,
} from './model';

/**
 * The Applications of one Argo CD instance and their reconciliation: compare the
 * desired state rendered from Git with what was last synced, run sync operations,
 * move health along, keep history. The facade the package uses; the how is in the
 * modules it imports.
 */
export class ArgoCdInstance {
  private readonly apps = new Map<string, AppState>();
  /** Created through the API; see apply(). */
  private readonly created = new Map<string, Json>();
  /** ApplicationSets, kept as Applications are: deployed by an Application, and created through the API. */
  private readonly appSets: ApplicationSetStore;
  /** What operations, health and ApplicationSets change the instance through. */
  private readonly context: InstanceContext;
  private resourceVersion = 1;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    readonly name: string,
    /** Renders an Application's sources at revisions, as Argo CD's repo server does. */
    readonly renderer: Renderer,
    timing: Timing,
    cluster: ClusterOptions = {},
  ) {
    this.context = {
      timing,
      // The cluster's namespaces: preset, or created by a sync.
      namespaces: new Set([
        'argocd',
        'default',
        'kube-system',
        'kube-public',
        'kube-node-lease',
        ...(cluster.namespaces ?? []),
      ]),
      images: cluster.images ?? (() => undefined),
      touch: () => this.touch(),
      apply: () => this.apply(),
    };
    this.appSets = new ApplicationSetStore(this.context);
  }

  get size() {
    return this.apps.size;
  }

  /**
   * Makes the Applications those deployed by Applications plus those created
   * through the API. One created through the API that a root deploys later becomes
   * the root's (an API change to a root's child goes into the root's live copy, see
   * store()). Existing states are kept, so a changed definition keeps its history, as
   * an updated Application does. ApplicationSets' Applications come last: their
   * controller overwrites a same-named one, and re-creates one deleted through the API.
   */
  private apply() {
    this.appSets.apply(deployedBy(this.apps.values(), 'ApplicationSet'));
    const generated = this.appSets.generatedApplications();
    const deployed = deployedBy(this.apps.values(), 'Application');
    // A root now deploying one created through the API applied its manifest over it,
    // as Argo CD's sync does: from then on the root's (Git's) version is the one.
    for (const m of deployed) {
      this.created.delete(
        key(m.metadata.namespace ?? 'argocd', m.metadata.name),
      );
    }
    const wanted = byKey([...deployed, ...this.created.values(), ...generated]);
    for (const [id, next] of wanted) {
      const state = this.apps.get(id);
      if (!state) {
        this.apps.set(id, newAppState(next));
        this.touch();
      } else if (!isDeepStrictEqual(state.manifest, next)) {
        state.manifest = next;
        this.touch();
      }
    }
    for (const id of this.apps.keys()) {
      if (!wanted.has(id) && !this.apps.get(id)!.fixedStatus) {
        this.apps.delete(id);
        this.touch();
      }
    }
  }

  /**
   * Argo CD's Create (`POST /api/v1/applications`): an identical Application is
   * answered as it is; a different one is an error unless `upsert`, which updates it
   * (labels and annotations merged, as Argo CD's upsert does).
   */
  async create(
    body: Json,
    options: { upsert: boolean; validate: boolean },
  ): Promise<AppState> {
    const manifest = await validatedApplication(
      this.renderer,
      body,
      options.validate,
      'creating',
    );
    const id = key(manifest.metadata.namespace, manifest.metadata.name);
    const existing = this.apps.get(id);
    if (
      existing &&
      unchangedOrUpserted(
        existing.manifest,
        manifest,
        options.upsert,
        'application',
      )
    ) {
      return existing;
    }
    return this.store(id, manifest);
  }

  /** Argo CD's Update (`PUT /api/v1/applications/{name}`): replaces spec and metadata. */
  async update(name: string, body: Json, validate: boolean): Promise<AppState> {
    // Argo CD looks the Application up before it validates the new one.
    this.find(name, body?.metadata?.namespace || 'argocd');
    const manifest = await validatedApplication(
      this.renderer,
      { ...body, metadata: { ...body?.metadata, name } },
      validate,
      'updating',
    );
    return this.store(
      key(manifest.metadata.namespace, manifest.metadata.name),
      manifest,
    );
  }

  /**
   * Argo CD's Delete. It is gone from the cluster, so an app of apps that deployed it
   * shows it missing (OutOfSync) and re-creates it on its next sync (self-heal).
   */
  delete(state: AppState) {
    const { namespace, name } = state.manifest.metadata;
    this.created.delete(key(namespace, name));
    this.apps.delete(key(namespace, name));
    removeFromParents(this.apps.values(), 'Application', namespace, name);
    this.touch();
  }

  /**
   * Argo CD's ApplicationSet Create (`POST /api/v1/applicationsets`), with Create's
   * rules for an existing one (identical: answered as it is; different: upsert
   * needed, labels and annotations merged). Its Applications are generated at once;
   * `dryRun` answers which without storing anything.
   */
  createSet(
    body: Json,
    options: { upsert: boolean; dryRun: boolean },
  ): AppSetState {
    return this.appSets.create(body, options);
  }

  findSet(name: string, namespace?: string): AppSetState {
    return this.appSets.find(name, namespace);
  }

  allSets(): AppSetState[] {
    return this.appSets.all();
  }

  /**
   * Argo CD's ApplicationSet Delete: its Applications go with it. There is no cluster
   * behind the sandbox, so `preserveResourcesOnDeletion` changes nothing here. One
   * still in Git comes back on the next pass.
   */
  deleteSet(state: AppSetState) {
    const { namespace, name } = state.manifest.metadata;
    this.appSets.remove(state);
    removeFromParents(this.apps.values(), 'ApplicationSet', namespace, name);
    this.touch();
    this.apply();
  }

  /** The ApplicationSet as Argo CD's API answers it (without apiVersion and kind, as Applications). */
  toApplicationSet(state: AppSetState): Json {
    return toApplicationSet(state, this.apps, this.version);
  }

  private async store(id: string, manifest: Json): Promise<AppState> {
    // One an app of apps deployed is changed in the cluster: its parent shows the
    // difference, and self-heal puts Git's back.
    if (!replaceInParents(this.apps.values(), manifest))
      this.created.set(id, manifest);
    this.apply();
    const state = this.apps.get(id)!;
    // Compared at once, as the repo server already rendered it to validate.
    await this.reconcileApp(state);
    return state;
  }

  /** Adds a generated Application whose status never changes (scale mode). */
  addFixed(manifest: Json, status: Json) {
    const state = newAppState(manifest);
    state.fixedStatus = status;
    this.apps.set(
      key(manifest.metadata.namespace, manifest.metadata.name),
      state,
    );
  }

  private touch() {
    this.resourceVersion++;
    for (const listener of this.changeListeners) listener();
  }

  /** Calls `listener` at every change (each resourceVersion); answers how to stop. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  get version() {
    return String(this.resourceVersion);
  }

  find(name: string, namespace?: string): AppState {
    for (const state of this.apps.values()) {
      const { metadata } = state.manifest;
      if (
        metadata.name === name &&
        (!namespace || metadata.namespace === namespace)
      ) {
        return state;
      }
    }
    throw new ArgoError(
      'NotFound',
      `applications.argoproj.io "${name}" not found`,
    );
  }

  all(): AppState[] {
    return [...this.apps.values()];
  }

  /** Syncs every Application that never ran, as if it had been deployed before. */
  async syncNeverDeployed() {
    // An app of apps' Applications exist once it synced: a level per round.
    for (let level = 0; level < 5; level++) {
      await this.reconcile();
      const never = [...this.apps.values()].filter(
        state =>
          !state.fixedStatus &&
          !state.live &&
          !state.operationState &&
          state.desired,
      );
      for (const state of never) {
        this.startSync(state, state.desired!, { username: 'admin' }, {});
      }
      // Syncs already running (automated ones) end now too: their Applications count.
      const running = [...this.apps.values()].filter(state =>
        this.isOperationRunning(state),
      );
      if (running.length === 0) return;
      for (const state of running) state.operationDoneAt = Date.now();
    }
    await this.reconcile();
  }

  /** One reconciliation pass over every Application. */
  async reconcile() {
    // The ApplicationSet controller re-creates what was deleted from its sets.
    this.apply();
    // Applications an app of apps' sync creates during the pass are compared in it.
    const done = new Set<AppState>();
    for (;;) {
      const next = [...this.apps.values()].filter(
        state => !state.fixedStatus && !done.has(state),
      );
      if (next.length === 0) return;
      for (const state of next) {
        done.add(state);
        // Skipped when deleted during the pass (by a sync, or through the API).
        if (this.apps.get(idOf(state)) === state) {
          await this.reconcileApp(state);
        }
      }
    }
  }

  /** Compares one Application with Git now (Argo CD's refresh). */
  async reconcileApp(state: AppState) {
    const now = Date.now();
    try {
      const desired = await this.renderer.render(state.manifest);
      if (!isDeepStrictEqual(desired, state.desired)) this.touch();
      state.desired = desired;
      if (state.comparisonError) this.touch();
      state.comparisonError = undefined;
    } catch (error) {
      const message = `Failed to load target state: ${
        (error as Error).message
      }`;
      if (message !== state.comparisonError) this.touch();
      state.comparisonError = message;
    }
    state.reconciledAt = new Date(now).toISOString();
    advanceOperation(this.context, state, now);
    advanceHealth(this.context, state, now);
    autoSync(this.context, state, now);
  }

  isOperationRunning(state: AppState) {
    return isOperationRunning(state);
  }

  /** Starts a sync to `target`, as `POST .../sync` and automated sync do. */
  startSync(
    state: AppState,
    target: Rendered,
    initiatedBy: { username?: string; automated?: boolean },
    options: { prune?: boolean },
  ) {
    startSync(this.context, state, target, initiatedBy, options);
  }

  terminate(state: AppState) {
    terminate(this.context, state);
  }

  /**
   * Changes a live object as `kubectl patch --type merge` would, behind Argo CD's
   * back: the Application turns OutOfSync; self-heal puts it back.
   */
  editLive(state: AppState, kind: string, name: string, patch: Json) {
    editLive(this.context, state, kind, name, patch);
  }

  setFaults(state: AppState, faults: ApplicationFaults) {
    state.faults = { ...faults };
    this.touch();
  }

  /** The Application as Argo CD's API answers it. */
  toApplication(state: AppState): Json {
    return toApplication(state, this.version);
  }

  runResourceAction(state: AppState, resource: ResourceRef, action: string) {
    runResourceAction(this.context, state, resource, action);
  }
}
