import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { helmBinary } from '../helm';
import { OciRegistry, startRegistry } from './RegistryServer';
import { Exchange, assertContract, startRecordingProxy } from './contractCheck';

jest.setTimeout(180_000);

const execAsync = promisify(execFile);
const sha256 = (data: Buffer) =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;

const CHART = {
  'Chart.yaml':
    'apiVersion: v2\nname: hello\ndescription: a tiny chart\nversion: VERSION\nappVersion: "1.0"\n',
  'values.yaml': 'greeting: hello from the sandbox registry\n',
  'templates/configmap.yaml':
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
};

describe('the registry with helm (OCI charts)', () => {
  let dir: string;
  let registry: OciRegistry;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let exchanges: Exchange[];

  const start = async (credentials?: {
    username: string;
    password: string;
  }) => {
    registry = await startRegistry({ credentials });
    exchanges = [];
    proxy = await startRecordingProxy(registry.url, exchanges);
  };

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'registry-helm-'));
  });

  afterEach(async () => {
    await proxy?.close();
    await registry?.stop();
    await fs.rm(dir, { recursive: true, force: true });
    assertContract(exchanges);
  });

  /** helm with a private HOME and XDG dirs, so no login leaks in or out. */
  const helm = async (args: string[], input?: string) => {
    const binary = await helmBinary();
    const child = execAsync(binary, args, {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        XDG_CONFIG_HOME: path.join(dir, 'config'),
        XDG_CACHE_HOME: path.join(dir, 'cache'),
        XDG_DATA_HOME: path.join(dir, 'data'),
      },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (input !== undefined) child.child.stdin?.end(input);
    const { stdout, stderr } = await child;
    return `${stdout}\n${stderr}`;
  };
  const digestIn = (output: string) =>
    /Digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1];

  const packageChart = async (version: string) => {
    const chartDir = path.join(dir, `chart-${version}`);
    for (const [file, text] of Object.entries(CHART)) {
      await fs.mkdir(path.dirname(path.join(chartDir, file)), {
        recursive: true,
      });
      await fs.writeFile(
        path.join(chartDir, file),
        text.replace('VERSION', version),
      );
    }
    await helm([
      'package',
      chartDir,
      '--destination',
      path.join(dir, 'packages'),
    ]);
    return path.join(dir, 'packages', `hello-${version}.tgz`);
  };

  it('takes helm push and serves helm pull and helm template the same chart', async () => {
    await start();
    const tgz = await packageChart('0.3.1');
    const pushed = await helm([
      'push',
      tgz,
      `oci://${proxy.host}/charts`,
      '--plain-http',
    ]);
    const digest = digestIn(pushed);
    expect(digest).toMatch(/^sha256:/);

    // What helm stored: its chart media types, the exact package as the layer.
    const manifest = await fetch(
      `${registry.url}/v2/charts/hello/manifests/0.3.1`,
      {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      },
    );
    expect(manifest.headers.get('docker-content-digest')).toBe(digest);
    const body = await manifest.json();
    expect(body.config.mediaType).toBe(
      'application/vnd.cncf.helm.config.v1+json',
    );
    expect(body.layers.map((l: any) => l.mediaType)).toEqual([
      'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
    ]);
    const packaged = await fs.readFile(tgz);
    expect(body.layers[0].digest).toBe(sha256(packaged));

    const pulledDir = path.join(dir, 'pulled');
    await fs.mkdir(pulledDir);
    const pulled = await helm([
      'pull',
      `oci://${proxy.host}/charts/hello`,
      '--version',
      '0.3.1',
      '--plain-http',
      '--destination',
      pulledDir,
    ]);
    expect(digestIn(pulled)).toBe(digest);
    expect(await fs.readFile(path.join(pulledDir, 'hello-0.3.1.tgz'))).toEqual(
      packaged,
    );

    const rendered = await helm([
      'template',
      'demo',
      `oci://${proxy.host}/charts/hello`,
      '--version',
      '0.3.1',
      '--plain-http',
    ]);
    expect(rendered).toContain('name: demo-greeting');
    expect(rendered).toContain('greeting: "hello from the sandbox registry"');

    expect(registry.tags('charts/hello')).toEqual(['0.3.1']);
    expect(registry.resolve(`${registry.host}/charts/hello:0.3.1`)).toEqual({
      digest,
      platforms: [],
    });
  });

  it('keeps helm build metadata versions (+ as _ in the tag) and refuses unknown versions', async () => {
    await start();
    const tgz = await packageChart('0.4.0+build.7');
    await helm(['push', tgz, `oci://${proxy.host}/charts`, '--plain-http']);
    expect(registry.tags('charts/hello')).toEqual(['0.4.0_build.7']);
    const pulledDir = path.join(dir, 'pulled');
    await helm([
      'pull',
      `oci://${proxy.host}/charts/hello`,
      '--version',
      '0.4.0+build.7',
      '--plain-http',
      '--untar',
      '--destination',
      pulledDir,
    ]);
    expect(
      await fs.readFile(path.join(pulledDir, 'hello', 'Chart.yaml'), 'utf8'),
    ).toContain('version: 0.4.0+build.7');
    await expect(
      helm([
        'pull',
        `oci://${proxy.host}/charts/hello`,
        '--version',
        '9.9.9',
        '--plain-http',
        '--destination',
        pulledDir,
      ]),
    ).rejects.toThrow(/not found|manifest unknown/i);
  });

  it('needs helm registry login when credentials are on', async () => {
    await start({ username: 'ci', password: 's3cret' });
    const tgz = await packageChart('1.0.0');
    await expect(
      helm(['push', tgz, `oci://${proxy.host}/charts`, '--plain-http']),
    ).rejects.toThrow(/denied|unauthorized|authorization|insufficient_scope/i);
    await expect(
      helm(
        [
          'registry',
          'login',
          proxy.host,
          '--insecure',
          '--username',
          'ci',
          '--password-stdin',
        ],
        'wrong',
      ),
    ).rejects.toThrow(/unauthorized|invalid|denied/i);

    const login = await helm(
      [
        'registry',
        'login',
        proxy.host,
        '--insecure',
        '--username',
        'ci',
        '--password-stdin',
      ],
      's3cret',
    );
    expect(login).toContain('Login Succeeded');
    const digest = digestIn(
      await helm(['push', tgz, `oci://${proxy.host}/charts`, '--plain-http']),
    );
    await fs.mkdir(path.join(dir, 'pulled'));
    const pulled = await helm([
      'pull',
      `oci://${proxy.host}/charts/hello`,
      '--version',
      '1.0.0',
      '--plain-http',
      '--destination',
      path.join(dir, 'pulled'),
    ]);
    expect(digestIn(pulled)).toBe(digest);
    expect(registry.tags('charts/hello')).toEqual(['1.0.0']);

    await helm(['registry', 'logout', proxy.host]);
    await fs.mkdir(path.join(dir, 'again'));
    await expect(
      helm([
        'pull',
        `oci://${proxy.host}/charts/hello`,
        '--version',
        '1.0.0',
        '--plain-http',
        '--destination',
        path.join(dir, 'again'),
      ]),
    ).rejects.toThrow(/denied|unauthorized|authorization|insufficient_scope/i);
  });
});
