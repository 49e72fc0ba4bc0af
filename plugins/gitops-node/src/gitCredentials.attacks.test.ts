import { ConfigReader } from '@backstage/config';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { GitCredentialsResolver } from './gitCredentials';
import { gitHttpClient, GitRedirectRefusedError } from './gitHttp';

const resolver = (config: object) =>
  new GitCredentialsResolver(new ConfigReader(config));

const plain = (...hosts: string[]) =>
  resolver({
    gitops: {
      git: { credentials: hosts.map(host => ({ host, password: 'secret' })) },
    },
  });

describe('Git credentials go only to the server they are configured for', () => {
  it('gives none to another port or another host of the same name: no fallback', async () => {
    const credentials = plain('127.0.0.1:7090');
    await expect(
      credentials.forUrl('http://127.0.0.1:7090/git/a.git'),
    ).resolves.toEqual({ username: 'git', password: 'secret' });
    for (const url of [
      'http://127.0.0.1:7091/git/a.git',
      'http://127.0.0.2:7090/git/a.git',
      'http://localhost:7090/git/a.git',
      'http://127.0.0.1/git/a.git',
    ]) {
      await expect(credentials.forUrl(url)).resolves.toBeUndefined();
    }
  });

  it('sends a host without a port over https only, never in clear over http', async () => {
    const credentials = plain('git.example.com');
    await expect(
      credentials.forUrl('https://git.example.com/a.git'),
    ).resolves.toBeDefined();
    await expect(
      credentials.forUrl('https://git.example.com:443/a.git'),
    ).resolves.toBeDefined();
    await expect(
      credentials.forUrl('http://git.example.com/a.git'),
    ).resolves.toBeUndefined();
    await expect(
      credentials.forUrl('https://git.example.com:8443/a.git'),
    ).resolves.toBeUndefined();
    await expect(
      credentials.forUrl('https://git.example.com.evil.example/a.git'),
    ).resolves.toBeUndefined();
  });

  it("keeps an integration's token to its scheme: http://gitlab.example.com gets nothing", async () => {
    const credentials = resolver({
      integrations: {
        gitlab: [
          {
            host: 'gitlab.example.com',
            token: 'glpat-secret',
            apiBaseUrl: 'https://gitlab.example.com/api/v4',
            baseUrl: 'https://gitlab.example.com',
          },
        ],
      },
    });
    await expect(
      credentials.forUrl('https://gitlab.example.com/team/a.git'),
    ).resolves.toEqual({ username: 'oauth2', password: 'glpat-secret' });
    await expect(
      credentials.forUrl('http://gitlab.example.com/team/a.git'),
    ).resolves.toBeUndefined();
    await expect(
      credentials.forUrl('https://gitlab.example.com:8443/team/a.git'),
    ).resolves.toBeUndefined();
  });

  it('refuses a credentials entry that is not a host (a URL, a path, user@), naming the key', () => {
    for (const host of [
      'https://git.example.com',
      'git.example.com/team',
      'x@git.example.com',
    ]) {
      expect(() => plain('127.0.0.1:7090', host)).toThrow(
        `Invalid gitops.git.credentials[1].host: "${host}" is not a host`,
      );
    }
  });
});

/** A listener on 127.0.0.1 that records what it got and answers with `handle`. */
async function listen(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void,
) {
  const requests: Array<{
    url?: string;
    method?: string;
    authorization?: string;
    body: string;
  }> = [];
  const server = http.createServer(async (req, res) => {
    let received = '';
    for await (const chunk of req) received += chunk;
    requests.push({
      url: req.url,
      method: req.method,
      authorization: req.headers.authorization,
      body: received,
    });
    handle(req, res);
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>(resolve => server.close(() => resolve())),
  };
}

async function* body(text: string) {
  yield Buffer.from(text);
}

describe("gitHttpClient (isomorphic-git's HTTP for every Git call of the backend and the actions)", () => {
  const authorization = `Basic ${Buffer.from('git:secret').toString('base64')}`;

  it('does not follow a redirect to another host (another port): the credential never reaches it', async () => {
    const foreign = await listen((_req, res) => {
      res.writeHead(401, { 'www-authenticate': 'Basic' });
      res.end();
    });
    const home = await listen((req, res) => {
      res.writeHead(302, { location: `${foreign.url}${req.url}` });
      res.end();
    });
    try {
      const request = gitHttpClient(5_000).request({
        url: `${home.url}/git/a.git/info/refs?service=git-upload-pack`,
        headers: { authorization },
      });
      await expect(request).rejects.toThrow(GitRedirectRefusedError);
      await expect(request).rejects.toThrow(
        `Git server ${home.url} redirected to ${foreign.url}, another server`,
      );
      expect(home.requests).toHaveLength(1);
      expect(foreign.requests).toEqual([]);
    } finally {
      await home.close();
      await foreign.close();
    }
  });

  it('follows a redirect within the same server, with the credential and the body of a 307', async () => {
    const home = await listen((req, res) => {
      if (req.url?.startsWith('/old/')) {
        res.writeHead(307, { location: req.url.replace('/old/', '/new/') });
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' });
      }
      res.end(req.url?.startsWith('/new/') ? 'moved here' : '');
    });
    try {
      const res = await gitHttpClient(5_000).request({
        url: `${home.url}/old/a.git/git-upload-pack`,
        method: 'POST',
        headers: { authorization },
        body: body('want x'),
      });
      expect(res.statusCode).toBe(200);
      expect(res.url).toBe(`${home.url}/new/a.git/git-upload-pack`);
      expect(home.requests).toEqual([
        expect.objectContaining({ url: '/old/a.git/git-upload-pack' }),
        {
          url: '/new/a.git/git-upload-pack',
          method: 'POST',
          authorization,
          body: 'want x',
        },
      ]);
    } finally {
      await home.close();
    }
  });
});
