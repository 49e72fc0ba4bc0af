import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { setupServer } from 'msw/node';
import * as github from './__testUtils__/standInGithub';
import * as gitlab from './__testUtils__/standInGitlab';
import { FILE, setTag, VALUES } from './__testUtils__/valuesFileChange';

// One change editing two files (a promotion moving an image and a chart version)
// is one commit on GitHub and GitLab, or nothing at all.

const server = setupServer();
registerMswTestHooks(server);

const OTHER = 'README.md';
const note = (text: string) => `${text}chart 1.3.0\n`;

describe('a change of several files on GitHub', () => {
  let fake: github.FakeGithub;
  beforeEach(() => {
    fake = github.serveFakeGithub(server);
  });

  it('commits both files in one commit on the head, moving the branch as a fast forward', async () => {
    const head = fake.branches.get('main')!;
    const result = await github
      .writer()
      .commit({ ...github.change(), alsoEdit: [{ file: OTHER, edit: note }] });

    const main = fake.branches.get('main')!;
    expect(result).toEqual({
      before: VALUES,
      after: setTag('1.1.0')(VALUES),
      also: [
        { file: OTHER, before: '# config\n', after: '# config\nchart 1.3.0\n' },
      ],
      commit: main,
    });
    expect(fake.history.get(main)!.parent).toBe(head);
    expect(fake.files('main')).toEqual({
      [FILE]: setTag('1.1.0')(VALUES),
      [OTHER]: '# config\nchart 1.3.0\n',
    });
    const update = fake.writes().find(w => w.method === 'PATCH')!;
    expect(update.body).toEqual({ sha: main, force: false });
  });

  it('starts again from the new head when someone moved the branch first, keeping their change', async () => {
    fake.beforeWrite = () =>
      fake.write('main', OTHER, text => `${text}theirs\n`);
    const result = await github
      .writer()
      .commit({ ...github.change(), alsoEdit: [{ file: OTHER, edit: note }] });

    expect(fake.writes().filter(w => w.method === 'PATCH')).toHaveLength(2);
    expect(fake.files('main')![OTHER]).toBe('# config\ntheirs\nchart 1.3.0\n');
    expect(result.commit).toBe(fake.branches.get('main'));
  });

  it('writes only the file that changes, and nothing when none does', async () => {
    const same = (text: string) => text;
    await github
      .writer()
      .commit({ ...github.change(), alsoEdit: [{ file: OTHER, edit: same }] });
    const [tree] = fake.writes().filter(w => w.path.endsWith('/git/trees'));
    expect(tree.body.tree.map((e: any) => e.path)).toEqual([FILE]);

    const writes = fake.writes().length;
    const result = await github.writer().commit({
      ...github.change(same),
      alsoEdit: [{ file: OTHER, edit: same }],
    });
    expect(result.commit).toBeUndefined();
    expect(fake.writes()).toHaveLength(writes);
  });

  it('writes nothing when one edit refuses', async () => {
    const head = fake.branches.get('main');
    const refuse = () => {
      throw new Error('would not pin');
    };
    await expect(
      github.writer().commit({
        ...github.change(),
        alsoEdit: [{ file: OTHER, edit: refuse }],
      }),
    ).rejects.toThrow('would not pin');
    expect(fake.writes()).toEqual([]);
    expect(fake.branches.get('main')).toBe(head);
  });

  it('opens one pull request carrying both files', async () => {
    const result = await github.writer().openPullRequest(
      { ...github.change(), alsoEdit: [{ file: OTHER, edit: note }] },
      {
        branch: 'gitops/promote-1',
        title: 't',
        body: 'b',
        reviewers: { users: [], teams: [] },
      },
    );
    expect(result.pullRequestUrl).toContain('/pull/1');
    expect(fake.files('main')![OTHER]).toBe('# config\n');
    expect(fake.files('gitops/promote-1')).toEqual({
      [FILE]: setTag('1.1.0')(VALUES),
      [OTHER]: '# config\nchart 1.3.0\n',
    });
  });
});

describe('a change of several files on GitLab', () => {
  let fake: gitlab.FakeGitlab;
  beforeEach(() => {
    fake = gitlab.serveFakeGitlab(server);
  });

  it('commits both files in one commit with one action each', async () => {
    const result = await gitlab
      .writer()
      .commit({ ...gitlab.change(), alsoEdit: [{ file: OTHER, edit: note }] });

    const [commit] = fake.writes();
    expect(commit.body.actions.map((a: any) => a.file_path)).toEqual([
      FILE,
      OTHER,
    ]);
    expect(result.also).toEqual([
      { file: OTHER, before: '# config\n', after: '# config\nchart 1.3.0\n' },
    ]);
    expect(fake.content('main', FILE)).toBe(setTag('1.1.0')(VALUES));
    expect(fake.content('main', OTHER)).toBe('# config\nchart 1.3.0\n');
  });

  it('starts again when the second file changed meanwhile, keeping their change', async () => {
    fake.beforeCommit = () =>
      fake.write('main', { [OTHER]: '# config\ntheirs\n' });
    await gitlab
      .writer()
      .commit({ ...gitlab.change(), alsoEdit: [{ file: OTHER, edit: note }] });
    expect(fake.writes()).toHaveLength(2);
    expect(fake.content('main', OTHER)).toBe('# config\ntheirs\nchart 1.3.0\n');
    expect(fake.content('main', FILE)).toBe(setTag('1.1.0')(VALUES));
  });
});
