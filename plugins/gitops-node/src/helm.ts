import { Config } from '@backstage/config';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

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
 * Runs helm without a shell, a user configuration or network access: for charts
 * from Git and from templates, rendered by the backend.
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

  /** Runs helm with `home` as its only home; a non-zero exit is `ok: false`. */
  async run(
    args: string[],
    options: { home: string; timeoutMs: number },
  ): Promise<HelmResult> {
    const { home, timeoutMs } = options;
    try {
      const { stdout, stderr } = await exec(this.command, args, {
        timeout: timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        cwd: home,
        env: {
          PATH: process.env.PATH ?? '',
          // No user configuration, repositories, plugins or caches.
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
    }
  }
}
