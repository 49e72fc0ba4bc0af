import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { DesiredState } from '@gitops-backstage/plugin-gitops-common';
import {
  GitCredentialsResolver,
  HelmRunner,
} from '@gitops-backstage/plugin-gitops-node';
import { withShallowClone } from '../ConfigRepo/shallowClone';

/**
 * The rendered-manifest side of a promotion preview: `helm template` of the target's
 * chart with its values files before and after the edit, as a unified diff.
 */
export class ManifestPreview {
  constructor(
    private readonly options: {
      helm: HelmRunner;
      credentials: GitCredentialsResolver;
      timeoutMs: number;
    },
  ) {}

  /** The diff, or a note saying why there is none; never throws. */
  async diff(options: {
    desired: DesiredState;
    releaseName: string;
    namespace: string;
    edit: (before: string) => string;
  }): Promise<{ renderedDiff: string } | { renderedDiffNote: string }> {
    const { desired, edit } = options;
    const chart = desired.chart;
    if (!chart || !desired.valuesFile || desired.valuesRepoURL) {
      return {
        renderedDiffNote:
          'The chart and its values files are not in one repository, so the preview shows the values diff only',
      };
    }
    try {
      return await withShallowClone(
        {
          credentials: this.options.credentials,
          timeoutMs: this.options.timeoutMs,
          repoURL: desired.repoURL,
          ref: desired.targetRevision,
          checkout: true,
        },
        async ({ dir }) => {
          const chartDir = path.join(dir, chart.path);
          const file = path.join(dir, desired.valuesFile!);
          const render = () =>
            this.template(dir, chartDir, chart.valueFiles, options);
          const before = await render();
          await fs.writeFile(file, edit(await fs.readFile(file, 'utf8')));
          const after = await render();
          return {
            renderedDiff: unifiedDiff(
              'manifests (now)',
              'manifests (after)',
              before,
              after,
            ),
          };
        },
      );
    } catch (error) {
      return {
        renderedDiffNote: `helm template failed: ${firstLine(
          (error as Error).message,
        )}`,
      };
    }
  }

  /** helm template, with the clone as helm's home (no user config or repositories). */
  private async template(
    home: string,
    chartDir: string,
    valueFiles: string[],
    options: { releaseName: string; namespace: string },
  ) {
    const { ok, stdout, stderr } = await this.options.helm.run(
      [
        'template',
        options.releaseName,
        chartDir,
        '--namespace',
        options.namespace,
        ...valueFiles.flatMap(f => ['--values', path.resolve(chartDir, f)]),
      ],
      { home, timeoutMs: this.options.timeoutMs * 4 },
    );
    if (!ok) throw new Error(stderr);
    return stdout;
  }
}

/** A unified diff without the `===` banner line. */
export function unifiedDiff(
  from: string,
  to: string,
  before: string,
  after: string,
) {
  return createTwoFilesPatch(from, to, before, after).replace(/^=+\n/, '');
}

function firstLine(text: string) {
  return text.trim().split('\n')[0];
}
