import { ArgoError } from './errors';
import { DNS_SUBDOMAIN, Json, sourcesOf } from './model';
import { Renderer } from './render';

/**
 * The Application as Argo CD stores it: server-set fields, status and operation
 * dropped (operations only come through sync), spec normalized (project `default`,
 * targetRevision `HEAD`); invalid ones refused with Argo CD's messages.
 */
export async function validatedApplication(
  renderer: Renderer,
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
  // A chart from a chart repository keeps its targetRevision: a version or constraint.
  const normalize = (source: Json) =>
    source.chart
      ? source
      : { ...source, targetRevision: source.targetRevision || 'HEAD' };
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
    await renderer.render(manifest).catch(error => {
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
