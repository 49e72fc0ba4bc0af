import { InputError } from '@backstage/errors';
import {
  checkReleaseName,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import path from 'node:path';
import { quoted } from './workspacePath';

/** Kubernetes names (DNS-1123 labels): Argo CD also puts the name in a label value. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A label's name, or its value when not empty: 63 characters at most. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** A Git repository as Argo CD takes it: a URL of these schemes, or scp-like user@host:path. */
const REPO_URL =
  /^((https?|ssh|git|oci):\/\/|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:)\S+$/i;
/** A branch, tag or commit: no flag, no whitespace, no `..`. */
const REVISION = /^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}$/;
/** A chart's name in a chart repository: segments of letters, digits, '.', '_' and '-'. */
const CHART_NAME =
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,99}){0,4}$/;
/** A chart's version or semver range, as Argo CD takes it in targetRevision. */
const CHART_REVISION = /^[A-Za-z0-9_^~=<>*|.+, -]{1,255}$/;

/** What of an Application (filled, for one of a set) these checks read. */
export interface ApplicationFields {
  metadata: { labels?: Record<string, string> };
  spec: {
    source?: SourceFields;
    sources?: SourceFields[];
    destination: { namespace: string };
  };
}

interface SourceFields {
  repoURL: string;
  targetRevision?: string;
  path?: string;
  chart?: string;
  helm?: { valueFiles?: string[]; releaseName?: string };
}

function isLabelKey(key: string) {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  return (
    LABEL_NAME.test(key.slice(slash + 1)) &&
    (prefix === undefined ||
      (prefix.length <= 253 &&
        prefix.split('.').every(part => DNS_LABEL.test(part))))
  );
}

/** Whether `file` (a leading `/` is the repository root, as in Argo CD) stays inside the repository. */
function insideRepository(file: string) {
  const normalized = path.posix.normalize(file.replace(/^\/+/, '') || '.');
  return (
    !file.includes('\0') &&
    file.length <= 1024 &&
    normalized !== '..' &&
    !normalized.startsWith('../')
  );
}

/**
 * Refuses, with an InputError naming the field, what Argo CD would be asked to store
 * or run that is no Kubernetes label or namespace, no repository URL, a path out of
 * the repository, a revision or release name that could be read as a flag: before any
 * call, so nothing a template types reaches Argo CD's repo server unchecked. `where`
 * prefixes the message (`applicationSet.elements[1]: `).
 */
export function checkApplicationFields(
  application: ApplicationFields,
  where = '',
) {
  const refuse = (message: string) => new InputError(`${where}${message}`);
  for (const [key, value] of Object.entries(
    application.metadata.labels ?? {},
  )) {
    if (!isLabelKey(key)) {
      throw refuse(
        `labels: ${quoted(
          key,
        )} is not a Kubernetes label key ([prefix/]name: letters, digits, '-', '_' and '.', at most 63 characters)`,
      );
    }
    if (
      typeof value !== 'string' ||
      (value !== '' && !LABEL_NAME.test(value))
    ) {
      throw refuse(
        `labels: the value ${quoted(String(value))} of ${quoted(
          key,
        )} is not a Kubernetes label value (letters, digits, '-', '_' and '.', at most 63 characters)`,
      );
    }
  }
  const { namespace } = application.spec.destination;
  if (!DNS_LABEL.test(namespace)) {
    throw refuse(
      `destination.namespace ${quoted(
        namespace,
      )} is not a Kubernetes namespace (a DNS-1123 label)`,
    );
  }
  const { source, sources } = application.spec;
  (sources ?? (source ? [source] : [])).forEach((s, i) => {
    const at = sources ? `sources[${i}]` : 'source';
    if (!REPO_URL.test(s.repoURL)) {
      throw refuse(
        `${at}.repoURL ${quoted(
          redactUrl(s.repoURL),
        )} is not a repository URL (https://, http://, ssh://, git://, oci:// or user@host:path)`,
      );
    }
    if (s.chart !== undefined) {
      if (!CHART_NAME.test(s.chart)) {
        throw refuse(
          `${at}.chart ${quoted(
            s.chart,
          )} is not a chart name (letters, digits, '.', '_' and '-', not starting with one of them)`,
        );
      }
      if (s.path !== undefined) {
        throw refuse(
          `${at} gives both chart and path: a chart from a chart repository, or a directory of a Git repository`,
        );
      }
      if (
        s.targetRevision !== undefined &&
        (!CHART_REVISION.test(s.targetRevision) ||
          s.targetRevision.trim().startsWith('-'))
      ) {
        throw refuse(
          `${at}.targetRevision ${quoted(
            s.targetRevision,
          )} is not a chart version or semver range`,
        );
      }
    } else if (
      s.targetRevision !== undefined &&
      (!REVISION.test(s.targetRevision) || s.targetRevision.includes('..'))
    ) {
      throw refuse(
        `${at}.targetRevision ${quoted(
          s.targetRevision,
        )} is not a branch, tag or commit (letters, digits, '.', '_', '/', '+' and '-', not starting with '-')`,
      );
    }
    if (s.path !== undefined && !insideRepository(s.path)) {
      throw refuse(`${at}.path ${quoted(s.path)} leads out of the repository`);
    }
    if (s.helm?.releaseName !== undefined) {
      try {
        checkReleaseName(s.helm.releaseName);
      } catch (error) {
        throw refuse(`${at}.helm.${(error as Error).message}`);
      }
    }
    for (const file of s.helm?.valueFiles ?? []) {
      // `$values/…` is a file of the source whose ref is `values`; else relative to path.
      const ref = /^\$[A-Za-z0-9_-]+\//.exec(file);
      const inRepository = ref
        ? file.slice(ref[0].length)
        : path.posix.join(file.startsWith('/') ? '/' : s.path ?? '', file);
      if (
        !file ||
        /^[a-z][a-z0-9+.-]*:/i.test(file) ||
        !insideRepository(inRepository)
      ) {
        throw refuse(
          `${at}.helm.valueFiles ${quoted(
            file,
          )} is not a file of the repository (relative to path, or from its root with a leading '/')`,
        );
      }
    }
  });
}
