import { parse } from 'yaml';

type Json = any;

/** Argo CD's generators; the sandbox runs only `list`. `selector` is a filter beside one. */
const GENERATORS = [
  'list',
  'clusters',
  'git',
  'scmProvider',
  'clusterDecisionResource',
  'pullRequest',
  'matrix',
  'merge',
  'plugin',
];

/**
 * What is wrong with an ApplicationSet, in Argo CD's words, or undefined: first the
 * API server's own checks (templated project, unrecognized generators), then the
 * CRD's required fields as Kubernetes reports them; generators Argo CD has but the
 * sandbox does not run are refused too.
 */
export function applicationSetProblem(appSet: Json): string | undefined {
  const name = appSet?.metadata?.name ?? '';
  const spec = appSet?.spec ?? {};
  if (String(spec.template?.spec?.project ?? '').includes('{{')) {
    return 'error validating ApplicationSets: the Argo CD API does not currently support creating ApplicationSets with templated `project` fields';
  }
  const kinds: string[] = (
    Array.isArray(spec.generators) ? spec.generators : []
  )
    .flatMap((g: Json) => Object.keys(g ?? {}))
    .filter((k: string) => k !== 'selector');
  const unrecognized = [...new Set(kinds.filter(k => !GENERATORS.includes(k)))];
  if (unrecognized.length > 0) {
    return `error validating ApplicationSets: ApplicationSet ${name} contains unrecognized generators: ${unrecognized
      .sort()
      .join(', ')}`;
  }
  const unsupported = kinds.find(k => k !== 'list');
  if (unsupported) {
    return `error validating ApplicationSets: the sandbox runs only the list generator, not ${unsupported}`;
  }
  if (spec.templatePatch) {
    return 'error validating ApplicationSets: the sandbox does not apply templatePatch';
  }
  // Kubernetes names a missing field only where its parent is there.
  const required = [
    'spec',
    'spec.generators',
    'spec.template',
    'spec.template.metadata',
    'spec.template.spec',
    'spec.template.spec.destination',
    'spec.template.spec.project',
  ]
    .filter(field => {
      const parts = field.split('.');
      const parent = parts
        .slice(0, -1)
        .reduce((o: Json, k) => o?.[k], appSet ?? {});
      return isSet(parent) && !isSet(parent[parts[parts.length - 1]]);
    })
    .map(field => `${field}: Required value`);
  if (required.length > 0) {
    const list =
      required.length === 1 ? required[0] : `[${required.join(', ')}]`;
    return `error creating ApplicationSet: ApplicationSet.argoproj.io "${name}" is invalid: ${list}`;
  }
  return undefined;
}

function isSet(value: Json) {
  return value !== undefined && value !== null;
}

/** The parameter sets of the list generators: one per element. */
function parametersOf(spec: Json): Json[] {
  return spec.generators.flatMap((g: Json) => {
    const { elements, elementsYaml } = g.list ?? {};
    return [...(elements ?? []), ...(elementsYaml ? parse(elementsYaml) : [])];
  });
}

/** fasttemplate's parameters: nested keys flattened with dots, every value a string. */
function flatten(element: Json, prefix = ''): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [k, v] of Object.entries(element ?? {})) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      Object.assign(flat, flatten(v, `${prefix}${k}.`));
    } else
      flat[`${prefix}${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return flat;
}

/**
 * One string rendered as Argo CD does. fasttemplate (the default): `{{key}}` becomes
 * the element's value, an unknown key stays as written. Go templates: only `{{.key}}`
 * and `{{.a.b}}` here; a missing key is `<no value>`, or an error with the
 * `missingkey=error` option.
 */
function renderString(
  text: string,
  element: Json,
  goTemplate: boolean,
  strict: boolean,
): string {
  if (!goTemplate) {
    const params = flatten(element);
    return text.replace(/\{\{([^{}]*)\}\}/g, (tag, inner: string) =>
      Object.hasOwn(params, inner.trim()) ? params[inner.trim()] : tag,
    );
  }
  return text.replace(/\{\{-?\s*(.*?)\s*-?\}\}/g, (tag, expression: string) => {
    if (!/^\.\w+(\.\w+)*$/.test(expression)) {
      throw new Error(
        `the sandbox renders only {{.key}} in Go templates, not ${tag}`,
      );
    }
    let value: Json = element;
    for (const part of expression.slice(1).split('.')) value = value?.[part];
    if (value === undefined) {
      if (strict) {
        throw new Error(
          `failed to execute go template ${text}: map has no entry for key "${expression.slice(
            1,
          )}"`,
        );
      }
      return '<no value>';
    }
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function render(
  value: Json,
  element: Json,
  go: boolean,
  strict: boolean,
): Json {
  if (typeof value === 'string')
    return renderString(value, element, go, strict);
  if (Array.isArray(value))
    return value.map(v => render(v, element, go, strict));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        render(v, element, go, strict),
      ]),
    );
  }
  return value;
}

/**
 * The Applications (metadata and spec) an ApplicationSet generates: its template
 * rendered with each element of its list generators. Throws with Argo CD's message
 * when rendering fails.
 */
export function generateApplications(appSet: Json): Json[] {
  const { spec } = appSet;
  const go = spec.goTemplate === true;
  const strict = (spec.goTemplateOptions ?? []).includes('missingkey=error');
  return parametersOf(spec).map(element => {
    const { metadata, spec: appSpec } = render(
      spec.template,
      element,
      go,
      strict,
    );
    return { metadata, spec: appSpec };
  });
}
