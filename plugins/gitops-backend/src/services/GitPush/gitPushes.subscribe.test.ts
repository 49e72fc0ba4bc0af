import {
  eventually,
  pushChange,
  Sandbox,
  setTag,
  startGitServer,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { normalizeRepoUrl, pushMatchesRepoUrl } from './gitPushes';
import {
  GITHUB_SECRET,
  GITLAB_SECRET,
  received,
  sign,
  startPushBackend,
} from './__testUtils__/pushBackend';

// The subscription in a backend: pushes to real Git repositories heard through a Git
// host's webhooks, and payloads posted straight to the receivers. Kept together:
// every test file would start a backend (and its ~15 s of CPU) of its own.

// Real Git, the sandbox and a backend on a loaded 2-core machine; longer than
// eventually()'s 300 s, so a missing push fails with its message.
jest.setTimeout(420_000);

const exec = promisify(execFile);

describe('subscribeToGitPushes, with the events backend and its GitHub and GitLab modules', () => {
  let dir: string;
  let sandbox: Sandbox;
  let backendUrl: string;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'git-pushes-'));
    backendUrl = await startPushBackend();
    sandbox = await startTestSandbox({
      dir: path.join(dir, 'sandbox'),
      // Only Git is needed: no Argo CD instances.
      instances: [],
      webhooks: [
        {
          url: `${backendUrl}/api/events/http/github`,
          kind: 'github',
          secret: GITHUB_SECRET,
        },
      ],
    });
    // The GitLab receiver through the sandbox's control API.
    const added = await fetch(`${sandbox.gitUrl}/api/sandbox/webhooks`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${sandbox.gitToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        url: `${backendUrl}/api/events/http/gitlab`,
        kind: 'gitlab',
        secret: GITLAB_SECRET,
      }),
    });
    if (added.status !== 201) {
      throw new Error(`Adding the GitLab webhook answered ${added.status}`);
    }
  });
  afterAll(async () => {
    await sandbox?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
  });
  afterEach(() => warn?.mockRestore());

  /** Waits for the pushes of `after` heard so far, once both providers' are in. */
  const heard = (after: string, count = 2) =>
    eventually(async () => {
      const pushes = received.filter(p => p.after === after);
      return pushes.length >= count ? pushes : undefined;
    }, `${count} pushes of ${after}`);

  it('hears a git push to a sandbox config repository through both webhooks, with URLs an Application names', async () => {
    const after = await pushChange(
      sandbox,
      'service-a-config',
      { 'chart/values-dev.yaml': setTag('abc1234') },
      'dev: abc1234',
    );
    await sandbox.webhooksDelivered();
    const pushes = await heard(after);
    expect(warn).not.toHaveBeenCalled();

    const repoUrl = sandbox.repoUrl('service-a-config');
    expect(pushes.map(p => p.provider).sort()).toEqual(['github', 'gitlab']);
    for (const push of pushes) {
      expect(push).toMatchObject({ ref: 'refs/heads/main', after });
      expect(push.repoUrls).toContain(normalizeRepoUrl(repoUrl));
      // As an Application's spec.source.repoURL may name it.
      for (const repoURL of [
        repoUrl,
        repoUrl.replace(/\.git$/, ''),
        `${repoUrl.replace(/\.git$/, '')}/`,
        repoUrl.replace('http://', 'http://sandbox@'),
      ]) {
        expect({ repoURL, matches: pushMatchesRepoUrl(push, repoURL) }).toEqual(
          { repoURL, matches: true },
        );
      }
      expect(
        pushMatchesRepoUrl(push, sandbox.repoUrl('service-b-config')),
      ).toBe(false);
      expect(
        pushMatchesRepoUrl(push, sandbox.repoUrl('service-a-config-old')),
      ).toBe(false);
    }
    // One event per provider, no more.
    expect(received.filter(p => p.after === after)).toHaveLength(2);
  });

  it('hears a tag pushed, from GitHub as a push and from GitLab as a tag push', async () => {
    const work = path.join(dir, 'tag-work');
    const url = sandbox
      .repoUrl('service-b-config')
      .replace('http://', `http://sandbox:${sandbox.gitToken}@`);
    await exec('git', ['clone', '--quiet', '--depth=1', url, work]);
    await exec('git', [
      '-C',
      work,
      '-c',
      'user.name=CI',
      '-c',
      'user.email=ci@example.com',
      'tag',
      '-a',
      'v2.0.0',
      '-m',
      'release',
    ]);
    await exec('git', ['-C', work, 'push', '--quiet', 'origin', 'v2.0.0']);
    const tag = (
      await exec('git', ['-C', work, 'rev-parse', 'v2.0.0'])
    ).stdout.trim();
    await sandbox.webhooksDelivered();
    const pushes = await heard(tag);
    expect(pushes.map(p => [p.provider, p.ref]).sort()).toEqual([
      ['github', 'refs/tags/v2.0.0'],
      ['gitlab', 'refs/tags/v2.0.0'],
    ]);
    expect(
      pushes.every(p =>
        pushMatchesRepoUrl(p, sandbox.repoUrl('service-b-config')),
      ),
    ).toBe(true);
  });

  it('hears nothing from webhooks with a wrong secret: the modules refuse them', async () => {
    // A Git server of its own whose receivers have the wrong secrets.
    const git = await startGitServer({
      root: path.join(dir, 'other-repos'),
      token: 'other',
      webhooks: [
        {
          url: `${backendUrl}/api/events/http/github`,
          kind: 'github',
          secret: 'not-the-secret',
        },
        {
          url: `${backendUrl}/api/events/http/gitlab`,
          kind: 'gitlab',
          secret: 'not-the-token',
        },
        // Unsigned.
        { url: `${backendUrl}/api/events/http/github`, kind: 'github' },
      ],
    });
    try {
      await git.createRepository('other-config');
      const work = path.join(dir, 'other-work');
      const gitIn = (...args: string[]) =>
        exec('git', [
          '-C',
          work,
          '-c',
          'user.name=CI',
          '-c',
          'user.email=ci@example.com',
          ...args,
        ]);
      await exec('git', [
        'clone',
        '--quiet',
        git.repoUrl('other-config').replace('http://', 'http://x:other@'),
        work,
      ]);
      await gitIn('commit', '--quiet', '--allow-empty', '-m', 'refused');
      await gitIn('push', '--quiet', 'origin', 'HEAD:main');
      const refused = (await gitIn('rev-parse', 'HEAD')).stdout.trim();
      await git.webhooksDelivered();
      // Each receiver's failure, logged by the Git server: the backend answered 403.
      const logged = warn.mock.calls.map(args => args.join(' '));
      expect(logged).toHaveLength(3);
      for (const line of logged) expect(line).toMatch(/answered 403/);

      // The same server with the right secret is heard: so the secret made the difference.
      git.addWebhook({
        url: `${backendUrl}/api/events/http/github`,
        kind: 'github',
        secret: GITHUB_SECRET,
      });
      await gitIn('commit', '--quiet', '--allow-empty', '-m', 'heard');
      await gitIn('push', '--quiet', 'origin', 'HEAD:main');
      const accepted = (await gitIn('rev-parse', 'HEAD')).stdout.trim();
      await git.webhooksDelivered();
      const [push] = await heard(accepted, 1);
      expect(push).toMatchObject({ provider: 'github', after: accepted });
      expect(pushMatchesRepoUrl(push, git.repoUrl('other-config'))).toBe(true);
      expect(received.filter(p => p.after === refused)).toEqual([]);
    } finally {
      await git.close();
    }
  });

  it('ignores payloads that describe no push, and takes a minimal one', async () => {
    const post = async (
      topic: 'github' | 'gitlab',
      headers: Record<string, string>,
      payload: unknown,
    ) => {
      const body = JSON.stringify(payload);
      const res = await fetch(`${backendUrl}/api/events/http/${topic}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(topic === 'github'
            ? { 'x-hub-signature-256': sign(body) }
            : { 'x-gitlab-token': GITLAB_SECRET }),
          ...headers,
        },
        body,
      });
      expect(res.status).toBe(202);
    };
    const sha = (c: string) => c.repeat(40);
    const before = received.length;
    const github = { 'x-github-event': 'push' };
    await post('github', github, { ref: 'refs/heads/main', after: sha('1') });
    await post('github', github, {
      ref: 'main',
      after: sha('2'),
      repository: { clone_url: 'https://github.com/o/r.git' },
    });
    await post('github', github, {
      ref: 'refs/heads/main',
      after: 'HEAD',
      repository: { clone_url: 'https://github.com/o/r.git' },
    });
    await post('github', github, {
      ref: 'refs/heads/main',
      after: sha('3'),
      repository: { clone_url: 'not a url', html_url: 42 },
    });
    // Another GitHub event with a push's fields is not a push.
    await post(
      'github',
      { 'x-github-event': 'create' },
      {
        ref: 'refs/heads/main',
        after: sha('4'),
        repository: { clone_url: 'https://github.com/o/r.git' },
      },
    );
    await post('gitlab', {}, [1, 2]);
    await post(
      'gitlab',
      {},
      {
        object_kind: 'merge_request',
        ref: 'refs/heads/main',
        after: sha('5'),
        project: { git_http_url: 'https://gitlab.com/g/p.git' },
      },
    );
    // Then a minimal push of each: heard, and after the ones above.
    await post('github', github, {
      ref: 'refs/heads/main',
      after: sha('a'),
      repository: { clone_url: 'https://github.com/o/r.git' },
    });
    await post(
      'gitlab',
      {},
      {
        object_kind: 'push',
        ref: 'refs/heads/main',
        after: sha('b'),
        project: { git_ssh_url: 'git@gitlab.com:g/p.git' },
      },
    );
    await eventually(
      async () => (received.length >= before + 2 ? true : undefined),
      'the two minimal pushes',
    );
    expect(received.slice(before)).toEqual([
      {
        provider: 'github',
        ref: 'refs/heads/main',
        after: sha('a'),
        repoUrls: ['github.com/o/r'],
      },
      {
        provider: 'gitlab',
        ref: 'refs/heads/main',
        after: sha('b'),
        repoUrls: ['gitlab.com/g/p'],
      },
    ]);
  });
});
