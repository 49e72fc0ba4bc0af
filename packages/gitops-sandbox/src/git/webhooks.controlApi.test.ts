import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startSandbox, Sandbox } from '../sandbox';
import {
  GITHUB_SECRET,
  GITLAB_SECRET,
  startReceiver,
} from '../__testUtils__/pushWebhooks';

const exec = promisify(execFile);

jest.setTimeout(120_000);

describe('the sandbox control API for webhooks', () => {
  let dir: string;
  let sandbox: Sandbox;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sandbox-webhooks-'));
    receiver = await startReceiver();
    sandbox = await startSandbox({
      dir,
      instances: [],
      webhooks: [
        {
          url: `${receiver.url}/github`,
          kind: 'github',
          secret: GITHUB_SECRET,
        },
      ],
    });
  });
  afterAll(async () => {
    await sandbox?.stop();
    await receiver?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const api = (method: string, body?: unknown, token = sandbox.gitToken) =>
    fetch(`${sandbox.gitUrl}/api/sandbox/webhooks`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('adds receivers, lists them without secrets, and posts to them', async () => {
    const added = await api('POST', {
      url: `${receiver.url}/gitlab`,
      kind: 'gitlab',
      secret: GITLAB_SECRET,
    });
    expect(added.status).toBe(201);
    expect(await added.json()).toEqual({
      url: `${receiver.url}/gitlab`,
      kind: 'gitlab',
      signed: true,
    });
    const listed = await api('GET');
    expect(await listed.json()).toEqual({
      webhooks: [
        { url: `${receiver.url}/github`, kind: 'github', signed: true },
        { url: `${receiver.url}/gitlab`, kind: 'gitlab', signed: true },
      ],
    });

    await sandbox.createRepository('app-config');
    const work = path.join(dir, 'work');
    const url = sandbox
      .repoUrl('app-config')
      .replace('http://', `http://sandbox:${sandbox.gitToken}@`);
    await exec('git', ['clone', '--quiet', url, work]);
    await exec('git', [
      '-C',
      work,
      '-c',
      'user.name=T',
      '-c',
      'user.email=t@example.com',
      'commit',
      '--quiet',
      '--allow-empty',
      '-m',
      'one',
    ]);
    await exec('git', ['-C', work, 'push', '--quiet', 'origin', 'HEAD:main']);
    await sandbox.webhooksDelivered();
    expect(receiver.received.map(r => r.path)).toEqual(['/github', '/gitlab']);
    expect(receiver.received[0].body.repository.clone_url).toBe(
      sandbox.repoUrl('app-config'),
    );
    expect(receiver.received[1].body.project.git_http_url).toBe(
      sandbox.repoUrl('app-config'),
    );
  });

  it('refuses a bad receiver, and anyone without the token', async () => {
    for (const body of [
      { url: 'ftp://example.com/x', kind: 'github' },
      { url: 'not a url', kind: 'github' },
      { url: 'http://127.0.0.1:7007/x', kind: 'bitbucket' },
      { url: 'http://127.0.0.1:7007/x', kind: 'github', secret: 42 },
    ]) {
      const res = await api('POST', body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
    const anonymous = await api(
      'POST',
      { url: 'http://127.0.0.1:7007/x', kind: 'github' },
      'wrong',
    );
    expect(anonymous.status).toBe(401);
    expect((await (await api('GET')).json()).webhooks).toHaveLength(2);
  });
});
