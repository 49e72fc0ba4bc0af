import fs from 'node:fs';
import path from 'node:path';

/**
 * What the actions may rightly accept, per kind of field: a hostile value that
 * matches is no attack, and the property test skips it. Kept as plain as the rules
 * themselves, so a test that finds an action accepting anything else is right.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes name or namespace (DNS-1123 label). */
export const label = (v: unknown): v is string =>
  typeof v === 'string' && v.length <= 63 && DNS_LABEL.test(v);

/** A host name (DNS-1123 subdomain). */
export const dnsName = (v: unknown) =>
  typeof v === 'string' && v.length <= 253 && v.split('.').every(label);

/** A Helm release name: a DNS-1123 subdomain of at most 53 characters. */
export const releaseName = (v: unknown) =>
  dnsName(v) && (v as string).length <= 53;

/** A branch name of letters, digits and `._/-` that git check-ref-format takes. */
export const branchName = (v: unknown) =>
  typeof v === 'string' &&
  v.length <= 200 &&
  /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(v) &&
  !/\.\.|\/\/|\/\.|\.lock$|[./]$/.test(v);

/** A Git revision as argocd:application:create takes it. */
export const revision = (v: unknown) =>
  typeof v === 'string' &&
  /^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,254}$/.test(v) &&
  !v.includes('..');

/** A file of a repository, relative to its root, that does not lead out of it. */
export const repositoryPath = (v: unknown) => {
  if (typeof v !== 'string' || !v || v.includes('\0') || v.length > 1024) {
    return false;
  }
  const normalized = path.posix.normalize(v);
  return (
    !v.startsWith('/') &&
    normalized !== '.' &&
    normalized !== '..' &&
    !normalized.startsWith('../')
  );
};

/** An http(s) URL without credentials, on `host` when given. */
export const httpUrl = (v: unknown, host?: string) => {
  try {
    const url = new URL(v as string);
    return (
      ['http:', 'https:'].includes(url.protocol) &&
      !url.username &&
      !url.password &&
      (!host || url.host === host)
    );
  } catch {
    return false;
  }
};

/** A Kubernetes label value (empty, or a name of at most 63 characters). */
export const labelValue = (v: unknown) =>
  typeof v === 'string' &&
  v.length <= 63 &&
  /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);

/** A Kubernetes label key: an optional DNS subdomain prefix and `/`, then a name. */
export const labelKey = (v: unknown) => {
  if (typeof v !== 'string') return false;
  const [prefix, name, more] = v.includes('/') ? v.split('/') : [undefined, v];
  return (
    more === undefined &&
    (prefix === undefined || dnsName(prefix)) &&
    name !== '' &&
    labelValue(name)
  );
};

/** A path inside a repository (a leading '/' is its root, as in Argo CD). */
export const inRepository = (v: unknown) =>
  typeof v === 'string' &&
  !v.includes('\0') &&
  v.length <= 1024 &&
  !path.posix.normalize(v.replace(/^\/+/, '') || '.').startsWith('..');

/** A values file of the chart at `chartPath`, of the repository root, or of a `$ref` source. */
export const valueFile = (v: unknown, chartPath: string) =>
  typeof v === 'string' &&
  v !== '' &&
  !/^[a-z][a-z0-9+.-]*:/i.test(v) &&
  inRepository(
    /^\$[A-Za-z0-9_-]+\//.test(v)
      ? v.replace(/^\$[A-Za-z0-9_-]+\//, '')
      : path.posix.join(v.startsWith('/') ? '/' : chartPath, v),
  );

/** Whether a directory holds a file; symlinks are not followed (Node 22's recursive readdirSync follows them). */
const holdsFile = (dir: string): boolean =>
  fs
    .readdirSync(dir, { withFileTypes: true })
    .some(
      e => e.isFile() || (e.isDirectory() && holdsFile(path.join(dir, e.name))),
    );

/** A directory inside `workspace` (symlinks followed) that holds a file: what may be published. */
export const directoryWithFiles = (workspace: string, v: unknown) => {
  if (typeof v !== 'string' || v.includes('\0') || v.length > 1024) {
    return false;
  }
  try {
    const real = fs.realpathSync(path.resolve(workspace, v));
    const relative = path.relative(workspace, real);
    return (
      !relative.startsWith('..') &&
      !path.isAbsolute(relative) &&
      holdsFile(real)
    );
  } catch {
    return false;
  }
};

/** A file `workspace` does not have yet, inside it and not through its symlink `escape`. */
export const creatableFile = (workspace: string, v: unknown) => {
  if (typeof v !== 'string' || v.includes('\0') || v.length > 1024) {
    return false;
  }
  const relative = path.relative(workspace, path.resolve(workspace, v));
  return (
    relative !== '' &&
    !relative.startsWith('..') &&
    !path.isAbsolute(relative) &&
    relative.split(path.sep)[0] !== 'escape' &&
    relative.split(path.sep).every(part => Buffer.byteLength(part) <= 255) &&
    !fs.existsSync(path.resolve(workspace, v))
  );
};
