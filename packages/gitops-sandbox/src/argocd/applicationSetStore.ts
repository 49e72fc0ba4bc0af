import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { applicationSetProblem, generateApplications } from './applicationSet';
import { ArgoError } from './errors';
import {
  AppSetState,
  AppState,
  DNS_SUBDOMAIN,
  InstanceContext,
  Json,
  byKey,
  key,
  syncStatus,
  unchangedOrUpserted,
} from './model';

/**
 * The ApplicationSets of one instance, kept as Applications are: deployed by an
 * Application, and created through the API. Each holds the Applications it
 * generated; the instance makes them Applications.
 */
export class ApplicationSetStore {
  private readonly sets = new Map<string, AppSetState>();
  /** Created through the API; the instance's apply() brings them in. */
  private readonly created = new Map<string, Json>();

  constructor(private readonly context: InstanceContext) {}

  /** The ApplicationSets deployed by Applications plus those created through the API (the API's win), generated. */
  apply(deployed: Json[]) {
    const wanted = byKey([...deployed, ...this.created.values()]);
    for (const [id, next] of wanted) {
      let state = this.sets.get(id);
      if (!state) {
        state = newSetState(next);
        this.sets.set(id, state);
        this.context.touch();
      } else if (!isDeepStrictEqual(state.manifest, next)) {
        state.manifest = next;
        this.context.touch();
      }
      this.generate(state);
    }
    for (const id of this.sets.keys()) {
      if (!wanted.has(id)) {
        // Its Applications go with it (Kubernetes' garbage collection of owned objects).
        this.sets.delete(id);
        this.context.touch();
      }
    }
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
      this.setError(state, (error as Error).message);
      return;
    }
    const policy = state.manifest.spec.syncPolicy?.applicationsSync ?? 'sync';
    for (const [id, old] of state.generated) {
      const updates = policy === 'sync' || policy === 'create-update';
      const deletes = policy === 'sync' || policy === 'create-delete';
      if (next.has(id) ? !updates : !deletes) next.set(id, old);
    }
    if (!isDeepStrictEqual(next, state.generated)) this.context.touch();
    state.generated = next;
    this.setError(state, undefined);
  }

  private setError(state: AppSetState, error: string | undefined) {
    if (state.error === error) return;
    state.error = error;
    state.conditionsSince = new Date().toISOString();
    this.context.touch();
  }

  /**
   * Argo CD's ApplicationSet Create (`POST /api/v1/applicationsets`), with Create's
   * rules for an existing one (identical: answered as it is; different: upsert
   * needed, labels and annotations merged). Its Applications are generated at once;
   * `dryRun` answers which without storing anything.
   */
  create(
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
      const state = newSetState(manifest);
      this.generate(state);
      return state;
    }
    const id = key(manifest.metadata.namespace, name);
    const existing = this.sets.get(id);
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
    this.created.set(id, manifest);
    this.context.apply();
    return this.sets.get(id)!;
  }

  find(name: string, namespace?: string): AppSetState {
    const state = this.sets.get(key(namespace || 'argocd', name));
    if (!state) {
      throw new ArgoError(
        'NotFound',
        `error getting ApplicationSet: applicationsets.argoproj.io "${name}" not found`,
      );
    }
    return state;
  }

  all(): AppSetState[] {
    return [...this.sets.values()];
  }

  /** What every set generated last, for the instance to make Applications of. */
  generatedApplications(): Json[] {
    return [...this.sets.values()].flatMap(s => [...s.generated.values()]);
  }

  /** Forgets a set, for Argo CD's ApplicationSet Delete; the instance does the rest. */
  remove(state: AppSetState) {
    const { namespace, name } = state.manifest.metadata;
    this.created.delete(key(namespace, name));
    this.sets.delete(key(namespace, name));
  }
}

function newSetState(manifest: Json): AppSetState {
  const now = new Date().toISOString();
  return {
    manifest,
    uid: randomUUID(),
    createdAt: now,
    generated: new Map(),
    conditionsSince: now,
  };
}

/** The ApplicationSet as Argo CD's API answers it (without apiVersion and kind, as Applications). */
export function toApplicationSet(
  state: AppSetState,
  apps: ReadonlyMap<string, AppState>,
  version: string,
): Json {
  const { metadata, spec } = state.manifest;
  const resources = [...state.generated].map(([id, manifest]) => {
    const app = apps.get(id);
    return {
      group: 'argoproj.io',
      version: 'v1alpha1',
      kind: 'Application',
      namespace: manifest.metadata.namespace,
      name: manifest.metadata.name,
      ...(app && {
        status: syncStatus(app),
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
    message: error ?? 'Successfully generated parameters for all Applications',
    lastTransitionTime: state.conditionsSince,
  });
  return {
    metadata: {
      ...metadata,
      uid: state.uid,
      resourceVersion: version,
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
