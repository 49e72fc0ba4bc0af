import {
  createMockDirectory,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGitBranchAction } from './gitBranch';

const exec = promisify(execFile);
const TOKEN = 'branch-test-token';

// Real Git and the sandbox on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('gitops:git:branch against the sandbox Git server', () => {
  let server: GitServer;
  let root: string;
  let host: string;
  const workspace = createMockDirectory();
  const authed = (url: string) => url.replace('http://', `http://x:${TOKEN}@`);

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'git-branch-'));
    server = await startGitServer({
      root: path.join(root, 'repos'),
      token: TOKEN,
    });
    host = new URL(server.url).host;
    // An existing config repository with a dev values file on main.
    await server.createRepository('service-c-config');
    const seed = path.join(root, 'seed');
    await fs.mkdir(path.join(seed, 'chart'), { recursive: true });
    await fs.writeFile(
      path.join(seed, 'chart', 'values-dev.yaml'),
      'image:\n  tag: "0.1.0"\n',
    );
    const git = (...args: string[]) => exec('git', ['-C', seed, ...args]);
    await git('init', '--quiet', '--initial-branch', 'main');
    await git('add', '.');
    await git(
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@t',
      'commit',
      '-qm',
      'seed',
    );
    await git(
      'push',
      '--quiet',
      authed(server.repoUrl('service-c-config')),
      'main',
    );
  });
  afterAll(async () => {
    await server?.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    workspace.setContent({
      'proposal/chart/values-dev-sensor-7.yaml': 'nodeSelector: {}\n',
      'proposal/argocd/dev-sensor-7.yaml': 'kind: Application\n',
    });
  });

  async function run(
    input: Record<string, unknown>,
    options: { password?: string | null; dryRun?: boolean } = {},
  ) {
    const ctx = {
      ...createMockActionContext({
        input: {
          repoUrl: server.repoUrl('service-c-config'),
          sourcePath: './proposal',
          branch: 'add-dev-sensor-7',
          mustExist: ['chart/values-dev.yaml'],
          commitMessage: 'Add sensor-7',
          ...input,
        } as any,
        workspacePath: workspace.path,
        logger: mockServices.logger.mock(),
      }),
      isDryRun: options.dryRun ?? false,
    };
    const password = options.password === undefined ? TOKEN : options.password;
    const action = createGitBranchAction({
      config: new ConfigReader({
        gitops: {
          git: { credentials: password ? [{ host, password }] : [] },
        },
      }),
    });
    await action.handler(ctx as any);
    return Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls as [string, unknown][],
    );
  }

  const branches = async () =>
    (
      await exec('git', [
        'ls-remote',
        '--heads',
        authed(server.repoUrl('service-c-config')),
      ])
    ).stdout;

  it('proposes the files on a new branch off main, and refuses the same branch again', async () => {
    // A dry run checks everything and pushes nothing.
    await run({}, { dryRun: true });
    expect(await branches()).not.toContain('add-dev-sensor-7');

    const outputs = await run({});
    expect(outputs).toMatchObject({
      branch: 'add-dev-sensor-7',
      branchUrl: `${server.repoUrl('service-c-config')}#add-dev-sensor-7`,
      files: expect.arrayContaining([
        'chart/values-dev-sensor-7.yaml',
        'argocd/dev-sensor-7.yaml',
      ]),
    });
    const dir = await fs.mkdtemp(path.join(root, 'clone-'));
    await exec('git', [
      'clone',
      '--quiet',
      '--branch',
      'add-dev-sensor-7',
      authed(server.repoUrl('service-c-config')),
      dir,
    ]);
    const { stdout } = await exec('git', ['-C', dir, 'log', '--format=%s']);
    expect(stdout.trim().split('\n')).toEqual(['Add sensor-7', 'seed']);
    expect(
      await fs.readFile(
        path.join(dir, 'chart/values-dev-sensor-7.yaml'),
        'utf8',
      ),
    ).toBe('nodeSelector: {}\n');

    await expect(run({})).rejects.toThrow(
      'already has a branch add-dev-sensor-7: merge or delete it first',
    );
  });

  it('refuses, pushing nothing: a missing required file, a file already on main, no credentials, no files', async () => {
    await expect(
      run({ branch: 'add-qa', mustExist: ['chart/values-qa.yaml'] }),
    ).rejects.toThrow('has no chart/values-qa.yaml on main');

    workspace.setContent({ 'proposal/chart/values-dev.yaml': 'x: 1\n' });
    await expect(run({ branch: 'clash' })).rejects.toThrow(
      'already has chart/values-dev.yaml on main',
    );

    await expect(run({ branch: 'anon' }, { password: null })).rejects.toThrow(
      `No Git credentials for ${host}`,
    );

    workspace.setContent({ proposal: {} });
    await expect(run({ branch: 'empty' })).rejects.toThrow(
      './proposal holds no files to add',
    );
    const heads = await branches();
    for (const branch of ['add-qa', 'clash', 'anon', 'empty']) {
      expect(heads).not.toContain(`refs/heads/${branch}`);
    }
  });

  it('names the repository when it cannot reach it', async () => {
    await expect(
      run({ repoUrl: server.repoUrl('nowhere'), branch: 'x', mustExist: [] }),
    ).rejects.toThrow(`Cannot reach ${server.repoUrl('nowhere')}: `);
  });
});
