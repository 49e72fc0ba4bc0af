import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import {
  blobSha,
  change,
  FakeGithub,
  REPO_URL,
  serveFakeGithub,
  TOKEN,
  writer,
} from './__testUtils__/standInGithub';
import {
  changedLines,
  failure,
  FILE,
  setTag,
  VALUES,
} from './__testUtils__/valuesFileChange';

// Reading and committing on the branch itself: the edit, races with other writers,
// and nothing written (no commit, no pull request) when nothing changes.

const server = setupServer();
registerMswTestHooks(server);

let github: FakeGithub;
beforeEach(() => {
  github = serveFakeGithub(server);
});

describe('GithubConfigRepoWriter', () => {
  it('reads the file at the head of the branch', async () => {
    github.write('main', FILE, setTag('0.9.0'));
    await expect(
      writer().read({ repoURL: REPO_URL, branch: 'main', file: FILE }),
    ).resolves.toBe(setTag('0.9.0')(VALUES));
  });

  it('commits the edit with the blob sha, the author and the token', async () => {
    const head = github.branches.get('main');
    const result = await writer().commit(change());

    const [put] = github.writes();
    expect(put.method).toBe('PUT');
    expect(put.path).toBe(
      `/repos/checkout/service-a-config/contents/${encodeURIComponent(FILE)}`,
    );
    expect(put.body).toMatchObject({
      branch: 'main',
      sha: blobSha(VALUES),
      message: 'Promote service-a 1.1.0 to prod',
      author: { name: 'Jane Doe', email: 'jane@example.com' },
      committer: { name: 'Jane Doe', email: 'jane@example.com' },
    });
    const sent = Buffer.from(put.body.content, 'base64').toString('utf8');
    expect(changedLines(VALUES, sent)).toEqual([3]);
    expect(sent.split('\n')[3]).toBe('  tag: "1.1.0" # promoted by gitops');

    // Both requests (read, write) carried the integration's token.
    expect(github.requests.map(r => r.auth)).toEqual([
      `token ${TOKEN}`,
      `token ${TOKEN}`,
    ]);
    expect(github.branches.get('main')).not.toBe(head);
    expect(result).toEqual({
      before: VALUES,
      after: sent,
      commit: github.branches.get('main'),
    });
    expect(github.files('main')![FILE]).toBe(sent);
    expect(github.files('main')!['README.md']).toBe('# config\n');
  });

  it('re-reads and re-applies the edit when someone wrote first', async () => {
    github.beforeWrite = () =>
      github.write('main', FILE, text =>
        text.replace('replicas: 3', 'replicas: 5'),
      );

    const result = await writer().commit(change());

    const puts = github.writes();
    expect(puts).toHaveLength(2);
    expect(puts[0].body.sha).toBe(blobSha(VALUES));
    const theirs = VALUES.replace('replicas: 3', 'replicas: 5');
    expect(puts[1].body.sha).toBe(blobSha(theirs));
    // Both changes are kept: no lost update.
    const final = github.files('main')![FILE];
    expect(final).toBe(setTag('1.1.0')(theirs));
    expect(changedLines(VALUES, final)).toEqual([3, 4]);
    expect(result).toEqual({
      before: theirs,
      after: final,
      commit: github.branches.get('main'),
    });
  });

  it('gives up with a conflict after three refused writes', async () => {
    let n = 0;
    const race = () => {
      github.write('main', FILE, text => `${text}# other writer ${++n}\n`);
      github.beforeWrite = race;
    };
    github.beforeWrite = race;

    const error = await failure(writer().commit(change()));
    expect(error.code).toBe('upstream-error');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain('checkout/service-a-config');
    expect(github.writes()).toHaveLength(3);
    expect(github.files('main')![FILE]).not.toContain('1.1.0');
  });

  it('finds a commit again by its Promotion-Id trailer, on a later page of the branch history; none for an id never pushed', async () => {
    const { commit } = await writer().commit({
      ...change(),
      message: 'Promote service-a 1.1.0 to prod\n\nPromotion-Id: 0a1b2c3d',
    });
    // 150 later commits: the promotion's is on the second page of 100.
    for (let i = 0; i < 150; i++)
      github.write('main', 'README.md', t => `${t}.`);
    const location = { repoURL: REPO_URL, branch: 'main' };
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    expect(
      await writer().findCommit(location, 'Promotion-Id: 0a1b2c3d', hourAgo),
    ).toBe(commit);
    const asked = github.requests.filter(r => r.path.endsWith('/commits'));
    expect(asked).toHaveLength(2);
    expect(
      await writer().findCommit(location, 'Promotion-Id: ffffffff', hourAgo),
    ).toBeUndefined();
    // Only commits since the given time are looked at.
    const inAnHour = new Date(Date.now() + 60 * 60_000);
    expect(
      await writer().findCommit(location, 'Promotion-Id: 0a1b2c3d', inAnHour),
    ).toBeUndefined();
  });

  it('writes nothing when the file already reads as wanted', async () => {
    const same = change(text => text);
    await expect(writer().commit(same)).resolves.toEqual({
      before: VALUES,
      after: VALUES,
    });
    await expect(
      writer().openPullRequest(same, {
        branch: 'promote',
        title: 't',
        body: 'b',
        reviewers: { users: ['alice'], teams: [] },
      }),
    ).resolves.toEqual({ before: VALUES, after: VALUES });
    expect(github.requests.length).toBeGreaterThan(0);
    expect(github.writes()).toEqual([]);
    expect([...github.branches.keys()]).toEqual(['main']);
  });
});
