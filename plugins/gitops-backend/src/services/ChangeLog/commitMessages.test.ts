import { readCommit, readCommits, RawCommit } from './commitMessages';

// How a commit's message is read: the pull (merge) request it merged, its title and
// the issue keys it names, as GitHub and GitLab write merge and squash commits.

const github = { url: (n: number) => `https://github.example/o/app/pull/${n}` };
const gitlab = {
  url: (n: number) => `https://gitlab.example/g/app/-/merge_requests/${n}`,
};

const raw = (message: string, sha = 'a'.repeat(40)): RawCommit => ({
  sha,
  message,
  author: 'Alice Martin',
  date: '2026-03-02T10:00:00Z',
  url: `https://github.example/o/app/commit/${sha}`,
});

describe('readCommit', () => {
  it('reads a GitHub merge commit: the number from the subject, the title from the body', () => {
    expect(
      readCommit(
        raw('Merge pull request #12 from o/cart\n\nAdd the cart\n\nMore text'),
        github,
      ),
    ).toEqual({
      commit: {
        sha: 'a'.repeat(40),
        subject: 'Merge pull request #12 from o/cart',
        author: 'Alice Martin',
        date: '2026-03-02T10:00:00Z',
        url: `https://github.example/o/app/commit/${'a'.repeat(40)}`,
        pullRequest: 12,
        issueKeys: [],
      },
      pullRequest: {
        number: 12,
        title: 'Add the cart',
        author: 'Alice Martin',
        url: 'https://github.example/o/app/pull/12',
      },
    });
  });

  it('titles a GitHub merge with no body by its subject', () => {
    expect(
      readCommit(raw('Merge pull request #7 from fork/main'), github)
        .pullRequest,
    ).toMatchObject({
      number: 7,
      title: 'Merge pull request #7 from fork/main',
    });
  });

  it('reads a GitHub squash merge: "Title (#12)"', () => {
    const read = readCommit(
      raw('CART-7 Add the cart (#12)\n\n* wip\n* Fixes #3'),
      github,
    );
    expect(read.pullRequest).toEqual({
      number: 12,
      title: 'CART-7 Add the cart',
      author: 'Alice Martin',
      url: 'https://github.example/o/app/pull/12',
    });
    expect(read.commit).toMatchObject({
      subject: 'CART-7 Add the cart (#12)',
      pullRequest: 12,
      issueKeys: ['CART-7', '#3'],
    });
  });

  it('reads the last number of a squash of a squash', () => {
    const read = readCommit(raw('Add the cart (#12) (#13)'), github);
    expect(read.pullRequest).toMatchObject({
      number: 13,
      title: 'Add the cart (#12)',
    });
    expect(read.commit.issueKeys).toEqual(['#12']);
  });

  it('reads a GitLab merge commit: "See merge request group/app!12", the title on the first body line', () => {
    const message = [
      "Merge branch 'cart' into 'main'",
      '',
      'Add the cart',
      '',
      'Closes #45',
      '',
      'See merge request group/sub/app!12',
    ].join('\n');
    expect(readCommit(raw(message), gitlab)).toEqual({
      commit: expect.objectContaining({
        subject: "Merge branch 'cart' into 'main'",
        pullRequest: 12,
        issueKeys: ['#45'],
      }),
      pullRequest: {
        number: 12,
        title: 'Add the cart',
        author: 'Alice Martin',
        url: 'https://gitlab.example/g/app/-/merge_requests/12',
      },
    });
  });

  it('reads Windows line endings as well', () => {
    const read = readCommit(
      raw(
        "Merge branch 'cart' into 'main'\r\n\r\nAdd the cart\r\n\r\nSee merge request g/app!12\r\n",
      ),
      gitlab,
    );
    expect(read.commit.subject).toBe("Merge branch 'cart' into 'main'");
    expect(read.pullRequest).toMatchObject({
      number: 12,
      title: 'Add the cart',
    });
  });

  it('reads a plain commit: no pull request, no pullRequest field', () => {
    const read = readCommit(raw('Fix the header\n\nIt was too tall.'), github);
    expect(read).toEqual({
      commit: {
        sha: 'a'.repeat(40),
        subject: 'Fix the header',
        author: 'Alice Martin',
        date: '2026-03-02T10:00:00Z',
        url: `https://github.example/o/app/commit/${'a'.repeat(40)}`,
        issueKeys: [],
      },
    });
  });

  it('leaves out the fields a commit does not have; a pull request with no page has no url', () => {
    expect(readCommit({ sha: 'b'.repeat(40), message: 'x (#3)' }, {})).toEqual({
      commit: {
        sha: 'b'.repeat(40),
        subject: 'x (#3)',
        pullRequest: 3,
        issueKeys: [],
      },
      pullRequest: { number: 3, title: 'x' },
    });
  });

  it('reads Jira keys (upper case, 2 to 10 characters) and #refs, each once', () => {
    const read = readCommit(
      raw(
        'ABC-123: fix the cart\n\nAlso XY-9, ABC-123 again, abc-1, A-1, ABCDEFGHIJK-2.\nFixes #3, refs #4 (#5)\n#6 and issue#7, #8a',
      ),
      github,
    );
    expect(read.commit.issueKeys).toEqual([
      'ABC-123',
      'XY-9',
      '#3',
      '#4',
      '#5',
      '#6',
    ]);
    expect(read.pullRequest).toBeUndefined();
  });

  it('leaves the pull request’s own number out of its #refs, not the others', () => {
    expect(
      readCommit(
        raw(
          'Merge pull request #12 from o/cart\n\nAdd the cart, see #12 and #11',
        ),
        github,
      ).commit.issueKeys,
    ).toEqual(['#11']);
  });
});

describe('readCommits', () => {
  it('lists each pull request and issue key once, as the newest commit naming it has it', () => {
    const read = readCommits(
      [
        raw('Fix the cart again (#12)', '1'.repeat(40)),
        raw(
          'Merge pull request #14 from o/price\n\nRound prices (OPS-9)',
          '2'.repeat(40),
        ),
        raw('Work on prices, OPS-9 #45', '3'.repeat(40)),
        raw('Add the cart (#12)', '4'.repeat(40)),
      ],
      github,
    );
    expect(read.commits.map(c => [c.sha[0], c.pullRequest])).toEqual([
      ['1', 12],
      ['2', 14],
      ['3', undefined],
      ['4', 12],
    ]);
    expect(read.pullRequests).toEqual([
      {
        number: 12,
        title: 'Fix the cart again',
        author: 'Alice Martin',
        url: 'https://github.example/o/app/pull/12',
      },
      {
        number: 14,
        title: 'Round prices (OPS-9)',
        author: 'Alice Martin',
        url: 'https://github.example/o/app/pull/14',
      },
    ]);
    expect(read.issueKeys).toEqual(['OPS-9', '#45']);
  });

  it('reads nothing from no commits', () => {
    expect(readCommits([], github)).toEqual({
      commits: [],
      pullRequests: [],
      issueKeys: [],
    });
  });
});
