import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { GitServer, startGitServer } from '../git/GitServer';
import { WebhookReceiver } from '../git/webhooks';

const exec = promisify(execFile);
export const TOKEN = 'sandbox-token';
export const GITHUB_SECRET = 'github-webhook-secret';
export const GITLAB_SECRET = 'gitlab-webhook-token';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: any;
}

/** An HTTP server that records what it is posted; `answer` picks the status. */
export async function startReceiver(
  answer: (path: string) => number | 'hang' = () => 202,
) {
  const received: Received[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk);
    const raw = Buffer.concat(chunks).toString('utf8');
    received.push({
      path: req.url ?? '',
      headers: req.headers,
      raw,
      body: JSON.parse(raw),
    });
    const status = answer(req.url ?? '');
    if (status === 'hang') return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    at: (p: string) => received.filter(r => r.path === p),
    close: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * What the Git server's webhook tests share: a temporary folder per test, a Git server
 * on it that posts to a receiver (`start`), and clones of its repositories.
 * Registers its own beforeEach and afterEach; console.warn is silenced and spied on.
 */
export function gitServerWithReceiver() {
  const state = {} as {
    dir: string;
    server: GitServer;
    receiver: Awaited<ReturnType<typeof startReceiver>>;
    warn: jest.SpyInstance;
  };

  const git = (cwd: string, ...args: string[]) =>
    exec(
      'git',
      ['-c', 'user.name=Test', '-c', 'user.email=t@example.com', ...args],
      { cwd },
    ).then(r => r.stdout.trim());
  const authedUrl = (name: string) =>
    state.server.repoUrl(name).replace('http://', `http://ci:${TOKEN}@`);

  /** Starts the receiver and the Git server posting to it; answers the test's state. */
  const start = async (
    receivers: (url: string) => WebhookReceiver[],
    answer?: (path: string) => number | 'hang',
    webhookTimeoutMs?: number,
  ) => {
    state.receiver = await startReceiver(answer);
    state.server = await startGitServer({
      root: path.join(state.dir, 'repos'),
      token: TOKEN,
      webhooks: receivers(state.receiver.url),
      webhookTimeoutMs,
    });
    return state;
  };

  /** A clone of a new repository `name`, with one file committed. */
  const cloneWithCommit = async (name: string) => {
    await state.server.createRepository(name);
    const work = path.join(state.dir, `${name}-work`);
    await git(state.dir, 'clone', '--quiet', authedUrl(name), work);
    await fs.writeFile(path.join(work, 'values-dev.yaml'), 'tag: a\n');
    await fs.writeFile(path.join(work, 'old.txt'), 'old\n');
    await git(work, 'add', '.');
    await git(work, 'commit', '--quiet', '-m', 'first\n\nwith a body');
    return work;
  };

  beforeEach(async () => {
    state.dir = await fs.mkdtemp(path.join(os.tmpdir(), 'git-webhooks-'));
    state.warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(async () => {
    await state.server?.close();
    await state.receiver?.close();
    state.warn.mockRestore();
    await fs.rm(state.dir, { recursive: true, force: true });
  });

  return { git, authedUrl, start, cloneWithCommit };
}
