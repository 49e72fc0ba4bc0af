import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { DesiredState } from '@gitops-backstage/plugin-gitops-common';
import { InputError } from '@backstage/errors';
import {
  checkNamespace,
  checkReleaseName,
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
    const { desired, releaseName, namespace } = options;
    const chart = desired.chart;
    if (
      !chart ||
      !desired.valuesFile ||
      desired.valuesRepoURL ||
      desired.valuesTargetRevision
    ) {
      return {
        renderedDiffNote:
          'The chart and its values files are not in one repository, so the preview shows the values diff only',
      };
    }
    // The Application's names are checked before anything is cloned or run.
    try {
      checkReleaseName(releaseName);
      checkNamespace(namespace);
    } catch (error) {
      return { renderedDiffNote: refusedNote(error as Error) };
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
        // Answers a note itself: what the clone throws is read as a Git failure.
        async ({ dir }) => {
          try {
            return await this.render(dir, { ...options, chart });
          } catch (error) {
            return {
              renderedDiffNote:
                (error as Error).name === 'InputError'
                  ? refusedNote(error as Error)
                  : firstLine((error as Error).message),
            };
          }
        },
      );
    } catch (error) {
      return {
        renderedDiffNote: `Not rendered: ${firstLine(
          (error as Error).message,
        )}`,
      };
    }
  }

  /** helm template in the clone `dir` before and after the edit, as a diff. */
  private async render(
    dir: string,
    options: {
      desired: DesiredState;
      chart: NonNullable<DesiredState['chart']>;
      releaseName: string;
      namespace: string;
      edit: (before: string) => string;
    },
  ) {
    const { desired, chart, releaseName, namespace, edit } = options;
    const input = {
      root: dir,
      chartPath: chart.path,
      valueFiles: chart.valueFiles,
      releaseName,
      namespace,
    };
    const template = async () => {
      const { ok, stdout, stderr } = await this.options.helm.template(input, {
        timeoutMs: this.options.timeoutMs * 4,
      });
      if (!ok) throw new Error(`helm template failed: ${stderr}`);
      return stdout;
    };
    const before = await template();
    // The file promoted into, edited in the clone only, never through a symlink out of it.
    const file = await valuesFileIn(dir, desired.valuesFile!);
    await fs.writeFile(file, edit(await fs.readFile(file, 'utf8')));
    const after = await template();
    return {
      renderedDiff: unifiedDiff(
        'manifests (now)',
        'manifests (after)',
        before,
        after,
      ),
    };
  }
}

/** Why helm did not run: the Application field and its problem. */
function refusedNote(error: Error) {
  return `Not rendered: helm was not run, the Application's helm settings are refused: ${firstLine(
    error.message,
  )}`;
}

/** `valuesFile` (relative to the clone `dir`), refused unless it is a file inside the clone. */
async function valuesFileIn(dir: string, valuesFile: string) {
  const root = await fs.realpath(dir);
  const file = await fs
    .realpath(path.resolve(root, valuesFile))
    .catch(() => undefined);
  const relative = file && path.relative(root, file);
  if (
    !relative ||
    relative === '..' ||
    relative.startsWith(`..${path.sep}`) ||
    path.isAbsolute(relative)
  ) {
    throw new InputError(
      `valuesFile ${JSON.stringify(
        valuesFile,
      )} is not a file in the repository`,
    );
  }
  return file;
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
