import {
  EnvironmentStatus,
  PromotionResult,
} from '@gitops-backstage/plugin-gitops-common';
import { fileEditsOf } from '@gitops-backstage/plugin-gitops-node';
import { ChartPreview } from '../ChartRepository/ChartPreview';
import { ManifestPreview } from './ManifestPreview';
import { Plan } from './plan';
import { diffOf } from './write';

const NO_HELM =
  'The backend has no helm (gitops.helm.command), so the preview shows the values diff only';

/** A dry run: every gate's verdict and the diffs, nothing written or recorded. */
export async function dryRunOf(
  plan: Plan,
  target: EnvironmentStatus,
  options: { preview?: ManifestPreview; charts?: ChartPreview; now: Date },
): Promise<PromotionResult> {
  const { change } = plan;
  const files = await Promise.all(
    fileEditsOf(change).map(async ({ file, edit }) => {
      const before = await plan.writer.read({ ...change, file });
      return { file, before, after: edit(before) };
    }),
  );
  const changes = files.some(f => f.after !== f.before);
  const gates = [
    ...plan.gates,
    {
      name: 'version changes',
      passed: changes,
      message: !changes
        ? `${plan.to} already has ${plan.version}`
        : `${plan.to} moves from ${plan.previous ?? 'nothing'} to ${
            plan.version
          }`,
    },
  ];
  const rendered = await renderedDiff(plan, target, options, changes);
  const now = options.now.toISOString();
  return {
    id: '',
    kind: plan.kind,
    entityRef: plan.entityRef,
    from: plan.from,
    to: plan.to,
    version: plan.version,
    ...(plan.previous && { previousVersion: plan.previous }),
    method: plan.method,
    status: 'requested',
    actor: plan.change.author.name,
    createdAt: now,
    updatedAt: now,
    diff: diffOf(files),
    ...rendered,
    gates,
    dryRun: true,
    moves: plan.moves,
    ...(plan.changeLog && { changeLog: plan.changeLog }),
  };
}

/** The manifests before and after: a chart's two versions, or the values edit. */
async function renderedDiff(
  plan: Plan,
  target: EnvironmentStatus,
  options: { preview?: ManifestPreview; charts?: ChartPreview },
  changes: boolean,
): Promise<{ renderedDiff: string } | { renderedDiffNote: string }> {
  if (!changes) {
    return { renderedDiffNote: 'Nothing to render: the values do not change' };
  }
  if (target.chart) {
    // A chart from a chart repository: its running version and the one it moves to
    // (the same when only the image moves), the image's values edit applied.
    const from = target.chart.resolved ?? target.chart.running;
    if (!options.charts) return { renderedDiffNote: NO_HELM };
    if (!from) {
      return {
        renderedDiffNote: `${plan.to} runs no version of the chart yet: nothing to compare with`,
      };
    }
    const chartMove = plan.moves.find(m => m.what === 'chart');
    const valuesEdit = chartMove ? plan.change.alsoEdit?.[0] : plan.change;
    return options.charts.diff({
      target,
      from,
      to: chartMove?.to ?? from,
      ...(valuesEdit && { valuesEdit }),
    });
  }
  if (!options.preview) return { renderedDiffNote: NO_HELM };
  return options.preview.diff({
    desired: target.desired!,
    releaseName: target.desired!.chart?.releaseName ?? target.application.name,
    namespace: target.environment,
    edit: plan.change.edit,
  });
}
