import {
  createMockDirectory,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { helmBinary } from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createChartValidateAction } from './chartValidate';

jest.setTimeout(180_000);

const fixtures = path.join(__dirname, '__fixtures__', 'charts');

/**
 * Hostile template inputs to gitops:chart:validate. helm runs behind a wrapper that
 * logs every call, so "nothing spawned" is checked, not assumed; a post-renderer
 * script leaves a marker if it ever runs.
 */
describe('gitops:chart:validate against hostile input', () => {
  const workspace = createMockDirectory();
  let dir: string;
  let log: string;
  let marker: string;
  let postRenderer: string;
  let action: ReturnType<typeof createChartValidateAction>;

  beforeAll(async () => {
    dir = await fs.realpath(
      await fs.mkdtemp(path.join(os.tmpdir(), 'chart-validate-attacks-')),
    );
    log = path.join(dir, 'helm-calls.log');
    marker = path.join(dir, 'post-renderer-ran');
    postRenderer = path.join(dir, 'post-renderer.sh');
    await fs.writeFile(postRenderer, `#!/bin/sh\ntouch '${marker}'\ncat\n`, {
      mode: 0o755,
    });
    await fs.writeFile(
      path.join(dir, 'secret.yaml'),
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: stolen\nstringData:\n  token: backend-secret-token\n',
    );
    const wrapper = path.join(dir, 'helm-wrapper.sh');
    await fs.writeFile(
      wrapper,
      [
        '#!/bin/sh',
        `printf '%s\\n' "$*" >> '${log}'`,
        `exec '${await helmBinary()}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    action = createChartValidateAction({
      config: new ConfigReader({ gitops: { helm: { command: wrapper } } }),
    });
  });

  beforeEach(async () => {
    workspace.clear();
    await fs.cp(
      path.join(fixtures, 'service'),
      workspace.resolve('config/chart'),
      { recursive: true },
    );
    await fs.rm(log, { force: true });
  });

  afterAll(async () => {
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const helmCalls = async () =>
    (await fs.readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean);

  async function failure(input: Record<string, unknown>): Promise<Error> {
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: { chartPath: 'config/chart', ...input } as any,
      logger: mockServices.logger.mock(),
    });
    const error = await action.handler(ctx).then(
      () => undefined,
      (e: Error) => e,
    );
    if (!error) throw new Error('expected the step to fail');
    return error;
  }

  it('control: valid input runs helm through the wrapper', async () => {
    const ctx = createMockActionContext({
      workspacePath: workspace.path,
      input: {
        chartPath: 'config/chart',
        environments: ['dev'],
        releaseName: 'checkout',
      } as any,
      logger: mockServices.logger.mock(),
    });
    await action.handler(ctx);
    expect(await helmCalls()).toEqual([
      expect.stringMatching(
        /^lint --quiet --namespace dev --values \S+\/config\/chart\/values-dev.yaml -- \S+\/config\/chart$/,
      ),
      expect.stringMatching(
        /^template --namespace dev --values \S+\/config\/chart\/values-dev.yaml -- checkout \S+\/config\/chart$/,
      ),
    ]);
  });

  it.each([
    [`--post-renderer=${'<script>'}`],
    ['--post-renderer=sh'],
    ['--values=/etc/passwd'],
    ['-h'],
    ['checkout --debug'],
  ])(
    'fails the step on a release name that is a helm flag (%s): an InputError naming releaseName, nothing spawned',
    async pattern => {
      const releaseName = pattern.replace('<script>', postRenderer);
      const error = await failure({
        environments: ['dev', 'staging'],
        releaseName,
      });

      expect(error.name).toBe('InputError');
      expect(error.message).toBe(
        `releaseName ${JSON.stringify(
          releaseName,
        )} is not a valid Helm release name: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit`,
      );
      expect(await helmCalls()).toEqual([]);
      await expect(fs.access(marker)).rejects.toThrow('ENOENT');
    },
  );

  it('fails the step on a release name of 54 characters', async () => {
    const error = await failure({
      environments: ['dev'],
      releaseName: 'a'.repeat(54),
    });
    expect(error.name).toBe('InputError');
    expect(error.message).toMatch(
      /^releaseName "a{54}" is not a valid Helm release name: it has 54 characters/,
    );
    expect(await helmCalls()).toEqual([]);
  });

  it('fails the step on a namespace that is a helm flag, from the namespace input or an environment', async () => {
    for (const input of [
      { environments: ['dev'], namespace: `--post-renderer=${postRenderer}` },
      { environments: ['dev'], namespace: '{environment} --debug' },
      {
        environments: [
          { name: 'dev', namespace: `--post-renderer=${postRenderer}` },
        ],
      },
    ]) {
      const error = await failure({ releaseName: 'checkout', ...input });
      expect(error.name).toBe('InputError');
      expect(error.message).toMatch(
        /^namespace ".*" is not a valid Kubernetes namespace/,
      );
    }
    expect(await helmCalls()).toEqual([]);
    await expect(fs.access(marker)).rejects.toThrow('ENOENT');
  });

  it('refuses values files outside the workspace: ../ paths, an absolute path, a symlink out of it', async () => {
    await fs.symlink(
      path.join(dir, 'secret.yaml'),
      workspace.resolve('config/chart/values-leak.yaml'),
    );
    const cases: Array<[string, RegExp]> = [
      [
        '../../../outside.yaml',
        /^Values file "..\/..\/..\/outside.yaml" of environment dev is outside the workspace$/,
      ],
      [
        '/etc/passwd',
        /^Missing values files: \/etc\/passwd \(environment dev\) does not exist in chart config\/chart$/,
      ],
      [
        'values-leak.yaml',
        /^Values file "values-leak.yaml" of environment dev is outside the workspace$/,
      ],
    ];
    for (const [file, message] of cases) {
      const error = await failure({
        environments: [{ name: 'dev', valueFiles: [file] }],
      });
      expect(error.name).toBe('InputError');
      expect(error.message).toMatch(message);
    }
    expect(await helmCalls()).toEqual([]);
  });

  it('refuses a chart whose template is a symlink out of the workspace: nothing of the backend reaches the task', async () => {
    await fs.symlink(
      path.join(dir, 'secret.yaml'),
      workspace.resolve('config/chart/templates/leak.yaml'),
    );
    const error = await failure({
      environments: ['dev'],
      releaseName: 'checkout',
    });

    expect(error.name).toBe('InputError');
    expect(error.message).toBe(
      'chartPath "config/chart" holds a symlink, "config/chart/templates/leak.yaml", that leads outside the repository',
    );
    expect(error.message).not.toContain('backend-secret-token');
    expect(await helmCalls()).toEqual([]);
  });
});
