import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { z } from 'zod';

/**
 * An Application an action answers with: only what the plugin relies on is checked;
 * Argo CD adds fields freely.
 */
export const applicationSchema = z
  .object({
    metadata: z.object({ name: z.string() }).passthrough(),
    spec: z.object({ project: z.string() }).passthrough(),
  })
  .passthrough();

/**
 * A List: only its envelope is checked here; each item is checked on its own by
 * {@link checkApplications}, so one malformed Application costs only itself.
 */
export const applicationListSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().nullish() }).nullish(),
  items: z.array(z.unknown()).nullish(),
});

/** The items of a validated list, each still to be checked. */
export function itemsOf(
  list: z.infer<typeof applicationListSchema>,
): unknown[] {
  return list.items ?? [];
}

const strings = z.array(z.string());
const labels = z.record(z.string());
const source = z.object({
  repoURL: z.string(),
  targetRevision: z.string().optional(),
  path: z.string().optional(),
  chart: z.string().optional(),
  ref: z.string().optional(),
  helm: z
    .object({
      valueFiles: strings.nullish(),
      releaseName: z.string().nullish(),
    })
    .nullish(),
});

/**
 * Every field of an Application the plugin reads, with its type (Argo CD's swagger and
 * the CRD schema): an item that breaks it would otherwise break the view it is in.
 */
const listedApplicationSchema = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().nullish(),
    labels: labels.nullish(),
    annotations: labels.nullish(),
  }),
  spec: z.object({
    project: z.string(),
    source: source.nullish(),
    sources: z.array(source).nullish(),
    destination: z.object({
      server: z.string().nullish(),
      name: z.string().nullish(),
      namespace: z.string().nullish(),
    }),
    syncPolicy: z
      .object({
        automated: z.object({ enabled: z.boolean().nullish() }).nullish(),
      })
      .nullish(),
  }),
  status: z.object({
    sync: z
      .object({
        status: z.string().nullish(),
        revision: z.string().nullish(),
        revisions: strings.nullish(),
      })
      .nullish(),
    health: z
      .object({ status: z.string().nullish(), message: z.string().nullish() })
      .nullish(),
    operationState: z
      .object({
        phase: z.string(),
        message: z.string().nullish(),
        startedAt: z.string().nullish(),
        finishedAt: z.string().nullish(),
      })
      .nullish(),
    summary: z.object({ images: strings.nullish() }).nullish(),
    history: z
      .array(
        z.object({
          id: z.number(),
          revision: z.string().nullish(),
          revisions: strings.nullish(),
          deployedAt: z.string(),
          deployStartedAt: z.string().nullish(),
          initiatedBy: z
            .object({
              username: z.string().nullish(),
              automated: z.boolean().nullish(),
            })
            .nullish(),
        }),
      )
      .nullish(),
    resources: z
      .array(
        z.object({
          group: z.string().nullish(),
          version: z.string().nullish(),
          kind: z.string().nullish(),
          namespace: z.string().nullish(),
          name: z.string().nullish(),
        }),
      )
      .nullish(),
  }),
});

/**
 * An Application as listed: a malformed one keeps what could be read safely (name,
 * namespace, labels, annotations, project) and says what is wrong in `malformed`.
 */
export type ListedApplication = ArgoApplication & { malformed?: string };

/**
 * Checks each listed item on its own: a well-formed one is kept as it came; a
 * malformed one becomes a stand-in naming the Application and the field, so the
 * instance's other Applications still show.
 */
export function checkApplications(
  items: unknown[],
  where: string,
): ListedApplication[] {
  return items.map((item, i) => {
    const parsed = listedApplicationSchema.safeParse(item);
    if (parsed.success) return item as ArgoApplication;
    const raw = (item ?? {}) as {
      metadata?: Record<string, unknown>;
      spec?: Record<string, unknown>;
    };
    const text = (value: unknown) =>
      typeof value === 'string' && value ? value : undefined;
    const record = (value: unknown) =>
      labels.safeParse(value).success
        ? (value as Record<string, string>)
        : undefined;
    const name = text(raw.metadata?.name) ?? `(item ${i} without a name)`;
    const namespace = text(raw.metadata?.namespace);
    const itemLabels = record(raw.metadata?.labels);
    const annotations = record(raw.metadata?.annotations);
    return {
      metadata: {
        name,
        ...(namespace && { namespace }),
        ...(itemLabels && { labels: itemLabels }),
        ...(annotations && { annotations }),
      },
      spec: { project: text(raw.spec?.project) ?? '', destination: {} },
      malformed: `${where} answered Application ${name} with an unexpected shape: ${firstIssue(
        parsed.error,
      )}`,
    };
  });
}

/** The first problem of a failed validation, for an error message. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || 'the object'}: ${issue?.message}`;
}
