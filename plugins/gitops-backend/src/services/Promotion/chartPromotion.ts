import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import { ConflictError, InputError } from '@backstage/errors';
import {
  EnvironmentStatus,
  PromotionGate,
  readChartVersionLocation,
  setYamlValues,
} from '@gitops-backstage/plugin-gitops-common';
import { ConfigRepoWriter } from '@gitops-backstage/plugin-gitops-node';
import semver from 'semver';
import { ApplicationManifests } from '../ChartRepository/applicationManifests';
import { ChartVersionReader } from '../ChartRepository/ChartVersionReader';
import { normalizeRepoUrl } from '../GitPush/gitPushes';
import { scalar, valueAt } from '../DeploymentStatus/desiredState';
import { Plan, commitMessage, safeParse, versionOf, writerFor } from './plan';

/**
 * The promotion of a chart from a chart repository: the version `from` resolves to is
 * pinned as the `targetRevision` of `to`'s Application manifest in Git (found through
 * the Application that deployed it). Refused (409) when the environments deploy
 * different charts, when the chart repository does not offer the version, or when the
 * manifest cannot be found or edited.
 */
export async function planChartPromotion(options: {
  entity: Entity;
  source: EnvironmentStatus;
  target: EnvironmentStatus;
  method: Plan['method'];
  gates: PromotionGate[];
  actor: string;
  charts: ChartVersionReader;
  manifests: ApplicationManifests;
  writerFor: (repoURL: string) => ConfigRepoWriter;
}): Promise<Plan> {
  const { entity, source, target, actor } = options;
  const from = source.environment;
  const to = target.environment;
  const fromChart = source.chart;
  const toChart = target.chart;
  if (!fromChart || !toChart) {
    const inGit = fromChart ? to : from;
    throw new ConflictError(
      `${from} and ${to} do not deploy alike: ${inGit} deploys a chart from Git, the other one a chart from a chart repository`,
    );
  }
  if (
    fromChart.chart !== toChart.chart ||
    fromChart.repoURL !== toChart.repoURL
  ) {
    throw new ConflictError(
      `${from} deploys chart ${fromChart.chart} from ${fromChart.repoURL}, ${to} chart ${toChart.chart} from ${toChart.repoURL}: there is no version to carry over`,
    );
  }
  const version =
    fromChart.resolved ??
    (semver.valid(fromChart.wanted) ? fromChart.wanted : undefined);
  if (!version) {
    throw new ConflictError(
      `${from} has no resolved chart version yet (it asks for ${fromChart.wanted})`,
    );
  }
  if (!semver.valid(version)) {
    throw new InputError(
      `The chart version ${JSON.stringify(
        version,
      )} of ${from} is not a semantic version`,
    );
  }
  const offered = await options.charts.versions(toChart.repoURL, toChart.chart);
  if ('error' in offered) {
    throw new ConflictError(
      `Cannot check that ${toChart.repoURL} offers ${toChart.chart} ${version}: ${offered.error.message}`,
    );
  }
  if (!offered.value.includes(version)) {
    throw new ConflictError(
      `${toChart.repoURL} has no ${toChart.chart} ${version}; nothing was written`,
    );
  }
  let pinnedAt;
  try {
    pinnedAt = readChartVersionLocation(entity.metadata.annotations, to);
  } catch (error) {
    throw new InputError((error as Error).message);
  }
  const location = await options.manifests.locate({
    instance: target.instance,
    application: target.application,
    parent: toChart.deployedBy,
    chart: toChart,
    location: pinnedAt,
  });
  const kind = 'promotion';
  const writer = writerFor({ ...options, kind, to }, location.repoURL);
  const previous = toChart.wanted;
  const where = `${to}'s ${location.file}`;
  return {
    kind,
    entityRef: stringifyEntityRef(entity),
    from,
    to,
    version,
    previous,
    method: options.method,
    gates: options.gates,
    valueKey: location.versionKey,
    moves: [
      {
        what: 'chart',
        from: previous,
        to: version,
        file: location.file,
        key: location.versionKey,
      },
    ],
    writer,
    change: {
      repoURL: location.repoURL,
      branch: location.branch,
      file: location.file,
      edit: before => {
        // The file may have moved on since it was found: edit only what was found.
        const key = location.versionKey;
        if (!location.stillPins(before)) {
          throw new ConflictError(
            `${where} no longer pins the chart version of Application ${target.application.name} at ${key}; nothing was written`,
          );
        }
        const after = setYamlValues(before, { [key]: version });
        if (scalar(valueAt(safeParse(after), key)) !== version) {
          throw new ConflictError(
            `${where} would not pin ${version} after the edit; nothing was written`,
          );
        }
        return after;
      },
      message: commitMessage({
        message: `Promote ${entity.metadata.name} chart ${toChart.chart} ${version} from ${from} to ${to}`,
        to,
        previous: toChart.running ?? previous,
        actor,
      }),
      author: { name: actor, email: 'backstage-gitops@noreply.local' },
    },
  };
}

/**
 * Whether promoting `source` to `target` moves the chart's version: false when the
 * target's Application already pins exactly the version the source resolves to.
 */
export function chartMoves(
  source: EnvironmentStatus,
  target: EnvironmentStatus,
): boolean {
  const from = source.chart?.resolved ?? source.chart?.wanted;
  return !from || from !== target.chart?.wanted;
}

/**
 * Whether it moves the image too: both environments name their image in values files
 * from Git (`$values`) and the versions differ. A chart that pins its image itself has
 * no image in the values, and moving the chart moves it.
 */
export function imageMoves(
  source: EnvironmentStatus,
  target: EnvironmentStatus,
): boolean {
  const image = source.desired?.image;
  const desired = target.desired;
  return Boolean(
    image &&
      (desired?.image || desired?.noVersionYet) &&
      versionOf(image) !== versionOf(desired?.image),
  );
}

/**
 * The chart's and the image's moves as one commit: the Application manifest pinning
 * the chart and the values file naming the image are edited together, so the target
 * never runs the new chart with the old image or the other way round. Refused (409)
 * when the two files are not in one repository and branch: no single commit holds both.
 */
export function combinePlans(
  chart: Plan,
  image: Plan,
  options: { entity: Entity; actor: string },
): Plan {
  const where = (plan: Plan) =>
    `${plan.change.file} in ${plan.change.repoURL} (${plan.change.branch})`;
  if (
    !sameRepository(chart.change.repoURL, image.change.repoURL) ||
    chart.change.branch !== image.change.branch
  ) {
    throw new ConflictError(
      `${chart.to} pins its chart in ${where(chart)} and its image in ${where(
        image,
      )}: one commit cannot move both; move the values into the Application's repository and branch, or promote the chart and the image separately`,
    );
  }
  const [chartMove] = chart.moves;
  const [imageMove] = image.moves;
  return {
    ...chart,
    moves: [chartMove, imageMove],
    change: {
      ...chart.change,
      alsoEdit: [{ file: image.change.file, edit: image.change.edit }],
      message: commitMessage({
        message: `Promote ${options.entity.metadata.name} chart ${chart.version} and image ${image.version} from ${chart.from} to ${chart.to}`,
        to: chart.to,
        previous: `chart ${chartMove.from ?? 'none'} with image ${
          imageMove.from ?? 'none'
        }`,
        actor: options.actor,
      }),
    },
  };
}

/** Repository URLs naming one repository, as Git pushes are matched to Applications. */
function sameRepository(a: string, b: string) {
  const key = normalizeRepoUrl(a);
  return key !== undefined && key === normalizeRepoUrl(b);
}
