import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import {
  change,
  FakeGitlab,
  PROJECT,
  REPO_URL,
  serveFakeGitlab,
  TOKEN,
  writer,
} from './__testUtils__/standInGitlab';
import {
  changedLines,
  failure,
  FILE,
  setTag,
  VALUES,
} from './__testUtils__/valuesFileChange';

// Reading and committing on the branch itself: the edit, races with other writers,
// and nothing written (no commit, no merge request) when nothing changes.

const server = setupServer();
registerMswTestHooks(server);

let gitlab: FakeGitlab;
beforeEach(() => {
  gitlab = serveFakeGitlab(server);
});

describe('GitlabConfigRepoWriter', () => {
  it('reads the file at the head of the branch', async () => {
    gitlab.write('main', { [FILE]: setTag('0.9.0')(VALUES) });
    await expect(
      writer().read({ repoURL: REPO_URL, branch: 'main', file: FILE }),
    ).resolves.toBe(setTag('0.9.0')(VALUES));
    expect(gitlab.requests[0].path).toBe(
      `/api/v4/projects/${encodeURIComponent(
        PROJECT,
      )}/repository/files/${encodeURIComponent(FILE)}`,
    );
  });

  it('reads from GitLab served under a path', async () => {
    const base = 'https://git.example.test/gitlab';
    const other = new FakeGitlab(base, { [FILE]: 'a: 1\n' });
    server.use(other.handler());
    await expect(
      writer(TOKEN, 2000, base).read({
        repoURL: `${base}/${PROJECT}`,
        branch: 'main',
        file: FILE,
      }),
    ).resolves.toBe('a: 1\n');
  });

  it('commits the edit with last_commit_id, the author and the token', async () => {
    const head = gitlab.branches.get('main')!;
    const result = await writer().commit(change());

    const [commit] = gitlab.writes();
    expect(commit.path).toBe(
      `/api/v4/projects/${encodeURIComponent(PROJECT)}/repository/commits`,
    );
    expect(commit.body).toEqual({
      branch: 'main',
      commit_message: 'Promote service-a 1.1.0 to prod',
      author_name: 'Jane Doe',
      author_email: 'jane@example.com',
      actions: [
        {
          action: 'update',
          file_path: FILE,
          content: expect.any(String),
          last_commit_id: head,
        },
      ],
    });
    const sent = commit.body.actions[0].content;
    expect(changedLines(VALUES, sent)).toEqual([3]);
    expect(sent.split('\n')[3]).toBe('  tag: "1.1.0" # promoted by gitops');

    expect(gitlab.requests.map(r => r.auth)).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
    ]);
    expect(result).toEqual({
      before: VALUES,
      after: sent,
      commit: gitlab.branches.get('main'),
    });
    expect(gitlab.content('main', FILE)).toBe(sent);
    expect(gitlab.content('main', 'README.md')).toBe('# config\n');
  });

  it('re-reads and re-applies the edit when someone wrote first', async () => {
    const head = gitlab.branches.get('main')!;
    const theirs = VALUES.replace('replicas: 3', 'replicas: 5');
    let their: string | undefined;
    gitlab.beforeCommit = () => {
      their = gitlab.write('main', { [FILE]: theirs });
    };

    const result = await writer().commit(change());

    const commits = gitlab.writes();
    expect(commits).toHaveLength(2);
    expect(commits[0].body.actions[0].last_commit_id).toBe(head);
    expect(commits[1].body.actions[0].last_commit_id).toBe(their);
    // Both changes are kept: no lost update.
    const final = gitlab.content('main', FILE)!;
    expect(final).toBe(setTag('1.1.0')(theirs));
    expect(changedLines(VALUES, final)).toEqual([3, 4]);
    expect(result).toEqual({
      before: theirs,
      after: final,
      commit: gitlab.branches.get('main'),
    });
  });

  it('gives up with a conflict after three refused commits', async () => {
    let n = 0;
    const race = () => {
      const text = gitlab.content('main', FILE)!;
      gitlab.write('main', { [FILE]: `${text}# other writer ${++n}\n` });
      gitlab.beforeCommit = race;
    };
    gitlab.beforeCommit = race;

    const error = await failure(writer().commit(change()));
    expect(error.code).toBe('upstream-error');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain(PROJECT);
    expect(gitlab.writes()).toHaveLength(3);
    expect(gitlab.content('main', FILE)).not.toContain('1.1.0');
  });

  it('finds a commit again by its Promotion-Id trailer, on a later page of the branch history; none for an id never pushed or before `since`', async () => {
    const { commit } = await writer().commit({
      ...change(),
      message: 'Promote service-a 1.1.0 to prod\n\nPromotion-Id: 0a1b2c3d',
    });
    // 150 later commits: the promotion's is on the second page of 100.
    for (let i = 0; i < 150; i++) gitlab.write('main', { 'README.md': `${i}` });
    const location = { repoURL: REPO_URL, branch: 'main' };
    const hourAgo = new Date(Date.now() - 60 * 60_000);
    expect(
      await writer().findCommit(location, 'Promotion-Id: 0a1b2c3d', hourAgo),
    ).toBe(commit);
    const asked = gitlab.requests.filter(r =>
      r.path.endsWith('/repository/commits'),
    );
    expect(asked.filter(r => r.method === 'GET')).toHaveLength(2);
    expect(
      await writer().findCommit(location, 'Promotion-Id: ffffffff', hourAgo),
    ).toBeUndefined();
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
    expect(gitlab.requests.length).toBeGreaterThan(0);
    expect(gitlab.writes()).toEqual([]);
    expect([...gitlab.branches.keys()]).toEqual(['main']);
  });
});
