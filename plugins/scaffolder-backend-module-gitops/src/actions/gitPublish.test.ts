import {
  createMockDirectory,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGitPublishAction } from './gitPublish';

const exec = promisify(execFile);
const TOKEN = 'publish-test-token';

// Real Git and the sandbox on a loaded 2-core machine.
jest.setTimeout(180_000);

describe('gitops:git:publish against the sandbox Git server', () => {
  let server: GitServer;
  let root: string;
  let host: string;
  const workspace = createMockDirectory();

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'git-publish-'));
    server = await startGitServer({
      root: path.join(root, 'repos'),
      token: TOKEN,
    });
    host = new URL(server.url).host;
  });
  afterAll(async () => {
    await server?.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    workspace.setContent({
      'config/README.md': '# service-c config\n',
      'config/chart/values-dev.yaml': 'image:\n  tag: "abc1234"\n',
      'app/main.py': 'print("hi")\n',
    });
  });

  const withCredentials = (password = TOKEN) =>
    new ConfigReader({
      gitops: { git: { credentials: [{ host, password }] } },
    });

  async function run(
    input: Record<string, unknown>,
    options: {
      config?: ConfigReader;
      dryRun?: boolean;
      checkpoints?: Map<string, any>;
    } = {},
  ) {
    const logger = mockServices.logger.mock();
    const ctx = {
      ...createMockActionContext({
        input: input as any,
        workspacePath: workspace.path,
        logger,
      }),
      isDryRun: options.dryRun ?? false,
    };
    if (options.checkpoints) {
      const store = options.checkpoints;
      ctx.checkpoint = (async ({ key, fn }: any) => {
        if (!store.has(key)) store.set(key, await fn());
        return store.get(key);
      }) as typeof ctx.checkpoint;
    }
    const action = createGitPublishAction({
      config: options.config ?? withCredentials(),
    });
    await action.handler(ctx as any);
    const outputs = Object.fromEntries(
      (ctx.output as jest.Mock).mock.calls as [string, unknown][],
    );
    const logs = [...logger.info.mock.calls, ...logger.error.mock.calls]
      .map(call => JSON.stringify(call))
      .join('\n');
    return { outputs, logs };
  }

  const publish = (name: string, more: Record<string, unknown> = {}) => ({
    sourcePath: './config',
    repoUrl: server.repoUrl(name),
    createRepository: { url: `${server.url}/api/repos` },
    commitMessage: `Initial ${name}`,
    gitAuthorName: 'Jane Doe',
    gitAuthorEmail: 'jane@example.com',
    ...more,
  });

  /** Clones with the git CLI and the token; answers its files, log and head. */
  async function clone(name: string) {
    const dir = await fs.mkdtemp(path.join(root, 'clone-'));
    const url = server.repoUrl(name).replace('http://', `http://x:${TOKEN}@`);
    await exec('git', ['clone', '--quiet', url, dir]);
    const git = async (...args: string[]) =>
      (await exec('git', ['-C', dir, ...args])).stdout.trim();
    return {
      files: (await git('ls-files')).split('\n'),
      log: (await git('log', '--format=%an <%ae> %s')).split('\n'),
      head: await git('rev-parse', 'HEAD'),
      branch: await git('rev-parse', '--abbrev-ref', 'HEAD'),
      readme: await fs
        .readFile(path.join(dir, 'README.md'), 'utf8')
        .catch(() => undefined),
    };
  }

  const repositories = async () => {
    const res = await fetch(`${server.url}/api/repos`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return (await res.json()).repositories as string[];
  };

  it('creates the repository and pushes the directory as one commit by the author', async () => {
    const { outputs, logs } = await run(publish('service-c-config'));
    expect(outputs).toEqual({
      remoteUrl: server.repoUrl('service-c-config'),
      repoContentsUrl: server.repoUrl('service-c-config'),
      commitHash: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const cloned = await clone('service-c-config');
    expect(cloned.files.sort()).toEqual(['README.md', 'chart/values-dev.yaml']);
    expect(cloned.log).toEqual([
      'Jane Doe <jane@example.com> Initial service-c-config',
    ]);
    expect(cloned.head).toBe(outputs.commitHash);
    expect(cloned.branch).toBe('main');
    expect(logs).not.toContain(TOKEN);
  });

  it('refuses a repository that has commits, and leaves it as it was', async () => {
    const first = await clone('service-c-config');
    workspace.setContent({ 'config/README.md': '# someone else\n' });
    await expect(run(publish('service-c-config'))).rejects.toThrow(
      `Repository ${server.repoUrl(
        'service-c-config',
      )} already exists and has commits; not overwriting it`,
    );
    // Without the create step too: the check is on the repository itself.
    await expect(
      run(publish('service-c-config', { createRepository: undefined })),
    ).rejects.toThrow('already exists');
    const after = await clone('service-c-config');
    expect(after.head).toBe(first.head);
    expect(after.readme).toBe('# service-c config\n');
  });

  it('pushes to an existing empty repository, with or without the create step', async () => {
    await server.createRepository('empty-a');
    await server.createRepository('empty-b');
    await run(publish('empty-a', { sourcePath: './app' }));
    await run(publish('empty-b', { createRepository: undefined }));
    expect((await clone('empty-a')).files).toEqual(['main.py']);
    expect((await clone('empty-b')).files.sort()).toEqual([
      'README.md',
      'chart/values-dev.yaml',
    ]);
  });

  it('names the host when credentials are missing or refused, and creates nothing', async () => {
    await expect(
      run(publish('no-credentials'), { config: new ConfigReader({}) }),
    ).rejects.toThrow(`No Git credentials for ${host}`);
    await expect(
      run(publish('wrong-credentials'), { config: withCredentials('wrong') }),
    ).rejects.toThrow(`Git server ${host} refused the credentials (401)`);
    await expect(
      run(publish('wrong-credentials', { createRepository: undefined }), {
        config: withCredentials('wrong'),
      }),
    ).rejects.toThrow(`Git server ${host} refused the credentials (401)`);
    expect(await repositories()).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/credentials/)]),
    );
  });

  it('dry run: pushes nothing, outputs the URLs', async () => {
    const { outputs } = await run(publish('dry-run-repo'), { dryRun: true });
    expect(outputs).toEqual({
      remoteUrl: server.repoUrl('dry-run-repo'),
      repoContentsUrl: server.repoUrl('dry-run-repo'),
      commitHash: 'dry-run',
    });
    expect(await repositories()).not.toContain('dry-run-repo');
    await expect(
      fs.access(path.join(workspace.path, 'config/.git')),
    ).rejects.toThrow();
  });

  it('a retried task finds its checkpoint instead of the filled repository', async () => {
    const checkpoints = new Map();
    const first = await run(publish('retried'), { checkpoints });
    const again = await run(publish('retried'), { checkpoints });
    expect(again.outputs).toEqual(first.outputs);
    expect((await clone('retried')).log).toHaveLength(1);
  });

  it('reports a server that is not there', async () => {
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const gone = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise(resolve => closed.close(resolve));
    await expect(
      run(
        publish('x', {
          repoUrl: `http://${gone}/git/x.git`,
          createRepository: undefined,
        }),
        {
          config: new ConfigReader({
            gitops: { git: { credentials: [{ host: gone, password: 'p' }] } },
          }),
        },
      ),
    ).rejects.toThrow(`Git server ${gone} is unreachable`);
  });
});
