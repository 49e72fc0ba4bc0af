import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  gitServerWithReceiver,
  GITHUB_SECRET,
  GITLAB_SECRET,
} from '../__testUtils__/pushWebhooks';
import { WebhookReceiver } from './webhooks';

const exec = promisify(execFile);
const ZERO = '0'.repeat(40);

// The repository root, where TypeScript and GitHub's payload types are installed.
// eslint-disable-next-line no-restricted-syntax
const ROOT = path.resolve(__dirname, '../../../..');

jest.setTimeout(120_000);

const hmac = (algorithm: string, secret: string, body: string) =>
  `${algorithm}=${createHmac(algorithm, secret).update(body).digest('hex')}`;

/**
 * Type-checks a payload, as JSON, against GitHub's `PushEvent` of
 * @octokit/webhooks-types (generated from the webhook schemas that
 * @octokit/webhooks-schemas publishes): missing, mistyped and unknown fields fail.
 */
async function pushEventTypeErrors(payloads: unknown[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'push-event-type-'));
  try {
    await fs.writeFile(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          noEmit: true,
          strict: true,
          exactOptionalPropertyTypes: true,
          types: [],
          target: 'es2022',
          module: 'commonjs',
          moduleResolution: 'node',
        },
        files: ['payload.ts'],
      }),
    );
    const types = path.join(
      ROOT,
      'node_modules/@octokit/webhooks-types/schema',
    );
    await fs.writeFile(
      path.join(dir, 'payload.ts'),
      [
        `import type { PushEvent } from ${JSON.stringify(types)};`,
        ...payloads.map(
          (payload, i) =>
            `export const payload${i}: PushEvent = ${JSON.stringify(
              payload,
              null,
              2,
            )};`,
        ),
      ].join('\n'),
    );
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    return await exec(process.execPath, [tsc, '--project', dir]).then(
      () => '',
      (error: any) => `${error.stdout}${error.stderr}`.trim(),
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

describe('push webhooks of the Git server', () => {
  const { git, authedUrl, start, cloneWithCommit } = gitServerWithReceiver();

  const both = (url: string): WebhookReceiver[] => [
    { url: `${url}/github`, kind: 'github', secret: GITHUB_SECRET },
    { url: `${url}/gitlab`, kind: 'gitlab', secret: GITLAB_SECRET },
  ];

  it('posts a signed GitHub push event and a GitLab Push Hook for each push to a branch', async () => {
    const { dir, server, receiver } = await start(both);
    const work = await cloneWithCommit('service-a-config');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    const first = await git(work, 'rev-parse', 'HEAD');
    await server.webhooksDelivered();

    // The second push: two commits, a file added, one changed, one removed.
    await fs.writeFile(path.join(work, 'values-dev.yaml'), 'tag: b\n');
    await git(work, 'commit', '--quiet', '-am', 'dev: b');
    await fs.writeFile(path.join(work, 'new.txt'), 'new\n');
    await fs.rm(path.join(work, 'old.txt'));
    await git(work, 'add', '-A');
    await git(work, 'commit', '--quiet', '-m', 'files');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    const second = await git(work, 'rev-parse', 'HEAD');
    const middle = await git(work, 'rev-parse', 'HEAD~1');
    await server.webhooksDelivered();

    const cloneUrl = server.repoUrl('service-a-config');
    const htmlUrl = cloneUrl.replace(/\.git$/, '');
    const github = receiver.at('/github');
    expect(github).toHaveLength(2);
    for (const { headers, raw } of github) {
      expect(headers).toMatchObject({
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': hmac('sha256', GITHUB_SECRET, raw),
        'x-hub-signature': hmac('sha1', GITHUB_SECRET, raw),
      });
      expect(headers['x-github-delivery']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(headers['user-agent']).toMatch(/^GitHub-Hookshot\//);
    }
    expect(github[0].headers['x-github-delivery']).not.toBe(
      github[1].headers['x-github-delivery'],
    );
    expect(github[0].body).toMatchObject({
      ref: 'refs/heads/main',
      before: ZERO,
      after: first,
      created: true,
      deleted: false,
      forced: false,
      repository: {
        name: 'service-a-config',
        full_name: 'git/service-a-config',
        clone_url: cloneUrl,
        html_url: htmlUrl,
        default_branch: 'main',
      },
      commits: [
        {
          id: first,
          message: 'first\n\nwith a body',
          distinct: true,
          author: { name: 'Test', email: 't@example.com' },
          added: ['old.txt', 'values-dev.yaml'],
          modified: [],
          removed: [],
          url: `${htmlUrl}/commit/${first}`,
        },
      ],
      head_commit: { id: first },
      pusher: { name: 'sandbox' },
      sender: { login: 'sandbox' },
    });
    expect(github[1].body).toMatchObject({
      before: first,
      after: second,
      created: false,
      forced: false,
      compare: `${htmlUrl}/compare/${first.slice(0, 12)}...${second.slice(
        0,
        12,
      )}`,
      commits: [
        { id: middle, modified: ['values-dev.yaml'], added: [], removed: [] },
        {
          id: second,
          added: ['new.txt'],
          removed: ['old.txt'],
          modified: [],
        },
      ],
      head_commit: { id: second, message: 'files' },
    });
    expect(github[0].body.repository.id).toBe(github[1].body.repository.id);

    const gitlab = receiver.at('/gitlab');
    expect(gitlab).toHaveLength(2);
    for (const { headers } of gitlab) {
      expect(headers).toMatchObject({
        'content-type': 'application/json',
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-token': GITLAB_SECRET,
      });
    }
    expect(gitlab[1].body).toMatchObject({
      object_kind: 'push',
      event_name: 'push',
      ref: 'refs/heads/main',
      before: first,
      after: second,
      checkout_sha: second,
      project: {
        name: 'service-a-config',
        path_with_namespace: 'git/service-a-config',
        git_http_url: cloneUrl,
        http_url: cloneUrl,
        web_url: htmlUrl,
        default_branch: 'main',
      },
      repository: {
        name: 'service-a-config',
        git_http_url: cloneUrl,
        homepage: htmlUrl,
      },
      commits: [
        { id: middle, title: 'dev: b', modified: ['values-dev.yaml'] },
        { id: second, title: 'files', added: ['new.txt'] },
      ],
      total_commits_count: 2,
    });
    expect(gitlab[0].body).toMatchObject({
      before: ZERO,
      after: first,
      commits: [{ id: first, added: ['old.txt', 'values-dev.yaml'] }],
    });
    // The clone URL in the payload is the one that clones.
    await git(dir, 'clone', '--quiet', authedUrl('service-a-config'), 'again');
    expect(await git(path.join(dir, 'again'), 'rev-parse', 'HEAD')).toBe(
      second,
    );
  });

  it("sends a GitHub payload that fits GitHub's PushEvent type (@octokit/webhooks-types)", async () => {
    const { server, receiver } = await start(both);
    const work = await cloneWithCommit('typed');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', 'again');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await git(work, 'push', '--quiet', 'origin', 'HEAD~1:refs/heads/other');
    await git(work, 'push', '--quiet', 'origin', ':other');
    await server.webhooksDelivered();
    const payloads = receiver.at('/github').map(r => r.body);
    expect(payloads.map(p => [p.ref, p.created, p.deleted])).toEqual([
      ['refs/heads/main', true, false],
      ['refs/heads/main', false, false],
      ['refs/heads/other', true, false],
      ['refs/heads/other', false, true],
    ]);
    expect(await pushEventTypeErrors(payloads)).toBe('');
    // The check catches what GitHub's type would not take.
    const { sender, ...noSender } = payloads[0];
    const errors = await pushEventTypeErrors([
      noSender,
      { ...payloads[0], created: 'yes' },
      { ...payloads[0], unknownField: 1 },
    ]);
    expect(errors).toMatch(/Property 'sender' is missing/);
    expect(errors).toMatch(/'string' is not assignable to type 'boolean'/);
    expect(errors).toMatch(
      /'"unknownField"' does not exist in type 'PushEvent'/,
    );
  });

  it('tells force pushes, tags and deleted branches as the hosts do', async () => {
    const { server, receiver } = await start(both);
    const work = await cloneWithCommit('events');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    const base = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', 'dropped');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    const dropped = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'reset', '--quiet', '--hard', base);
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', 'rewritten');
    await git(work, 'push', '--quiet', '--force', 'origin', 'HEAD:main');
    const rewritten = await git(work, 'rev-parse', 'HEAD');
    await git(work, 'tag', '-a', 'v1.0.0', '-m', 'release 1.0.0');
    await git(work, 'push', '--quiet', 'origin', 'v1.0.0');
    const tagObject = await git(work, 'rev-parse', 'v1.0.0');
    // A branch from main's head: no distinct commit; then deleted.
    await git(work, 'push', '--quiet', 'origin', 'HEAD:refs/heads/feature');
    await git(work, 'push', '--quiet', 'origin', ':feature');
    await server.webhooksDelivered();

    const github = receiver.at('/github').map(r => r.body);
    expect(github.map(p => p.ref)).toEqual([
      'refs/heads/main',
      'refs/heads/main',
      'refs/heads/main',
      'refs/tags/v1.0.0',
      'refs/heads/feature',
      'refs/heads/feature',
    ]);
    expect(github[2]).toMatchObject({
      before: dropped,
      after: rewritten,
      forced: true,
      created: false,
      commits: [{ id: rewritten, message: 'rewritten' }],
    });
    expect(github[3]).toMatchObject({
      before: ZERO,
      after: tagObject,
      created: true,
      commits: [],
      head_commit: { id: rewritten },
    });
    expect(github[4]).toMatchObject({
      created: true,
      after: rewritten,
      commits: [],
      head_commit: { id: rewritten },
    });
    expect(github[5]).toMatchObject({
      before: rewritten,
      after: ZERO,
      deleted: true,
      commits: [],
      head_commit: null,
    });

    const gitlab = receiver.at('/gitlab');
    expect(gitlab.map(r => r.headers['x-gitlab-event'])).toEqual([
      'Push Hook',
      'Push Hook',
      'Push Hook',
      'Tag Push Hook',
      'Push Hook',
      'Push Hook',
    ]);
    expect(gitlab[3].body).toMatchObject({
      object_kind: 'tag_push',
      event_name: 'tag_push',
      ref: 'refs/tags/v1.0.0',
      after: tagObject,
      checkout_sha: rewritten,
      message: 'release 1.0.0',
    });
    expect(gitlab[5].body).toMatchObject({
      object_kind: 'push',
      after: ZERO,
      checkout_sha: null,
      commits: [],
      total_commits_count: 0,
    });
  });

  it('posts nothing for a push that updates no ref', async () => {
    const { dir, server, receiver } = await start(both);
    const work = await cloneWithCommit('quiet');
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    await server.webhooksDelivered();
    expect(receiver.received).toHaveLength(2);

    // Up to date: nothing to update.
    await git(work, 'push', '--quiet', 'origin', 'HEAD:main');
    // Refused: not a fast-forward.
    const other = path.join(dir, 'other');
    await git(dir, 'clone', '--quiet', authedUrl('quiet'), other);
    await git(other, 'commit', '--quiet', '--allow-empty', '-m', 'theirs');
    await git(other, 'push', '--quiet', 'origin', 'HEAD:main');
    await server.webhooksDelivered();
    expect(receiver.received).toHaveLength(4);
    await git(work, 'commit', '--quiet', '--allow-empty', '-m', 'mine');
    await expect(
      git(work, 'push', '--quiet', 'origin', 'HEAD:main'),
    ).rejects.toThrow(/rejected|non-fast-forward|fetch first/);
    // Fetches do not post either.
    await git(work, 'fetch', '--quiet', 'origin');
    await server.webhooksDelivered();
    expect(receiver.received).toHaveLength(4);
  });
});
