import { InputError } from '@backstage/errors';
import { APPLICATION_ENTITY_ANNOTATION } from '@gitops-backstage/plugin-gitops-common';
import { redactUrl } from '@gitops-backstage/plugin-gitops-node';
import { checkApplicationFields, DNS_LABEL } from './argoCdFields';

export { DNS_LABEL };
export const IN_CLUSTER = 'https://kubernetes.default.svc';

type Source = {
  repoURL: string;
  targetRevision?: string;
  path?: string;
  chart?: string;
  ref?: string;
  helm?: { valueFiles?: string[]; releaseName?: string };
  directory?: { recurse?: boolean; include?: string; exclude?: string };
};

/** Where an Application deploys (`spec.destination`). */
export interface Destination {
  server?: string;
  name?: string;
  namespace: string;
}

/** The action's input. */
export interface Input {
  instance?: string;
  name: string;
  namespace?: string;
  entityRef: string;
  project?: string;
  labels?: Record<string, string>;
  source?: Source;
  sources?: Source[];
  destination: { server?: string; name?: string; namespace: string };
  syncPolicy?: {
    automated?: { prune?: boolean; selfHeal?: boolean };
    syncOptions?: string[];
  };
  automated?: boolean;
  upsert?: boolean;
  applicationSet?: {
    applicationName: string;
    elements: Array<Record<string, string>>;
    goTemplate?: boolean;
  };
}

/** The Application (argoproj.io/v1alpha1) the input describes, naming `entityRef` as its own. */
export function applicationOf(input: Input, entityRef: string) {
  // The scaffolder checks input against the JSON schema; this also holds without it.
  for (const [key, value] of [
    ['name', input.name],
    ['namespace', input.namespace ?? 'argocd'],
  ]) {
    if (!DNS_LABEL.test(value ?? '')) {
      throw new InputError(
        `Invalid ${key} "${value}": a DNS-1123 label (a-z, 0-9 and -, at most 63 characters)`,
      );
    }
  }
  if (Boolean(input.source) === Boolean(input.sources)) {
    throw new InputError('Give either source or sources');
  }
  for (const { repoURL } of input.sources ?? [input.source!]) {
    // Every reader of Argo CD and of the portal would see them: Argo CD keeps
    // repository credentials of its own.
    if (/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(repoURL)) {
      throw new InputError(
        `repoURL ${redactUrl(
          repoURL,
        )} carries credentials (user:password@): give Argo CD repository credentials instead`,
      );
    }
  }
  const { server, name: cluster, namespace } = input.destination;
  if (server && cluster) {
    throw new InputError(
      'Give destination.server or destination.name, not both',
    );
  }
  if (input.automated !== undefined && input.syncPolicy?.automated) {
    throw new InputError('Give automated or syncPolicy.automated, not both');
  }
  const source = (s: Source) => ({
    ...s,
    targetRevision: s.targetRevision ?? 'HEAD',
  });
  const syncPolicy = {
    ...input.syncPolicy,
    ...(input.automated && { automated: { prune: true, selfHeal: true } }),
  };
  const destination: Destination = cluster
    ? { name: cluster, namespace }
    : { server: server ?? IN_CLUSTER, namespace };
  const application = {
    metadata: {
      name: input.name,
      namespace: input.namespace ?? 'argocd',
      ...(input.labels && { labels: input.labels }),
      annotations: { [APPLICATION_ENTITY_ANNOTATION]: entityRef },
    },
    spec: {
      project: input.project ?? 'default',
      ...(input.source
        ? { source: source(input.source) }
        : { sources: input.sources!.map(source) }),
      destination,
      ...(Object.keys(syncPolicy).length > 0 && { syncPolicy }),
    },
  };
  // A set's template has placeholders: each Application it generates is checked.
  if (!input.applicationSet) checkApplicationFields(application);
  return application;
}

export type Application = ReturnType<typeof applicationOf>;

/** `{{key}}` (Argo CD's fasttemplate), or `{{.key}}` with goTemplate: the placeholders checked and filled here. */
function placeholders(goTemplate: boolean) {
  return goTemplate
    ? /\{\{-?\s*\.(\w+)\s*-?\}\}/g
    : /\{\{\s*([^{}\s]+)\s*\}\}/g;
}

/** What one Application of a set is: its name, project, destination and source repositories, filled from its element. */
export interface Generated {
  name: string;
  project: string;
  destination: Destination;
  /** The `repoURL` of each of its sources. */
  repoURLs: string[];
}

/** The `repoURL` of each source of an Application spec (`source`, or every one of `sources`). */
export function repoURLsOf(spec: {
  source?: { repoURL: string };
  sources?: Array<{ repoURL: string }>;
}): string[] {
  return (spec.sources ?? (spec.source ? [spec.source] : [])).map(
    s => s.repoURL,
  );
}

/**
 * The ApplicationSet whose list generator has the input's elements and whose template
 * is the Application the input describes (placeholders kept, the entity annotation on
 * the set and on the template), with what each element generates. Refuses elements
 * that would not fill the template or would make bad or clashing names, before Argo
 * CD's controller does it quietly.
 */
export function applicationSetOf(input: Input, application: Application) {
  const {
    applicationName,
    elements,
    goTemplate = false,
  } = input.applicationSet!;
  if (elements.length === 0) {
    throw new InputError(
      'applicationSet.elements is empty: give one element per Application',
    );
  }
  const { labels, annotations } = application.metadata;
  const template = {
    metadata: { name: applicationName, ...(labels && { labels }), annotations },
    spec: application.spec,
  };
  const used = new Set(
    [...JSON.stringify(template).matchAll(placeholders(goTemplate))].map(
      m => m[1],
    ),
  );
  const generated = elements.map((element, i): Generated => {
    const missing = [...used].find(k => !Object.hasOwn(element, k));
    if (missing) {
      throw new InputError(
        `applicationSet.elements[${i}] has no "${missing}", which the Application template uses`,
      );
    }
    const fill = (value: string): string =>
      value.replace(placeholders(goTemplate), (_, k: string) => element[k]);
    const name = fill(applicationName);
    if (!DNS_LABEL.test(name)) {
      throw new InputError(
        `applicationSet.elements[${i}] makes the Application name "${name}", not a DNS-1123 label (a-z, 0-9 and -, at most 63 characters)`,
      );
    }
    const { server, name: cluster, namespace } = application.spec.destination;
    const where = {
      project: fill(application.spec.project),
      destination: {
        ...(server !== undefined && { server: fill(server) }),
        ...(cluster !== undefined && { name: fill(cluster) }),
        namespace: fill(namespace),
      },
      repoURLs: repoURLsOf(application.spec).map(fill),
    };
    // Where it deploys and what it reads are checked against gitops.projects: only
    // what can be filled here.
    if (JSON.stringify(where).includes('{{')) {
      throw new InputError(
        `applicationSet.elements[${i}]: the project, destination and repoURLs may use only plain placeholders ({{key}}, or {{.key}} with goTemplate), so that where each Application deploys and which repositories it uses can be checked`,
      );
    }
    checkApplicationFields(
      JSON.parse(JSON.stringify(template), (_, v) =>
        typeof v === 'string' ? fill(v) : v,
      ),
      `applicationSet.elements[${i}]: `,
    );
    return { name, ...where };
  });
  const names = generated.map(g => g.name);
  const twice = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (twice >= 0) {
    throw new InputError(
      `applicationSet.elements[${names.indexOf(
        names[twice],
      )}] and [${twice}] both make the Application "${names[twice]}"`,
    );
  }
  const { name, namespace } = application.metadata;
  return {
    applicationSet: {
      metadata: { name, namespace, annotations },
      spec: {
        // missingkey=error: a missing key fails, not an Application named "<no value>".
        ...(goTemplate && {
          goTemplate: true,
          goTemplateOptions: ['missingkey=error'],
        }),
        generators: [{ list: { elements } }],
        template,
      },
    },
    generated,
  };
}
