import { Config } from '@backstage/config';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  checkNamespace,
  checkReleaseName,
  resolveChartDir,
  resolveValueFile,
} from './helmInput';

const exec = promisify(execFile);

/**
 * What a helm run printed; `ok` is false when helm exited non-zero.
 *
 * @public
 */
export interface HelmResult {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * A chart to render or lint. Every path stays inside `root`, symlinks followed.
 *
 * @public
 */
export interface HelmChartInput {
  /** The repository the chart is in (a clone, or a scaffolder workspace): nothing outside it is read. */
  root: string;
  /** The chart directory, relative to `root` (Argo CD's `source.path`). */
  chartPath: string;
  /** Values files in order, as Argo CD's `helm.valueFiles`: relative to the chart, or to `root` when starting with `/`. */
  valueFiles: string[];
  /** A Kubernetes namespace (DNS-1123 label). */
  namespace: string;
}

/**
 * How long a helm run may take.
 *
 * @public
 */
export interface HelmRunOptions {
  timeoutMs: number;
}

/**
 * Runs helm on charts from Git and from templates: names checked (no flag can pass as
 * a release name or namespace), paths kept inside the repository, no shell, and a
 * fresh empty home per run, so helm loads no user or repository configuration,
 * repositories or plugins; no network.
 *
 * Invalid input throws an InputError naming the field, before helm is started.
 *
 * @public
 */
export class HelmRunner {
  /**
   * `gitops.helm.command`, else `helm` on the PATH. A relative path in the config is
   * relative to the backend's directory, not to the home helm runs in.
   */
  static fromConfig(config: Config): HelmRunner {
    const configured = config.getOptionalString('gitops.helm.command');
    return new HelmRunner(
      configured?.includes('/')
        ? path.resolve(configured)
        : configured ?? 'helm',
      configured !== undefined,
    );
  }

  constructor(
    readonly command: string,
    /** Whether the command came from the config (said in the error when missing). */
    private readonly configured: boolean,
  ) {}

  /** `helm template`: the chart's manifests as helm prints them. */
  async template(
    input: HelmChartInput & { releaseName: string },
    options: HelmRunOptions,
  ): Promise<HelmResult> {
    checkReleaseName(input.releaseName);
    const { chartDir, flags } = await this.chartArgs(input);
    return this.run(
      ['template', ...flags, '--', input.releaseName, chartDir],
      options,
    );
  }

  /** `helm lint --quiet`, with `--strict` when asked. */
  async lint(
    input: HelmChartInput & { strict?: boolean },
    options: HelmRunOptions,
  ): Promise<HelmResult> {
    const { chartDir, flags } = await this.chartArgs(input);
    return this.run(
      [
        'lint',
        '--quiet',
        ...flags,
        ...(input.strict ? ['--strict'] : []),
        '--',
        chartDir,
      ],
      options,
    );
  }

  /** The checked chart directory, and the namespace and values flags (absolute paths). */
  private async chartArgs(input: HelmChartInput) {
    checkNamespace(input.namespace);
    const root = await fs.realpath(input.root);
    const chartDir = await resolveChartDir(root, input.chartPath);
    const valueFiles: string[] = [];
    for (const file of input.valueFiles) {
      valueFiles.push(await resolveValueFile(root, chartDir, file));
    }
    return {
      chartDir,
      flags: [
        '--namespace',
        input.namespace,
        ...valueFiles.flatMap(file => ['--values', file]),
      ],
    };
  }

  /** Runs helm in a fresh private home, removed afterwards; a non-zero exit is `ok: false`. */
  private async run(
    args: string[],
    { timeoutMs }: HelmRunOptions,
  ): Promise<HelmResult> {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-helm-'));
    try {
      await fs.chmod(home, 0o700);
      const { stdout, stderr } = await exec(this.command, args, {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        cwd: home,
        env: {
          PATH: process.env.PATH ?? '',
          // No user configuration, repositories, plugins or caches: none of the
          // backend's HELM_* variables, and an empty home of this run alone.
          HOME: home,
          HELM_CONFIG_HOME: path.join(home, 'config'),
          HELM_CACHE_HOME: path.join(home, 'cache'),
          HELM_DATA_HOME: path.join(home, 'data'),
          // No network: anything helm would fetch (a remote JSON schema of the
          // values, say) fails at once on a closed local port.
          HTTP_PROXY: 'http://127.0.0.1:9',
          HTTPS_PROXY: 'http://127.0.0.1:9',
          NO_PROXY: '',
        },
      });
      return { ok: true, stdout, stderr };
    } catch (error) {
      const e = error as NodeJS.ErrnoException & {
        stdout?: string;
        stderr?: string;
        killed?: boolean;
        signal?: string | null;
      };
      if (e.code === 'ENOENT' || e.code === 'EACCES') {
        throw new Error(
          `Cannot run helm: ${JSON.stringify(this.command)} ${
            this.configured ? '(gitops.helm.command) ' : ''
          }was not found or is not executable. Install helm 3 on the backend's PATH, or set gitops.helm.command in the app-config to the path of the helm binary.`,
        );
      }
      if (e.killed || e.signal) {
        throw new Error(
          `helm ${args[0]} did not finish within ${timeoutMs / 1000}s`,
        );
      }
      if (typeof e.code === 'number') {
        return { ok: false, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
      throw error;
    } finally {
      await fs.rm(home, { recursive: true, force: true });
    }
  }
}
