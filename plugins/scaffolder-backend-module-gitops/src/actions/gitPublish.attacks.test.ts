import {
  createMockDirectory,
  mockServices,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import { GitServer, startGitServer } from '@gitops-backstage/gitops-sandbox';
import fs from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createGitBranchAction } from './gitBranch';
import { createGitPublishAction } from './gitPublish';

const TOKEN = 'sandbox-git-token-7c1e9a';
const BASIC = Buffer.from(`git:${TOKEN}`).toString('base64');

jest.setTimeout(180_000);

/** A listener on another 127.0.0.1 port: a host that is not the Git server. */
interface Listener {
  url: string;
  host: string;
  requests: Array<{ method: string; url: string; authorization?: string }>;
  close(): Promise<void>;
}

async function listen(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '',
      authorization: req.headers.authorization,
    });
    handle(req, res);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise(resolve => server.close(() => resolve())),
  };
}

/**
 * The bait for a leaked credential: no such repository to read (so a publish goes on
 * to push), and 401 asking for credentials on the push, as a Git server would.
 */
const wantsCredentials = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => {
  if (req.url?.includes('service=git-upload-pack')) {
    res.writeHead(404);
  } else {
    res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
  }
  res.end();
};

/** The Authorization headers a listener received. */
const authorizations = (listener: Listener) =>
  listener.requests.map(r => r.authorization).filter(Boolean);

/**
 * gitops:git:publish and gitops:git:branch send the portal's Git credentials only to
 * the server they are configured for, and copy nothing a server answers into the task
 * log or error beyond a short redacted status line.
 */
describe('Git actions keep credentials to their own host', () => {
  let git: GitServer;
  let root: string;
  /** The sandbox Git server, the only host with credentials. */
  let gitHost: string;
  /** The Git server's host as seen through a front that moves some repositories elsewhere. */
  let front: Listener;
  let foreign: Listener;
  const workspace = createMockDirectory();

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'git-attacks-'));
    git = await startGitServer({
      root: path.join(root, 'repos'),
      token: TOKEN,
    });
    gitHost = new URL(git.url).host;
    foreign = await listen(wantsCredentials);
    // The Git host's front: /git/moved-* redirect to another host, the rest is the server.
    front = await listen((req, res) => {
      if (req.url?.startsWith('/git/moved-')) {
        res.writeHead(302, { location: `${foreign.url}${req.url}` });
        res.end();
        return;
      }
      const upstream = http.request(
        new URL(req.url ?? '/', git.url),
        { method: req.method, headers: req.headers },
        answer => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
  });
  afterAll(async () => {
    await front?.close();
    await foreign?.close();
    await git?.close();
    await fs.rm(root, { recursive: true, force: true });
  });
  beforeEach(() => {
    foreign.requests.length = 0;
    workspace.setContent({ 'config/README.md': '# service-c config\n' });
  });

  /** Credentials for the given hosts only (the sandbox Git server by default). */
  const credentialsFor = (...hosts: string[]) =>
    new ConfigReader({
      gitops: {
        git: {
          credentials: (hosts.length ? hosts : [gitHost]).map(host => ({
            host,
            password: TOKEN,
          })),
        },
      },
    });

  async function publish(
    input: Record<string, unknown>,
    config = credentialsFor(),
  ) {
    const logger = mockServices.logger.mock();
    const ctx = createMockActionContext({
      input: {
        sourcePath: './config',
        commitMessage: 'Initial',
        ...input,
      } as any,
      workspacePath: workspace.path,
      logger,
    });
    const action = createGitPublishAction({ config });
    const error = await action.handler(ctx as any).then(
      () => undefined,
      (e: Error) => e,
    );
    const log = (['debug', 'info', 'warn', 'error'] as const)
      .flatMap(level => logger[level].mock.calls)
      .map(call => JSON.stringify(call))
      .join('\n');
    return { error, log };
  }

  const repositories = async () =>
    (
      await (
        await fetch(`${git.url}/api/repos`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()
    ).repositories as string[];

  it('sends no Authorization to a create URL on another host (gitCreateUrl pointed at a listener): the step fails naming the host, nothing created', async () => {
    const { error, log } = await publish({
      repoUrl: git.repoUrl('service-c-config'),
      createRepository: { url: `${foreign.url}/api/repos` },
    });
    expect(error?.message).toBe(
      `No Git credentials for ${foreign.host}: credentials go only to the server they are configured for; add them to gitops.git.credentials (host: ${foreign.host}) or a Backstage integration`,
    );
    expect(authorizations(foreign)).toEqual([]);
    expect(foreign.requests).toEqual([]);
    expect(log).not.toContain(TOKEN);
    expect(await repositories()).not.toContain('service-c-config');
  });

  it('a dry run refuses a create URL on another host too, and calls nothing', async () => {
    const logger = mockServices.logger.mock();
    const ctx = {
      ...createMockActionContext({
        input: {
          sourcePath: './config',
          repoUrl: git.repoUrl('service-c-dry'),
          createRepository: { url: `${foreign.url}/api/repos` },
        } as any,
        workspacePath: workspace.path,
        logger,
      }),
      isDryRun: true,
    };
    await expect(
      createGitPublishAction({ config: credentialsFor() }).handler(ctx as any),
    ).rejects.toThrow(`No Git credentials for ${foreign.host}`);
    expect(foreign.requests).toEqual([]);
  });

  it('pushes through the Git host when nothing redirects (the credentials are the right ones)', async () => {
    const { error } = await publish(
      {
        repoUrl: `${front.url}/git/service-c-front.git`,
        createRepository: { url: `${front.url}/api/repos` },
      },
      credentialsFor(front.host),
    );
    expect(error).toBeUndefined();
    expect(await repositories()).toContain('service-c-front');
  });

  it('does not follow a redirect from the Git host to another host, so the credential stays home', async () => {
    const { error, log } = await publish(
      { repoUrl: `${front.url}/git/moved-service-c.git` },
      credentialsFor(front.host),
    );
    expect(error?.message).toBe(
      `Git server ${front.url} redirected to ${foreign.url}, another server; credentials stay with their own server: use the repository's URL there`,
    );
    expect(authorizations(foreign)).toEqual([]);
    expect(foreign.requests).toEqual([]);
    expect(log).not.toContain(TOKEN);
  });

  it('gitops:git:branch does not follow the redirect either', async () => {
    workspace.setContent({ 'proposal/chart/values-x.yaml': 'a: 1\n' });
    const ctx = createMockActionContext({
      input: {
        repoUrl: `${front.url}/git/moved-service-c.git`,
        sourcePath: './proposal',
        branch: 'add-x',
        commitMessage: 'Add x',
      } as any,
      workspacePath: workspace.path,
    });
    await expect(
      createGitBranchAction({ config: credentialsFor(front.host) }).handler(
        ctx as any,
      ),
    ).rejects.toThrow(`redirected to ${foreign.url}, another server`);
    expect(authorizations(foreign)).toEqual([]);
    expect(foreign.requests).toEqual([]);
  });

  it("keeps a create answer's body (echoing the token, a GitHub token, 5 KB of lines) out of the error and the task log", async () => {
    const echo = await listen((req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(
        [
          `upstream error: request had Authorization: ${req.headers.authorization}`,
          `token=${TOKEN} ghp_0123456789abcdefABCDEF0123456789abcd`,
          ...Array.from(
            { length: 100 },
            (_, i) => `line ${i} ${'x'.repeat(40)}`,
          ),
        ].join('\n'),
      );
    });
    try {
      const { error, log } = await publish(
        {
          repoUrl: git.repoUrl('service-c-echo'),
          createRepository: { url: `${echo.url}/api/repos` },
        },
        credentialsFor(gitHost, echo.host),
      );
      const message = error?.message ?? '';
      expect(message).toMatch(
        /^Creating repository "service-c-echo" at http:\/\/127\.0\.0\.1:\d+\/api\/repos failed \(500: upstream error: /,
      );
      for (const secret of [TOKEN, BASIC, 'ghp_0123456789abcdef']) {
        expect(message).not.toContain(secret);
        expect(log).not.toContain(secret);
      }
      expect(message).not.toContain('\n');
      expect(message.length).toBeLessThan(400);
    } finally {
      await echo.close();
    }
  });

  it('redacts user:pass@ in a repository URL instead of pushing with it or logging it', async () => {
    const withPassword = git
      .repoUrl('service-c-userinfo')
      .replace('http://', 'http://x:hunter2-secret@');
    const { error, log } = await publish({ repoUrl: withPassword });
    expect(error?.name).toBe('InputError');
    expect(error?.message).toContain('http://***@127.0.0.1');
    expect(error?.message).not.toContain('hunter2-secret');
    expect(log).not.toContain('hunter2-secret');
    expect(await repositories()).not.toContain('service-c-userinfo');
  });
});
