import { ARGOCD_ANNOTATIONS } from './annotations';

/**
 * How to find the Argo CD Applications of one entity, read from its annotations.
 *
 * @public
 */
export type ApplicationLocator =
  | {
      kind: 'names';
      /** Application names, from `argocd/app-name` (comma-separated). */
      names: string[];
      /** Only this instance, from `argocd/instance-name`; otherwise every instance. */
      instanceName?: string;
      /** From `argocd/app-namespace` (apps-in-any-namespace). */
      appNamespace?: string;
    }
  | {
      kind: 'selector';
      /** Kubernetes label selector, from `argocd/app-selector`. */
      selector: string;
      /** From `argocd/project-name` (comma-separated). */
      projects: string[];
      instanceName?: string;
      appNamespace?: string;
    };

/**
 * Why an entity's annotations could not be read.
 *
 * @public
 */
export class InvalidAnnotationError extends Error {
  constructor(readonly annotation: string, message: string) {
    super(`Invalid annotation ${annotation}: ${message}`);
    this.name = 'InvalidAnnotationError';
  }
}

// Kubernetes object names (RFC 1123 subdomain); Argo CD Application names follow them.
const APP_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// Label selector terms: key=value, key==value, key!=value, key, !key, key in (a,b), key notin (a,b).
const LABEL_KEY = String.raw`(?:[a-zA-Z0-9.-]{1,253}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?`;
const LABEL_VALUE = String.raw`(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?`;
const SELECTOR_TERM = new RegExp(
  String.raw`^(?:!?${LABEL_KEY}|${LABEL_KEY}\s*(?:==?|!=)\s*${LABEL_VALUE}|${LABEL_KEY}\s+(?:in|notin)\s+\(\s*${LABEL_VALUE}(?:\s*,\s*${LABEL_VALUE})*\s*\))$`,
);

function splitList(value: string): string[] {
  return value
    .split(',')
    .map(v => v.trim())
    .filter(v => v.length > 0);
}

/** Splits a label selector into its terms. @internal */
export function splitSelector(selector: string): string[] {
  // Commas inside `in (...)` do not separate terms.
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else {
      current += ch;
    }
  }
  terms.push(current.trim());
  return terms;
}

/**
 * Reads the Argo CD annotations of an entity.
 *
 * Returns `undefined` when the entity has neither `argocd/app-name` nor
 * `argocd/app-selector`; throws {@link InvalidAnnotationError} when an annotation is
 * present but malformed.
 *
 * @public
 */
export function readApplicationLocator(
  annotations: Record<string, string> | undefined,
): ApplicationLocator | undefined {
  const a = annotations ?? {};
  const appName = a[ARGOCD_ANNOTATIONS.appName];
  const selector = a[ARGOCD_ANNOTATIONS.appSelector];
  if (appName === undefined && selector === undefined) {
    return undefined;
  }
  if (appName !== undefined && selector !== undefined) {
    throw new InvalidAnnotationError(
      ARGOCD_ANNOTATIONS.appName,
      `use either ${ARGOCD_ANNOTATIONS.appName} or ${ARGOCD_ANNOTATIONS.appSelector}, not both`,
    );
  }
  const instanceName = optionalName(a, ARGOCD_ANNOTATIONS.instanceName);
  const appNamespace = optionalName(a, ARGOCD_ANNOTATIONS.appNamespace);

  if (appName !== undefined) {
    const names = splitList(appName);
    if (names.length === 0) {
      throw new InvalidAnnotationError(ARGOCD_ANNOTATIONS.appName, 'is empty');
    }
    for (const name of names) {
      if (!APP_NAME.test(name)) {
        throw new InvalidAnnotationError(
          ARGOCD_ANNOTATIONS.appName,
          `"${name}" is not a valid Application name (lower-case letters, digits, '-' and '.')`,
        );
      }
    }
    return { kind: 'names', names, instanceName, appNamespace };
  }

  const terms = splitSelector(selector!);
  for (const term of terms) {
    if (!SELECTOR_TERM.test(term)) {
      throw new InvalidAnnotationError(
        ARGOCD_ANNOTATIONS.appSelector,
        `"${term}" is not a valid label selector term`,
      );
    }
  }
  const projects = splitList(a[ARGOCD_ANNOTATIONS.projectName] ?? '');
  return {
    kind: 'selector',
    selector: terms.join(','),
    projects,
    instanceName,
    appNamespace,
  };
}

function optionalName(
  annotations: Record<string, string>,
  key: string,
): string | undefined {
  const value = annotations[key]?.trim();
  if (value === undefined) return undefined;
  if (!APP_NAME.test(value)) {
    throw new InvalidAnnotationError(key, `"${value}" is not a valid name`);
  }
  return value;
}
