import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { z } from 'zod';

/** Only what the plugin relies on is checked; Argo CD adds fields freely. */
export const applicationSchema = z
  .object({
    metadata: z.object({ name: z.string() }).passthrough(),
    spec: z.object({ project: z.string() }).passthrough(),
  })
  .passthrough();

export const applicationListSchema = z.object({
  items: z.array(applicationSchema).nullish(),
});

/** The Applications of a validated list. */
export function itemsOf(
  list: z.infer<typeof applicationListSchema>,
): ArgoApplication[] {
  return (list.items ?? []) as unknown as ArgoApplication[];
}

/** The first problem of a failed validation, for an error message. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.')} ${issue?.message}`;
}
