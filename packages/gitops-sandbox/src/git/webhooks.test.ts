import http from 'node:http';
import { AddressInfo } from 'node:net';
import {
  gitServerWithReceiver,
  GITHUB_SECRET,
  GITLAB_SECRET,
  TOKEN,
} from '../__testUtils__/pushWebhooks';

jest.setTimeout(120_000);

describe('push webhooks of the Git server', () => {
  const { git, start, cloneWithCommit } = gitServerWithReceiver();

  it('never fails a push for a receiver, and logs its failure once without secrets', async () => {
    // A port nobody listens on.
    const closed = http.createServer();
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve));
    const downPort = (closed.address() as AddressInfo).port;
    await new Promise(resolve => closed.close(resolve));
    const { server, receiver, warn } = await start(
      url => [
        {
          url: `http://user:url-password@127.0.0.1:${downPort}/down?token=query-secret`,
          kind: 'github',
          secret: GITHUB_SECRET,
        },
        { url: `${url}/error`, kind: 'gitlab', secret: GITLAB_SECRET },
        { url: `${url}/hang`, kind: 'github', secret: GITHUB_SECRET },
        { url: `${url}/github`, kind: 'github', secret: GITHUB_SECRET },
      ],
      p => ({ '/error': 500, '/hang': 'hang' as const }[p] ?? 202),
      500,
    );
    const work = await cloneWithCommit('failing');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', 'two');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await server.webhooksDelivered();

    // The working receiver had both pushes, whatever the others did.
    expect(receiver.at('/github')).toHaveLength(2);
    expect(receiver.at('/error')).toHaveLength(2);
    const logged = warn.mock.calls.map(args => args.join(' '));
    expect(logged).toHaveLength(3);
    expect(logged.find(l => l.includes('/down'))).toMatch(
      new RegExp(
        `github receiver http://127.0.0.1:${downPort}/down failed: fetch failed: ECONNREFUSED`,
      ),
    );
    expect(logged.find(l => l.includes('/error'))).toMatch(/answered 500/);
    expect(logged.find(l => l.includes('/hang'))).toMatch(
      /no answer within 500 ms/,
    );
    for (const line of logged) {
      for (const secret of [
        GITHUB_SECRET,
        GITLAB_SECRET,
        'url-password',
        'query-secret',
        TOKEN,
      ]) {
        expect(line).not.toContain(secret);
      }
    }
  });

  it('posts unsigned when a receiver has no secret, as GitHub and GitLab do', async () => {
    const { server, receiver } = await start(url => [
      // Credentials in the URL go as basic auth.
      {
        url: `${url.replace('http://', 'http://hook:pa%40ss@')}/github`,
        kind: 'github',
      },
      { url: `${url}/gitlab`, kind: 'gitlab' },
    ]);
    const work = await cloneWithCommit('unsigned');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await server.webhooksDelivered();
    const [github] = receiver.at('/github');
    const [gitlab] = receiver.at('/gitlab');
    expect(github.headers['x-github-event']).toBe('push');
    expect(github.headers['x-hub-signature-256']).toBeUndefined();
    expect(github.headers.authorization).toBe(
      `Basic ${Buffer.from('hook:pa@ss').toString('base64')}`,
    );
    expect(gitlab.headers.authorization).toBeUndefined();
    expect(gitlab.headers['x-gitlab-event']).toBe('Push Hook');
    expect(gitlab.headers['x-gitlab-token']).toBeUndefined();
  });
});
