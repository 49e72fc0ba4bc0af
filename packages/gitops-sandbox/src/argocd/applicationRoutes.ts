import http from 'node:http';
import { compileLabelSelector } from '@gitops-backstage/plugin-gitops-common';
import { ArgoCdInstance } from './ArgoCdInstance';
import { ArgoError } from './errors';
import { projectList } from './fields';
import { sourcesOf } from './model';
import { resourceActions } from './rolloutActions';
import { chartDetails, repositoryOf } from './sourceQueries';
import { resourceTree } from './tree';
import { historyEntry, liveResource } from './views';

type Json = any;

/**
 * The authenticated part of Argo CD's API: Applications, ApplicationSets, their
 * operations and resources. `username` is who the request authenticated as.
 */
export async function routeApplications(
  instance: ArgoCdInstance,
  req: http.IncomingMessage,
  request: {
    method: string;
    path: string;
    query: URLSearchParams;
    username: string;
  },
): Promise<Json> {
  const { method, path, query, username } = request;
  if (method === 'GET' && path === '/api/v1/applications') {
    return list(instance, query);
  }
  if (method === 'POST' && path === '/api/v1/applications') {
    const state = await instance.create(await readJson(req), {
      upsert: parseBool(query, 'upsert', false),
      validate: parseBool(query, 'validate', true),
    });
    return instance.toApplication(state);
  }
  if (method === 'GET' && path === '/api/v1/applicationsets') {
    return listSets(instance, query);
  }
  if (method === 'POST' && path === '/api/v1/applicationsets') {
    const state = instance.createSet(await readJson(req), {
      upsert: parseBool(query, 'upsert', false),
      dryRun: parseBool(query, 'dryRun', false),
    });
    return instance.toApplicationSet(state);
  }
  const set = path.match(/^\/api\/v1\/applicationsets\/([^/]+)$/);
  if (set && (method === 'GET' || method === 'DELETE')) {
    const state = instance.findSet(
      decodeURIComponent(set[1]),
      query.get('appsetNamespace') || undefined,
    );
    if (method === 'GET') return instance.toApplicationSet(state);
    instance.deleteSet(state);
    return {};
  }

  const match = path.match(/^\/api\/v1\/applications\/([^/]+)(\/.*)?$/);
  if (!match) throw new ArgoError('NotFound', `Not Found: ${method} ${path}`);
  const name = decodeURIComponent(match[1]);
  const rest = match[2] ?? '';
  if (method === 'PUT' && rest === '') {
    const validate = parseBool(query, 'validate', true);
    const body = await readJson(req);
    return instance.toApplication(await instance.update(name, body, validate));
  }
  const state = instance.find(name, query.get('appNamespace') || undefined);
  if (method === 'DELETE' && rest === '') {
    instance.delete(state);
    return {};
  }

  if (method === 'GET' && rest === '') {
    const refresh = query.get('refresh');
    if (refresh && refresh !== 'normal' && refresh !== 'hard') {
      throw new ArgoError(
        'InvalidArgument',
        `unknown refresh type: ${refresh}`,
      );
    }
    if (refresh) await instance.reconcileApp(state);
    return instance.toApplication(state);
  }
  if (rest === '/resource/actions' || rest === '/resource/actions/v2') {
    return resourceAction(instance, req, method, rest, query, state);
  }
  if (method === 'GET' && rest === '/resource-tree')
    return resourceTree(state, instance.version);
  if (method === 'GET' && rest === '/resource') {
    const kind = query.get('kind');
    const resourceName = query.get('resourceName');
    if (!kind || !resourceName) {
      throw new ArgoError(
        'InvalidArgument',
        'kind and resourceName are required',
      );
    }
    const live = liveResource(state, {
      kind,
      name: resourceName,
      namespace: query.get('namespace') || undefined,
      group: query.get('group') ?? undefined,
    });
    return { manifest: JSON.stringify(live) };
  }
  const revision = rest.match(/^\/revisions\/([^/]+)\/metadata$/);
  if (method === 'GET' && revision) {
    const repo = repositoryOf(
      instance.renderer,
      state,
      Number(query.get('sourceIndex') ?? 0),
    );
    const commit = await repo.resolve(decodeURIComponent(revision[1]));
    if (!commit) {
      throw new ArgoError('NotFound', `revision ${revision[1]} not found`);
    }
    return repo.commitMetadata(commit);
  }
  const chartRevision = rest.match(/^\/revisions\/([^/]+)\/chartdetails$/);
  if (method === 'GET' && chartRevision) {
    return chartDetails(
      instance.renderer,
      state,
      decodeURIComponent(chartRevision[1]),
      Number(query.get('sourceIndex') ?? 0),
    );
  }
  if (method === 'POST' && rest === '/sync') {
    const body = await readJson(req);
    const wanted: string[] | undefined =
      body.revisions ?? (body.revision ? [body.revision] : undefined);
    const target = await instance.renderer
      .render(state.manifest, wanted ?? [])
      .catch(error => {
        throw new ArgoError('InvalidArgument', (error as Error).message);
      });
    if (!body.dryRun) {
      instance.startSync(state, target, { username }, { prune: body.prune });
    }
    return instance.toApplication(state);
  }
  if (method === 'POST' && rest === '/rollback') {
    const body = await readJson(req);
    if (state.manifest.spec.syncPolicy?.automated) {
      throw new ArgoError(
        'FailedPrecondition',
        'rollback cannot be initiated when auto-sync is enabled',
      );
    }
    const entry = historyEntry(state, Number(body.id));
    const target = await instance.renderer.render(
      state.manifest,
      entry.revisions ?? [entry.revision],
    );
    if (!body.dryRun) {
      instance.startSync(state, target, { username }, { prune: body.prune });
    }
    return instance.toApplication(state);
  }
  if (method === 'DELETE' && rest === '/operation') {
    instance.terminate(state);
    return {};
  }
  throw new ArgoError('NotFound', `Not Found: ${method} ${path}`);
}

/** Lists or runs a resource action (v1: the object in the query, v2: in the body). */
async function resourceAction(
  instance: ArgoCdInstance,
  req: http.IncomingMessage,
  method: string,
  rest: string,
  query: URLSearchParams,
  state: any,
): Promise<Json> {
  const body = method === 'POST' ? await readJson(req) : undefined;
  const from = rest.endsWith('/v2')
    ? (k: string) => body?.[k]
    : (k: string) => query.get(k) ?? undefined;
  const resource = {
    kind: from('kind'),
    name: from('resourceName'),
    namespace: from('namespace') || undefined,
    group: from('group'),
  };
  if (!resource.kind || !resource.name) {
    throw new ArgoError(
      'InvalidArgument',
      'kind and resourceName are required',
    );
  }
  if (method === 'GET' && !rest.endsWith('/v2')) {
    return { actions: resourceActions(state, resource) };
  }
  if (method !== 'POST') {
    throw new ArgoError('NotFound', `Not Found: ${method} ${rest}`);
  }
  const action = rest.endsWith('/v2') ? body?.action : body;
  if (typeof action !== 'string' || !action) {
    throw new ArgoError('InvalidArgument', 'the action to run is required');
  }
  instance.runResourceAction(state, resource, action);
  return {};
}

function list(instance: ArgoCdInstance, query: URLSearchParams): Json {
  const matches = selectorOf(query);
  const projects = projectsOf(query);
  const appNamespace = query.get('appNamespace');
  const name = query.get('name');
  const repo = query.get('repo');
  const items = instance
    .all()
    .filter(state => {
      const { metadata, spec } = state.manifest;
      return (
        matches(metadata.labels ?? {}) &&
        (projects.length === 0 || projects.includes(spec.project)) &&
        (!appNamespace || metadata.namespace === appNamespace) &&
        (!name || metadata.name === name) &&
        (!repo || sourcesOf(state.manifest.spec).some(s => s.repoURL === repo))
      );
    })
    .map(state => instance.toApplication(state));
  const answer = { metadata: { resourceVersion: instance.version }, items };
  const fields = query.get('fields');
  return fields ? projectList(answer, fields) : answer;
}

/** ApplicationSet List: `selector`, `projects` (of the template), `appsetNamespace`; sorted by name, as Argo CD sorts. */
function listSets(instance: ArgoCdInstance, query: URLSearchParams): Json {
  const matches = selectorOf(query);
  const projects = projectsOf(query);
  const namespace = query.get('appsetNamespace');
  const items = instance
    .allSets()
    .filter(state => {
      const { metadata, spec } = state.manifest;
      return (
        matches(metadata.labels ?? {}) &&
        (projects.length === 0 ||
          projects.includes(spec.template?.spec?.project)) &&
        (!namespace || metadata.namespace === namespace)
      );
    })
    .map(state => instance.toApplicationSet(state))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { metadata: { resourceVersion: instance.version }, items };
}

function selectorOf(
  query: URLSearchParams,
): (labels: Record<string, string>) => boolean {
  const selector = query.get('selector');
  try {
    return selector ? compileLabelSelector(selector) : () => true;
  } catch (error) {
    throw new ArgoError(
      'InvalidArgument',
      `error parsing labels: ${(error as Error).message}`,
    );
  }
}

function projectsOf(query: URLSearchParams): string[] {
  return query
    .getAll('projects')
    .flatMap(p => p.split(','))
    .filter(Boolean);
}

/** A boolean query parameter, parsed as grpc-gateway does (Go's strconv.ParseBool). */
function parseBool(query: URLSearchParams, name: string, fallback: boolean) {
  const value = query.get(name);
  if (value === null) return fallback;
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new ArgoError(
    'InvalidArgument',
    `parsing field "${name}": strconv.ParseBool: parsing "${value}": invalid syntax`,
  );
}

export async function readJson(req: http.IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ArgoError('InvalidArgument', 'request body is not valid JSON');
  }
}
