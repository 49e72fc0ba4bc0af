import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import semver from 'semver';
import * as tar from 'tar';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { HelmRunner } from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { unifiedDiff } from '../Promotion/ManifestPreview';
import {
  ChartRepositoryConfig,
  chartPackage,
  sameRepository,
} from './chartRepositories';

/** Entries a chart package may hold; beyond, it is refused rather than unpacked. */
const MAX_ENTRIES = 10_000;

/**
 * The rendered-manifest side of a chart promotion's preview: `helm template` of the
 * chart's running version and of the promoted one, both with the environment's values
 * files from Git, as a unified diff. Packages come from configured chart repositories
 * only; helm runs with no network, on the unpacked packages.
 */
export class ChartPreview {
  constructor(
    private readonly options: {
      repositories: ChartRepositoryConfig[];
      helm: HelmRunner;
      reader: GitConfigRepoReader;
      timeoutMs: number;
    },
  ) {}

  /**
   * The diff, or a note saying why there is none; never throws. `valuesEdit` is the
   * edit of one of the environment's values files that the promotion makes as well
   * (its image): the promoted version renders with it.
   */
  async diff(options: {
    target: EnvironmentStatus;
    from: string;
    to: string;
    valuesEdit?: { file: string; edit: (text: string) => string };
  }): Promise<{ renderedDiff: string } | { renderedDiffNote: string }> {
    const { target, from, to, valuesEdit } = options;
    const chart = target.chart!;
    const repo = this.options.repositories.find(r =>
      sameRepository(r.url, chart.repoURL),
    );
    if (!repo) {
      return {
        renderedDiffNote: `${chart.repoURL} is not among gitops.chartRepositories: its charts are not rendered`,
      };
    }
    const invalid = [from, to].find(v => !semver.valid(v));
    if (invalid !== undefined) {
      return {
        renderedDiffNote: `Not rendered: ${JSON.stringify(
          invalid,
        )} is not a chart version`,
      };
    }
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-chart-'));
    try {
      const texts = await this.readValues(chart.values ?? []);
      const valueFiles = await writeValues(root, 'now', texts);
      const edited = await writeValues(
        root,
        'after',
        texts.map(({ path: file, text }) => ({
          path: file,
          text: file === valuesEdit?.file ? valuesEdit.edit(text) : text,
        })),
      );
      const render = async (version: string, files: string[]) => {
        const chartPath = await this.unpack(root, repo, chart.chart, version);
        const { ok, stdout, stderr } = await this.options.helm.template(
          {
            root,
            chartPath,
            valueFiles: files,
            releaseName: chart.releaseName ?? target.application.name,
            namespace: target.environment,
          },
          { timeoutMs: this.options.timeoutMs * 4 },
        );
        if (!ok)
          throw new Error(`helm template of ${version} failed: ${stderr}`);
        return stdout;
      };
      // Both versions at once: each is a download and a helm process of its own.
      const [before, after] = await Promise.all([
        render(from, valueFiles),
        render(to, edited),
      ]);
      return {
        renderedDiff: unifiedDiff(
          `${chart.chart} ${from}`,
          `${chart.chart} ${to}`,
          before,
          after,
        ),
      };
    } catch (error) {
      return {
        renderedDiffNote: `Not rendered: ${
          (error as Error).message.trim().split('\n')[0]
        }`,
      };
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  }

  /** The environment's values files from Git, in Helm's order. */
  private async readValues(
    values: NonNullable<NonNullable<EnvironmentStatus['chart']>['values']>,
  ) {
    const texts: Array<{ path: string; text: string }> = [];
    for (const file of values) {
      const { files: read } = await this.options.reader.readFiles(
        file.repoURL,
        file.targetRevision,
        [file.path],
      );
      const text = read[file.path];
      if (text === undefined) {
        throw new Error(`${file.path} is not in ${file.repoURL}`);
      }
      texts.push({ path: file.path, text });
    }
    return texts;
  }

  /** The package unpacked under `root/<version>`; answers the chart's path in `root`. */
  private async unpack(
    root: string,
    repo: ChartRepositoryConfig,
    chart: string,
    version: string,
  ) {
    const data = await chartPackage(
      repo,
      chart,
      version,
      this.options.timeoutMs * 4,
    );
    const dir = path.join(root, 'charts', version);
    await fs.mkdir(dir, { recursive: true });
    let entries = 0;
    await pipeline(
      Readable.from(data),
      tar.x({
        cwd: dir,
        // Files and directories only: helm packages hold nothing else.
        filter: (_, entry) => {
          entries++;
          const type = (entry as { type?: string }).type;
          return type === 'File' || type === 'Directory';
        },
      }),
    );
    if (entries > MAX_ENTRIES) {
      throw new Error(
        `${chart} ${version} holds more than ${MAX_ENTRIES} files`,
      );
    }
    return path.join('charts', version, chart);
  }
}

/** Values files as `/values/<set>/<n>.yaml` under `root`, their paths for helm. */
async function writeValues(
  root: string,
  set: string,
  texts: Array<{ text: string }>,
) {
  await fs.mkdir(path.join(root, 'values', set), { recursive: true });
  return Promise.all(
    texts.map(async ({ text }, i) => {
      await fs.writeFile(path.join(root, 'values', set, `${i}.yaml`), text);
      return `/values/${set}/${i}.yaml`;
    }),
  );
}
