import { createHash, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { BareRepository } from '../git/repoFiles';
import { applicationSetProblem, generateApplications } from './applicationSet';
import { ArgoError } from './errors';
import { Rendered, Renderer, imagesOf } from './render';

/** How fast the stand-in moves; tests make it quick, the portal makes it watchable. */
export interface Timing {
  /** How often every Application is compared with Git. */
  reconcileMs: number;
  /** How long an automated Application stays OutOfSync before it syncs. */
  autoSyncDelayMs: number;
  /** How long a sync operation runs. */
  syncMs: number;
  /** How long resources stay Progressing after a sync. */
  progressMs: number;
  /** How long each Argo Rollouts canary step takes. */
  rolloutStepMs: number;
}

/** What the sandbox's cluster has before anything is deployed. */
export interface ClusterOptions {
  /** Namespaces that exist from the start, besides argocd, default and kube-*. */
  namespaces?: string[];
}

export interface ApplicationFaults {
  /** The next sync operations fail. */
  syncFails?: boolean;
  /** Health turns Degraded. */
  degraded?: boolean;
}

type Json = any;

interface AppState {
  /** metadata and spec, as read from the Application manifest in Git */
  manifest: Json;
  uid: string;
  createdAt: string;
  /** Scale-mode Applications are generated once and never reconciled. */
  fixedStatus?: Json;
  desired?: Rendered;
  comparisonError?: string;
  /** What was last synced: what runs. */
  live?: Rendered;
  history: Json[];
  operationState?: Json;
  operationTarget?: Rendered;
  operationDoneAt?: number;
  health: { status: string; message?: string; lastTransitionTime: string };
  healthSince: number;
  outOfSyncSince?: number;
  rolloutStep: number;
  rolloutStepSince: number;
  reconciledAt: string;
  faults: ApplicationFaults;
}

interface AppSetState {
  /** metadata and spec, as posted or read from Git */
  manifest: Json;
  uid: string;
  createdAt: string;
  /** The Applications it generated last, by key; see generate(). */
  generated: Map<string, Json>;
  /** Why generating failed, shown in its conditions; undefined when it worked. */
  error?: string;
  conditionsSince: string;
}

/** Kinds without a namespace, among those charts and apps of apps deploy. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

const HISTORY_LIMIT = 10;
const DNS_SUBDOMAIN =
  /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function key(namespace: string, name: string) {
  return `${namespace}/${name}`;
}

function idOf(state: AppState) {
  return key(state.manifest.metadata.namespace, state.manifest.metadata.name);
}

function sourcesOf(spec: Json): Json[] {
  return spec.sources ?? (spec.source ? [spec.source] : []);
}

/**
 * The Applications of one Argo CD instance and their reconciliation: compare the
 * desired state rendered from Git with what was last synced, run sync operations,
 * move health along, keep history.
 */
export class ArgoCdInstance {
  private readonly apps = new Map<string, AppState>();
  /** Created through the API; see apply(). */
  private readonly created = new Map<string, Json>();
  /** ApplicationSets, kept as Applications are: deployed by an Application, and created through the API. */
  private readonly appSets = new Map<string, AppSetState>();
  private readonly createdSets = new Map<string, Json>();
  /** The cluster's namespaces: preset, or created by a sync. */
  private readonly namespaces: Set<string>;
  private resourceVersion = 1;

  constructor(
    readonly name: string,
    private readonly renderer: Renderer,
    private readonly timing: Timing,
    cluster: ClusterOptions = {},
  ) {
    this.namespaces = new Set([
      'argocd',
      'default',
      'kube-system',
      'kube-public',
      'kube-node-lease',
      ...(cluster.namespaces ?? []),
    ]);
  }

  get size() {
    return this.apps.size;
  }

  /**
   * The Application and ApplicationSet manifests that synced Applications put into
   * this cluster (app of apps): Argo CD knows no others besides those created
   * through its API.
   */
  private deployed(kind: 'Application' | 'ApplicationSet'): Json[] {
    return [...this.apps.values()].flatMap(state =>
      (state.live?.manifests ?? []).filter(
        m =>
          m.kind === kind &&
          String(m.apiVersion).startsWith('argoproj.io/') &&
          m.metadata?.name &&
          m.spec,
      ),
    );
  }

  /**
   * Makes the Applications those deployed by Applications plus those created
   * through the API. A name in both keeps the API's: it is the later, explicit
   * request. Existing states are kept, so a changed definition keeps its history, as
   * an updated Application does. ApplicationSets' Applications come last: their
   * controller overwrites a same-named one, and re-creates one deleted through the API.
   */
  private apply() {
    this.applySets();
    const generated = [...this.appSets.values()].flatMap(s => [
      ...s.generated.values(),
    ]);
    const wanted = byKey([
      ...this.deployed('Application'),
      ...this.created.values(),
      ...generated,
    ]);
    for (const [id, next] of wanted) {
      const state = this.apps.get(id);
      if (!state) {
        this.apps.set(id, this.newState(next));
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
    const manifest = await this.validated(body, options.validate, 'creating');
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
    const manifest = await this.validated(
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
    this.removeFromParents('Application', namespace, name);
    this.touch();
  }

  /** Puts an API-written Application in place of the one its parents deployed; false when none did. */
  private replaceInParents(manifest: Json): boolean {
    const { namespace, name } = manifest.metadata;
    let found = false;
    for (const parent of this.apps.values()) {
      const index =
        parent.live?.manifests.findIndex(m =>
          isChild(m, 'Application', namespace, name),
        ) ?? -1;
      if (index < 0) continue;
      const manifests = [...parent.live!.manifests];
      const { apiVersion, kind } = manifests[index];
      manifests[index] = { apiVersion, kind, ...manifest };
      parent.live = { ...parent.live!, manifests };
      found = true;
    }
    return found;
  }

  private removeFromParents(kind: string, namespace: string, name: string) {
    for (const parent of this.apps.values()) {
      if (!parent.live) continue;
      const manifests = parent.live.manifests.filter(
        m => !isChild(m, kind, namespace, name),
      );
      if (manifests.length !== parent.live.manifests.length) {
        parent.live = { ...parent.live, manifests };
      }
    }
  }

  /** The ApplicationSets deployed by Applications plus those created through the API (the API's win), generated. */
  private applySets() {
    const wanted = byKey([
      ...this.deployed('ApplicationSet'),
      ...this.createdSets.values(),
    ]);
    for (const [id, next] of wanted) {
      let state = this.appSets.get(id);
      if (!state) {
        state = this.newSetState(next);
        this.appSets.set(id, state);
        this.touch();
      } else if (!isDeepStrictEqual(state.manifest, next)) {
        state.manifest = next;
        this.touch();
      }
      this.generate(state);
    }
    for (const id of this.appSets.keys()) {
      if (!wanted.has(id)) {
        // Its Applications go with it (Kubernetes' garbage collection of owned objects).
        this.appSets.delete(id);
        this.touch();
      }
    }
  }

  private newSetState(manifest: Json): AppSetState {
    const now = new Date().toISOString();
    return {
      manifest,
      uid: randomUUID(),
      createdAt: now,
      generated: new Map(),
      conditionsSince: now,
    };
  }

  /**
   * Generates a set's Applications, owned by it, in its namespace, as its controller
   * does. `applicationsSync` is honoured: `create-only` and `create-delete` keep an
   * existing Application as it was, `create-only` and `create-update` keep those no
   * longer generated. When generating fails, the Applications stay as they were and
   * the set's conditions say why.
   */
  private generate(state: AppSetState) {
    const { name, namespace } = state.manifest.metadata;
    let next: Map<string, Json>;
    try {
      const problem = applicationSetProblem(state.manifest);
      if (problem) throw new Error(problem);
      const owner = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'ApplicationSet',
        name,
        uid: state.uid,
        controller: true,
        blockOwnerDeletion: true,
      };
      next = new Map();
      for (const app of generateApplications(state.manifest)) {
        const appName = String(app.metadata?.name ?? '');
        if (!DNS_SUBDOMAIN.test(appName) || appName.length > 253) {
          throw new Error(
            `application name "${appName}" is invalid: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
          );
        }
        const id = key(namespace, appName);
        if (next.has(id)) {
          throw new Error(
            `ApplicationSet ${name} contains applications with duplicate name: ${appName}`,
          );
        }
        next.set(id, {
          metadata: { ...app.metadata, namespace, ownerReferences: [owner] },
          spec: app.spec,
        });
      }
    } catch (error) {
      this.setSetError(state, (error as Error).message);
      return;
    }
    const policy = state.manifest.spec.syncPolicy?.applicationsSync ?? 'sync';
    for (const [id, old] of state.generated) {
      const updates = policy === 'sync' || policy === 'create-update';
      const deletes = policy === 'sync' || policy === 'create-delete';
      if (next.has(id) ? !updates : !deletes) next.set(id, old);
    }
    if (!isDeepStrictEqual(next, state.generated)) this.touch();
    state.generated = next;
    this.setSetError(state, undefined);
  }

  private setSetError(state: AppSetState, error: string | undefined) {
    if (state.error === error) return;
    state.error = error;
    state.conditionsSince = new Date().toISOString();
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
    const { metadata = {}, spec } = body ?? {};
    const name = String(metadata.name ?? '');
    const manifest: Json = {
      metadata: {
        name,
        namespace: metadata.namespace || 'argocd',
        ...(metadata.labels && { labels: metadata.labels }),
        ...(metadata.annotations && { annotations: metadata.annotations }),
        ...(metadata.finalizers && { finalizers: metadata.finalizers }),
      },
      spec,
    };
    const problem = applicationSetProblem(manifest);
    if (problem) throw new ArgoError('InvalidArgument', problem);
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw new ArgoError(
        'InvalidArgument',
        `error creating ApplicationSet: ApplicationSet.argoproj.io "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
    if (options.dryRun) {
      const state = this.newSetState(manifest);
      this.generate(state);
      return state;
    }
    const id = key(manifest.metadata.namespace, name);
    const existing = this.appSets.get(id);
    if (
      existing &&
      unchangedOrUpserted(
        existing.manifest,
        manifest,
        options.upsert,
        'ApplicationSet',
      )
    ) {
      return existing;
    }
    this.createdSets.set(id, manifest);
    this.apply();
    return this.appSets.get(id)!;
  }

  findSet(name: string, namespace?: string): AppSetState {
    const state = this.appSets.get(key(namespace || 'argocd', name));
    if (!state) {
      throw new ArgoError(
        'NotFound',
        `error getting ApplicationSet: applicationsets.argoproj.io "${name}" not found`,
      );
    }
    return state;
  }

  allSets(): AppSetState[] {
    return [...this.appSets.values()];
  }

  /**
   * Argo CD's ApplicationSet Delete: its Applications go with it. There is no cluster
   * behind the sandbox, so `preserveResourcesOnDeletion` changes nothing here. One
   * still in Git comes back on the next pass.
   */
  deleteSet(state: AppSetState) {
    const { namespace, name } = state.manifest.metadata;
    this.createdSets.delete(key(namespace, name));
    this.appSets.delete(key(namespace, name));
    this.removeFromParents('ApplicationSet', namespace, name);
    this.touch();
    this.apply();
  }

  /** The ApplicationSet as Argo CD's API answers it (without apiVersion and kind, as Applications). */
  toApplicationSet(state: AppSetState): Json {
    const { metadata, spec } = state.manifest;
    const resources = [...state.generated].map(([id, manifest]) => {
      const app = this.apps.get(id);
      return {
        group: 'argoproj.io',
        version: 'v1alpha1',
        kind: 'Application',
        namespace: manifest.metadata.namespace,
        name: manifest.metadata.name,
        ...(app && {
          status: this.syncStatus(app),
          health: {
            status: app.health.status,
            ...(app.health.message && { message: app.health.message }),
            lastTransitionTime: app.health.lastTransitionTime,
          },
        }),
      };
    });
    const error = state.error;
    const condition = (type: string, ok: boolean, reason: string) => ({
      type,
      status: ok ? 'True' : 'False',
      reason: error ? 'ApplicationGenerationFromParamsError' : reason,
      message:
        error ?? 'Successfully generated parameters for all Applications',
      lastTransitionTime: state.conditionsSince,
    });
    return {
      metadata: {
        ...metadata,
        uid: state.uid,
        resourceVersion: this.version,
        generation: 1,
        creationTimestamp: state.createdAt,
      },
      spec,
      status: {
        conditions: [
          condition('ErrorOccurred', Boolean(error), 'ApplicationSetUpToDate'),
          condition('ParametersGenerated', !error, 'ParametersGenerated'),
          condition('ResourcesUpToDate', !error, 'ApplicationSetUpToDate'),
        ],
        resources,
        resourcesCount: resources.length,
      },
    };
  }

  private async store(id: string, manifest: Json): Promise<AppState> {
    // One an app of apps deployed is changed in the cluster: its parent shows the
    // difference, and self-heal puts Git's back.
    if (!this.replaceInParents(manifest)) this.created.set(id, manifest);
    this.apply();
    const state = this.apps.get(id)!;
    // Compared at once, as the repo server already rendered it to validate.
    await this.reconcileApp(state);
    return state;
  }

  /**
   * The Application as Argo CD stores it: server-set fields, status and operation
   * dropped (operations only come through sync), spec normalized (project `default`,
   * targetRevision `HEAD`); invalid ones refused with Argo CD's messages.
   */
  private async validated(
    body: Json,
    validate: boolean,
    verb: string,
  ): Promise<Json> {
    const { metadata = {}, spec } = body ?? {};
    const name = String(metadata.name ?? '');
    if (!spec) {
      throw new ArgoError(
        'InvalidArgument',
        `error ${verb} application: spec is required`,
      );
    }
    const normalize = (source: Json) => ({
      ...source,
      targetRevision: source.targetRevision || 'HEAD',
    });
    const manifest = {
      metadata: {
        name,
        namespace: metadata.namespace || 'argocd',
        ...(metadata.labels && { labels: metadata.labels }),
        ...(metadata.annotations && { annotations: metadata.annotations }),
        ...(metadata.finalizers && { finalizers: metadata.finalizers }),
      },
      spec: {
        ...spec,
        project: spec.project || 'default',
        ...(spec.source && { source: normalize(spec.source) }),
        ...(spec.sources && { sources: spec.sources.map(normalize) }),
      },
    };
    const invalid = (message: string) =>
      new ArgoError(
        'InvalidArgument',
        `application spec for ${name} is invalid: InvalidSpecError: ${message}`,
      );
    const destination = spec.destination ?? {};
    if (destination.server && destination.name) {
      throw new ArgoError(
        'InvalidArgument',
        `application destination can't have both name and server defined: ${destination.name} ${destination.server}`,
      );
    }
    if (!destination.server && !destination.name) {
      throw invalid('Destination server missing from app spec');
    }
    if (sourcesOf(spec).length === 0 || sourcesOf(spec).some(s => !s.repoURL)) {
      throw invalid(
        'spec.source.repoURL and either source.path, source.chart, or source.ref are required',
      );
    }
    if (validate) {
      await this.renderer.render(manifest).catch(error => {
        throw invalid(`Unable to generate manifests: ${error.message}`);
      });
    }
    // Kubernetes checks the name when the object is stored, after Argo CD's checks.
    if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
      throw new ArgoError(
        'InvalidArgument',
        `error ${verb} application: Application.argoproj.io "${name}" is invalid: metadata.name: Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
    }
    return manifest;
  }

  /** Adds a generated Application whose status never changes (scale mode). */
  addFixed(manifest: Json, status: Json) {
    const state = this.newState(manifest);
    state.fixedStatus = status;
    this.apps.set(
      key(manifest.metadata.namespace, manifest.metadata.name),
      state,
    );
  }

  private newState(manifest: Json): AppState {
    const now = new Date().toISOString();
    return {
      manifest,
      uid: randomUUID(),
      createdAt: now,
      history: [],
      health: { status: 'Missing', lastTransitionTime: now },
      healthSince: Date.now(),
      rolloutStep: 0,
      rolloutStepSince: 0,
      reconciledAt: now,
      faults: {},
    };
  }

  private touch() {
    this.resourceVersion++;
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
    this.advanceOperation(state, now);
    this.advanceHealth(state, now);
    this.autoSync(state, now);
  }

  private syncStatus(state: AppState): 'Synced' | 'OutOfSync' | 'Unknown' {
    if (state.comparisonError || !state.desired) return 'Unknown';
    if (!state.live) return 'OutOfSync';
    return isDeepStrictEqual(state.desired.manifests, state.live.manifests)
      ? 'Synced'
      : 'OutOfSync';
  }

  private autoSync(state: AppState, now: number) {
    const automated = state.manifest.spec.syncPolicy?.automated;
    if (!automated || automated.enabled === false) return;
    if (
      this.syncStatus(state) !== 'OutOfSync' ||
      this.isOperationRunning(state)
    ) {
      state.outOfSyncSince = undefined;
      return;
    }
    state.outOfSyncSince ??= now;
    // Argo CD does not retry an automated sync of a revision and source that failed.
    const last = state.operationState;
    const failedBefore =
      last?.phase !== 'Succeeded' &&
      last?.operation?.initiatedBy?.automated &&
      last?.syncResult?.revision === state.desired!.revision &&
      isDeepStrictEqual(
        (last.syncResult.sources ?? [last.syncResult.source]).map(
          withoutTargetRevision,
        ),
        state.desired!.sources.map(withoutTargetRevision),
      );
    // Nor does it sync a revision and source it already synced: what differs was
    // changed in the cluster, and only self-heal puts it back.
    const deployed = state.history[state.history.length - 1];
    const alreadySynced =
      deployed &&
      isDeepStrictEqual(
        deployed.revisions ?? [deployed.revision],
        state.desired!.revisions,
      ) &&
      isDeepStrictEqual(
        deployed.sources ?? [deployed.source],
        state.desired!.sources,
      );
    if (alreadySynced && !automated.selfHeal) return;
    if (
      now - state.outOfSyncSince >= this.timing.autoSyncDelayMs &&
      !failedBefore
    ) {
      this.startSync(state, state.desired!, { automated: true }, {});
    }
  }

  isOperationRunning(state: AppState) {
    const phase = state.operationState?.phase;
    return phase === 'Running' || phase === 'Terminating';
  }

  /** Starts a sync to `target`, as `POST .../sync` and automated sync do. */
  startSync(
    state: AppState,
    target: Rendered,
    initiatedBy: { username?: string; automated?: boolean },
    options: { prune?: boolean },
  ) {
    if (this.isOperationRunning(state)) {
      throw new ArgoError(
        'FailedPrecondition',
        'another operation is already in progress',
      );
    }
    const source =
      target.sources.length === 1
        ? { source: target.sources[0] }
        : { sources: target.sources };
    const revision =
      target.revisions.length === 1
        ? { revision: target.revision }
        : { revisions: target.revisions };
    state.operationTarget = target;
    state.operationDoneAt = Date.now() + this.timing.syncMs;
    state.operationState = {
      operation: {
        sync: { ...revision, prune: options.prune ?? false },
        initiatedBy,
        retry: {},
      },
      phase: 'Running',
      message: 'one or more tasks are running',
      startedAt: new Date().toISOString(),
      // syncResult.revision is required, also next to revisions for multi-source.
      syncResult: {
        revision: target.revision,
        ...revision,
        ...source,
        resources: [],
      },
    };
    this.touch();
  }

  terminate(state: AppState) {
    if (!this.isOperationRunning(state)) {
      throw new ArgoError(
        'FailedPrecondition',
        'Unable to terminate operation. No operation is in progress',
      );
    }
    state.operationState.phase = 'Terminating';
    state.operationDoneAt = Date.now();
    this.touch();
  }

  private advanceOperation(state: AppState, now: number) {
    const op = state.operationState;
    if (!this.isOperationRunning(state) || now < state.operationDoneAt!) return;
    const target = state.operationTarget!;
    op.finishedAt = new Date(now).toISOString();
    if (op.phase === 'Terminating') {
      op.phase = 'Failed';
      op.message = 'Operation terminated';
    } else if (state.faults.syncFails) {
      op.phase = 'Failed';
      op.message =
        'one or more objects failed to apply, reason: admission webhook "sandbox" denied the request (sandbox fault)';
    } else if (this.missingNamespaces(state, target).length > 0) {
      // Argo CD's dry run fails for objects whose namespace does not exist.
      const missing = this.missingNamespaces(state, target);
      op.phase = 'Failed';
      op.message = 'one or more synchronization tasks are not valid';
      op.syncResult.resources = target.manifests
        .filter(m => missing.includes(resourceKey(m, state).namespace))
        .map(m => ({
          ...resourceKey(m, state),
          status: 'SyncFailed',
          message: `namespaces "${resourceKey(m, state).namespace}" not found`,
          syncPhase: 'Sync',
        }));
    } else {
      op.phase = 'Succeeded';
      op.message = 'successfully synced (all tasks run)';
      for (const namespace of this.namespacesCreatedBy(state, target)) {
        this.namespaces.add(namespace);
      }
      op.syncResult.resources = target.manifests.map(m => ({
        ...resourceKey(m, state),
        status: 'Synced',
        message: `${m.kind.toLowerCase()}/${m.metadata.name} configured`,
        hookPhase: 'Succeeded',
        syncPhase: 'Sync',
      }));
      // Argo Rollouts walks the canary steps only when the pod template changes,
      // and not at all on a Rollout's first deployment.
      const before = state.live && canaryRollout(state.live);
      const after = canaryRollout(target);
      state.rolloutStep =
        before &&
        after &&
        !isDeepStrictEqual(before.spec.template, after.spec.template)
          ? 0
          : Number.MAX_SAFE_INTEGER;
      state.live = withUnpruned(state, target, this.prunes(state));
      const last = state.history[state.history.length - 1];
      state.history.push({
        id: (last?.id ?? -1) + 1,
        ...(target.revisions.length === 1
          ? { revision: target.revision, source: target.sources[0] }
          : { revisions: target.revisions, sources: target.sources }),
        deployStartedAt: op.startedAt,
        deployedAt: op.finishedAt,
        initiatedBy: op.operation.initiatedBy,
      });
      state.history = state.history.slice(-HISTORY_LIMIT);
      state.rolloutStepSince = now;
      this.setHealth(
        state,
        'Progressing',
        'Waiting for rollout to finish',
        now,
      );
    }
    state.operationTarget = undefined;
    this.touch();
    this.apply(); // an app of apps' Applications follow it
  }

  /** Whether the running sync deletes what Git no longer has. */
  private prunes(state: AppState): boolean {
    const op = state.operationState.operation;
    if (op.initiatedBy?.automated) {
      return Boolean(state.manifest.spec.syncPolicy?.automated?.prune);
    }
    return Boolean(op.sync?.prune);
  }

  /** `CreateNamespace=true` creates the destination namespace; Namespace objects create theirs. */
  private namespacesCreatedBy(state: AppState, target: Rendered): string[] {
    const options: string[] = state.manifest.spec.syncPolicy?.syncOptions ?? [];
    const destination = state.manifest.spec.destination?.namespace;
    return [
      ...(options.includes('CreateNamespace=true') && destination
        ? [destination]
        : []),
      ...target.manifests
        .filter(m => m.kind === 'Namespace' && m.apiVersion === 'v1')
        .map(m => m.metadata.name),
    ];
  }

  /** The namespaces the target's namespaced objects need that the cluster lacks. */
  private missingNamespaces(state: AppState, target: Rendered): string[] {
    const created = new Set(this.namespacesCreatedBy(state, target));
    const needed = target.manifests
      .filter(m => !CLUSTER_SCOPED.has(m.kind))
      .map(m => resourceKey(m, state).namespace || 'default');
    return [...new Set(needed)].filter(
      ns => !this.namespaces.has(ns) && !created.has(ns),
    );
  }

  private advanceHealth(state: AppState, now: number) {
    if (!state.live) {
      this.setHealth(state, 'Missing', undefined, now);
      return;
    }
    if (state.faults.degraded) {
      this.setHealth(
        state,
        'Degraded',
        `Deployment "${releaseName(state)}" exceeded its progress deadline`,
        now,
      );
      return;
    }
    if (state.health.status === 'Degraded') {
      this.setHealth(
        state,
        'Progressing',
        'Waiting for rollout to finish',
        now,
      );
      return;
    }
    const steps = canarySteps(state.live);
    if (steps) {
      state.rolloutStep = Math.min(state.rolloutStep, steps.length);
      while (
        state.rolloutStep < steps.length &&
        now - state.rolloutStepSince >= this.timing.rolloutStepMs
      ) {
        state.rolloutStep++;
        state.rolloutStepSince += this.timing.rolloutStepMs;
        this.touch();
      }
      if (state.rolloutStep >= steps.length) {
        this.setHealth(state, 'Healthy', undefined, now);
      } else if (steps[state.rolloutStep].pause) {
        this.setHealth(state, 'Suspended', 'Rollout is paused', now);
      } else {
        this.setHealth(
          state,
          'Progressing',
          'more replicas need to be updated',
          now,
        );
      }
      return;
    }
    if (
      state.health.status !== 'Healthy' &&
      now - state.healthSince >= this.timing.progressMs
    ) {
      this.setHealth(state, 'Healthy', undefined, now);
    }
  }

  private setHealth(
    state: AppState,
    status: string,
    message: string | undefined,
    now: number,
  ) {
    if (state.health.status === status && state.health.message === message)
      return;
    state.health = {
      status,
      ...(message && { message }),
      lastTransitionTime: new Date(now).toISOString(),
    };
    state.healthSince = now;
    this.touch();
  }

  /**
   * Changes a live object as `kubectl patch --type merge` would, behind Argo CD's
   * back: the Application turns OutOfSync; self-heal puts it back.
   */
  editLive(state: AppState, kind: string, name: string, patch: Json) {
    const live = state.live;
    const index =
      live?.manifests.findIndex(
        m => m.kind === kind && m.metadata?.name === name,
      ) ?? -1;
    if (!live || index < 0) {
      throw new ArgoError(
        'NotFound',
        `${kind} "${name}" not found as part of application ${state.manifest.metadata.name}`,
      );
    }
    const manifests = [...live.manifests];
    manifests[index] = mergePatch(manifests[index], patch);
    state.live = { ...live, manifests };
    this.touch();
  }

  setFaults(state: AppState, faults: ApplicationFaults) {
    state.faults = { ...faults };
    this.touch();
  }

  /** The Application as Argo CD's API answers it. */
  toApplication(state: AppState): Json {
    const { metadata, spec } = state.manifest;
    // Argo CD's API answers Applications without apiVersion and kind (swagger.json).
    const head = {
      metadata: {
        ...metadata,
        uid: state.uid,
        resourceVersion: this.version,
        generation: 1,
        creationTimestamp: state.createdAt,
      },
      spec,
    };
    if (state.fixedStatus) return { ...head, status: state.fixedStatus };

    const sync = this.syncStatus(state);
    const desired = state.desired;
    const live = state.live;
    const status: Json = {
      sync: {
        status: sync,
        comparedTo: {
          destination: spec.destination,
          ...(spec.sources
            ? { sources: spec.sources }
            : { source: spec.source }),
        },
        ...(desired &&
          (desired.revisions.length === 1
            ? { revision: desired.revision }
            : { revisions: desired.revisions })),
      },
      health: state.health,
      history: state.history,
      reconciledAt: state.reconciledAt,
      observedAt: state.reconciledAt,
      sourceType: 'Helm',
      ...(spec.sources && { sourceTypes: spec.sources.map(() => 'Helm') }),
      controllerNamespace: 'argocd',
      resourceHealthSource: 'appTree',
      summary: { images: live ? imagesOf(live.manifests) : [] },
      resources: this.resourceStatuses(state),
      ...(state.operationState && { operationState: state.operationState }),
      ...(state.comparisonError && {
        conditions: [
          {
            type: 'ComparisonError',
            message: state.comparisonError,
            lastTransitionTime: state.reconciledAt,
          },
        ],
      }),
    };
    return { ...head, status };
  }

  private resourceStatuses(state: AppState): Json[] {
    const desired = state.desired?.manifests ?? [];
    const live = state.live?.manifests ?? [];
    const liveById = new Map(live.map(m => [resourceId(m), m]));
    const desiredIds = new Set(desired.map(resourceId));
    const health = { status: state.health.status };
    return [
      ...desired.map(m => ({
        ...resourceKey(m, state),
        status: isDeepStrictEqual(liveById.get(resourceId(m)), m)
          ? 'Synced'
          : 'OutOfSync',
        ...(liveById.has(resourceId(m)) && hasHealth(m) && { health }),
      })),
      ...live
        .filter(m => !desiredIds.has(resourceId(m)))
        .map(m => ({
          ...resourceKey(m, state),
          status: 'OutOfSync',
          requiresPruning: true,
        })),
    ];
  }

  /** Argo CD's resource tree: the managed resources, with ReplicaSets and Pods under workloads. */
  resourceTree(state: AppState): Json {
    const live = state.live?.manifests ?? [];
    const nodes: Json[] = [];
    const createdAt =
      state.history[state.history.length - 1]?.deployedAt ?? state.createdAt;
    for (const m of live) {
      const ref = resourceKey(m, state);
      const uid = uidOf(state, ref);
      nodes.push({
        ...ref,
        uid,
        resourceVersion: this.version,
        createdAt,
        ...(hasHealth(m) && {
          health: {
            status: state.health.status,
            ...(state.health.message && { message: state.health.message }),
          },
        }),
      });
      const podSpec = m.spec?.template?.spec;
      if (!podSpec) continue;
      const hash = podHash(m);
      const rs = {
        group: 'apps',
        version: 'v1',
        kind: 'ReplicaSet',
        namespace: ref.namespace,
        name: `${m.metadata.name}-${hash}`,
      };
      const rsUid = uidOf(state, rs);
      nodes.push({
        ...rs,
        uid: rsUid,
        parentRefs: [{ ...ref, uid }],
        info: [{ name: 'Revision', value: `Rev:${state.history.length}` }],
        health: {
          status: state.health.status === 'Degraded' ? 'Degraded' : 'Healthy',
        },
        resourceVersion: this.version,
        createdAt,
      });
      for (let i = 0; i < (m.spec.replicas ?? 1); i++) {
        const pod = {
          group: '',
          version: 'v1',
          kind: 'Pod',
          namespace: ref.namespace,
          name: `${rs.name}-${i}`,
        };
        nodes.push({
          ...pod,
          uid: uidOf(state, pod),
          parentRefs: [{ ...rs, uid: rsUid }],
          images: podSpec.containers.map((c: Json) => c.image),
          info: [
            { name: 'Status Reason', value: 'Running' },
            {
              name: 'Containers',
              value: `${podSpec.containers.length}/${podSpec.containers.length}`,
            },
          ],
          health: { status: 'Healthy' },
          resourceVersion: this.version,
          createdAt,
        });
      }
    }
    return { nodes };
  }

  /** One live resource, with status for Argo Rollouts' Rollout. */
  liveResource(
    state: AppState,
    query: { kind: string; name: string; namespace?: string; group?: string },
  ): Json {
    const manifest = state.live?.manifests.find(
      m =>
        m.kind === query.kind &&
        m.metadata.name === query.name &&
        (!query.namespace ||
          resourceKey(m, state).namespace === query.namespace),
    );
    if (!manifest) {
      throw new ArgoError(
        'NotFound',
        `${query.kind} "${query.name}" not found as part of application ${state.manifest.metadata.name}`,
      );
    }
    const ref = resourceKey(manifest, state);
    const live = {
      ...manifest,
      metadata: {
        ...manifest.metadata,
        namespace: ref.namespace,
        uid: uidOf(state, ref),
        generation: state.history.length,
      },
    };
    if (manifest.kind === 'Rollout')
      live.status = this.rolloutStatus(state, manifest);
    return live;
  }

  private rolloutStatus(state: AppState, rollout: Json): Json {
    const steps: Json[] = rollout.spec.strategy?.canary?.steps ?? [];
    const index = Math.min(state.rolloutStep, steps.length);
    const done = index >= steps.length;
    const current = podHash(rollout);
    const previousLive =
      state.history.length > 1
        ? state.history[state.history.length - 2]
        : undefined;
    const stable =
      done || !previousLive
        ? current
        : createHash('sha1')
            .update(String(previousLive.revision))
            .digest('hex')
            .slice(0, 10);
    const weight = done
      ? 100
      : Math.max(0, ...steps.slice(0, index).map(s => s.setWeight ?? 0));
    const paused = !done && Boolean(steps[index]?.pause);
    const replicas = rollout.spec.replicas ?? 1;
    let phase = 'Progressing';
    if (state.faults.degraded) phase = 'Degraded';
    else if (done) phase = 'Healthy';
    else if (paused) phase = 'Paused';
    return {
      phase,
      currentStepIndex: index,
      currentPodHash: current,
      stableRS: stable,
      canary: {
        weights: {
          canary: { weight: done ? 0 : weight, podTemplateHash: current },
          stable: {
            weight: done ? 100 : 100 - weight,
            podTemplateHash: stable,
          },
        },
      },
      ...(paused && {
        pauseConditions: [
          {
            reason: 'CanaryPauseStep',
            startTime: new Date(state.rolloutStepSince).toISOString(),
          },
        ],
      }),
      replicas,
      updatedReplicas: done ? replicas : Math.ceil((replicas * weight) / 100),
      readyReplicas: replicas,
      availableReplicas: replicas,
      observedGeneration: String(state.history.length),
      message: paused ? 'CanaryPauseStep' : undefined,
    };
  }

  historyEntry(state: AppState, id: number): Json {
    const entry = state.history.find(h => h.id === id);
    if (!entry) {
      throw new ArgoError(
        'InvalidArgument',
        `application ${state.manifest.metadata.name} does not have deployment with id ${id}`,
      );
    }
    return entry;
  }

  sources(state: AppState): Json[] {
    return sourcesOf(state.manifest.spec);
  }

  repositoryOf(state: AppState, sourceIndex = 0): BareRepository {
    return this.renderer.repository(
      this.sources(state)[sourceIndex]?.repoURL ?? '',
    );
  }

  async renderAt(state: AppState, revisions: string[]): Promise<Rendered> {
    return this.renderer.render(state.manifest, revisions);
  }
}

/** Whether `m` is the Argo CD object `kind` named `namespace/name`. */
function isChild(m: Json, kind: string, namespace: string, name: string) {
  return (
    m.kind === kind &&
    String(m.apiVersion).startsWith('argoproj.io/') &&
    m.metadata?.name === name &&
    (m.metadata?.namespace ?? 'argocd') === namespace
  );
}

function withoutTargetRevision(source: Json): Json {
  const { targetRevision: _, ...rest } = source ?? {};
  return rest;
}

/** RFC 7386 JSON merge patch: null deletes, objects merge, anything else replaces. */
function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) {
    return patch;
  }
  const result =
    target && typeof target === 'object' && !Array.isArray(target)
      ? { ...target }
      : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

/**
 * What runs after a sync to `target`: its objects, and, unless the sync prunes, the
 * objects Git no longer has, which stay (and show as requiring pruning).
 */
function withUnpruned(
  state: AppState,
  target: Rendered,
  prune: boolean,
): Rendered {
  if (prune || !state.live) return target;
  const wanted = new Set(target.manifests.map(resourceId));
  const kept = state.live.manifests.filter(m => !wanted.has(resourceId(m)));
  return kept.length === 0
    ? target
    : { ...target, manifests: [...target.manifests, ...kept] };
}

function releaseName(state: AppState) {
  const chart = sourcesOf(state.manifest.spec).find(s => s.path);
  return chart?.helm?.releaseName ?? state.manifest.metadata.name;
}

function resourceId(m: Json) {
  return `${m.apiVersion}/${m.kind}/${m.metadata.namespace ?? ''}/${
    m.metadata.name
  }`;
}

function resourceKey(m: Json, state: AppState) {
  const [group, version] = m.apiVersion.includes('/')
    ? m.apiVersion.split('/')
    : ['', m.apiVersion];
  return {
    group,
    version,
    kind: m.kind,
    namespace:
      m.metadata.namespace ?? state.manifest.spec.destination.namespace ?? '',
    name: m.metadata.name,
  };
}

function uidOf(
  state: AppState,
  ref: { kind: string; namespace: string; name: string },
) {
  const hex = createHash('sha1')
    .update(`${state.uid}/${ref.kind}/${ref.namespace}/${ref.name}`)
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(
    12,
    16,
  )}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function podHash(workload: Json) {
  return createHash('sha1')
    .update(JSON.stringify(workload.spec?.template ?? {}))
    .digest('hex')
    .slice(0, 10);
}

function hasHealth(m: Json) {
  return [
    'Deployment',
    'StatefulSet',
    'DaemonSet',
    'Rollout',
    'Service',
    'CronJob',
    'Job',
    'Ingress',
  ].includes(m.kind);
}

function canaryRollout(rendered: Rendered): Json | undefined {
  return rendered.manifests.find(
    m => m.kind === 'Rollout' && m.spec?.strategy?.canary,
  );
}

function canarySteps(rendered: Rendered): Json[] | undefined {
  return canaryRollout(rendered)?.spec.strategy.canary.steps;
}

/**
 * Argo CD's create of an object that exists: the same one again changes nothing (true);
 * a different one needs `upsert`, which keeps the labels and annotations not given.
 */
function unchangedOrUpserted(
  old: Json,
  manifest: Json,
  upsert: boolean,
  kind: string,
): boolean {
  const same = ['labels', 'annotations', 'finalizers'].every(k =>
    isDeepStrictEqual(old.metadata[k], manifest.metadata[k]),
  );
  if (same && isDeepStrictEqual(old.spec, manifest.spec)) return true;
  if (!upsert) {
    throw new ArgoError(
      'InvalidArgument',
      `existing ${kind} spec is different, use upsert flag to force update`,
    );
  }
  for (const k of ['labels', 'annotations']) {
    if (old.metadata[k] || manifest.metadata[k]) {
      manifest.metadata[k] = { ...old.metadata[k], ...manifest.metadata[k] };
    }
  }
  return false;
}

/** Manifests by namespace and name, the namespace filled in; a later one wins. */
function byKey(manifests: Json[]): Map<string, Json> {
  const wanted = new Map<string, Json>();
  for (const manifest of manifests) {
    const namespace = manifest.metadata.namespace ?? 'argocd';
    wanted.set(key(namespace, manifest.metadata.name), {
      metadata: { ...manifest.metadata, namespace },
      spec: manifest.spec,
    });
  }
  return wanted;
}
