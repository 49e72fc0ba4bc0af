import {
  ChangeLog,
  ChangeLogCommit,
} from '@gitops-backstage/plugin-gitops-common';
import { changeLogMarkdown } from './changeLogMarkdown';

// The change log section of a promotion's pull request body: what reviewers read in
// the config repository's GitHub or GitLab, with the app repository's text inert.

const WEB = 'https://github.example/checkout/service-a';
const sha = (n: number) =>
  n.toString(16).padStart(7, '0').repeat(6).slice(0, 40);

function commit(n: number, extra: Partial<ChangeLogCommit> = {}) {
  return {
    sha: sha(n),
    subject: `change ${n}`,
    author: 'Alice Martin',
    url: `${WEB}/commit/${sha(n)}`,
    issueKeys: [],
    ...extra,
  };
}

function log(extra: Partial<ChangeLog> = {}): ChangeLog {
  return {
    repository: `${WEB}.git`,
    from: { version: 'v1.0.0', sha: 'a'.repeat(40), origin: 'release-tag' },
    to: { version: 'v1.1.0', sha: 'b'.repeat(40), origin: 'release-tag' },
    direction: 'ahead',
    commits: [
      commit(3, { subject: 'Bump dependencies', author: 'Release Bot' }),
      commit(2, { subject: 'Fix the price rounding (#14)', pullRequest: 14 }),
      commit(1, { url: undefined, author: undefined }),
    ],
    total: 3,
    pullRequests: [
      {
        number: 14,
        title: 'Fix the price rounding',
        author: 'Alice Martin',
        url: `${WEB}/pull/14`,
      },
      { number: 9, title: 'No page known' },
    ],
    issueKeys: ['OPS-9', '#45'],
    compareUrl: `${WEB}/compare/${'a'.repeat(40)}...${'b'.repeat(40)}`,
    ...extra,
  };
}

describe('changeLogMarkdown', () => {
  it('lists the pull requests with links, then the commits, then the issues', () => {
    expect(changeLogMarkdown(log(), 'prod')).toBe(
      [
        '### prod gets these 3 changes',
        '',
        `- [#14](${WEB}/pull/14) Fix the price rounding (Alice Martin)`,
        // No page known (plain Git): not the config repository's own #9.
        '- \\#9 No page known',
        '',
        '<details><summary>Commits</summary>',
        '',
        `- [0000003](${WEB}/commit/${sha(3)}) Bump dependencies (Release Bot)`,
        `- [0000002](${WEB}/commit/${sha(
          2,
        )}) Fix the price rounding \\(\\#14\\) (Alice Martin)`,
        '- 0000001 change 1',
        '',
        '</details>',
        '',
        'Issues: OPS-9, \\#45',
      ].join('\n'),
    );
  });

  it('lists 50 commits and links the rest to the comparison', () => {
    const commits = Array.from({ length: 100 }, (_, i) => commit(100 - i));
    const text = changeLogMarkdown(
      log({ commits, total: 250, pullRequests: [], issueKeys: [] }),
      'prod',
    );
    const lines = text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      '### prod gets these 250 changes',
      '',
      '<details><summary>Commits</summary>',
      '',
    ]);
    expect(lines.filter(l => l.startsWith('- ['))).toHaveLength(50);
    expect(lines[4]).toBe(
      `- [0000064](${WEB}/commit/${sha(100)}) change 100 (Alice Martin)`,
    );
    expect(lines[53]).toBe(
      `- [0000033](${WEB}/commit/${sha(51)}) change 51 (Alice Martin)`,
    );
    expect(lines.slice(54)).toEqual([
      `- … and [200 more](${WEB}/compare/${'a'.repeat(40)}...${'b'.repeat(
        40,
      )})`,
      '',
      '</details>',
    ]);
  });

  it('counts the rest without a link when there is no comparison page (plain Git)', () => {
    const commits = Array.from({ length: 30 }, (_, i) => commit(30 - i));
    const text = changeLogMarkdown(
      log({ commits, total: 40, compareUrl: undefined }),
      'prod',
    );
    expect(text).toContain('\n- [000001e]');
    expect(text).toContain('\n- … and 10 more\n\n</details>');
    expect(text).not.toContain('more](');
  });

  it('says what leaves when the version goes back', () => {
    const text = changeLogMarkdown(log({ direction: 'behind' }), 'staging');
    expect(text.split('\n')[0]).toBe('### staging loses these 3 changes');
    expect(text).toContain('Bump dependencies');
  });

  it('says the code does not move when both versions are one commit', () => {
    expect(
      changeLogMarkdown(
        log({
          direction: 'same',
          commits: [],
          total: 0,
          pullRequests: [],
          issueKeys: [],
        }),
        'prod',
      ),
    ).toBe(
      'The image moves, the code does not: both versions were built from bbbbbbb.',
    );
  });

  it('writes nothing for a change log that could not be read', () => {
    expect(
      changeLogMarkdown(
        log({
          direction: 'unknown',
          commits: [],
          total: 0,
          error: { code: 'unauthorized', message: 'GitHub: 401' },
        }),
        'prod',
      ),
    ).toBe('');
    expect(changeLogMarkdown(log({ direction: 'unknown' }), 'prod')).toBe('');
    expect(
      changeLogMarkdown(
        log({ error: { code: 'timeout', message: 'late' } }),
        'prod',
      ),
    ).toBe('');
  });

  it('escapes the app repository’s Markdown: no links, images, HTML or mentions of theirs', () => {
    const text = changeLogMarkdown(
      log({
        commits: [
          commit(1, {
            subject:
              'See [x](http://evil.example) ![i](http://evil.example/i.png)',
            author: '@checkout/team',
          }),
          commit(2, {
            subject:
              '<img src=x onerror=alert(1)> **bold** _it_ `code` ~~s~~ | a \\ b',
            author: 'Eve {x}',
          }),
        ],
        total: 2,
        pullRequests: [
          {
            number: 14,
            title: '[click](javascript:alert(1)) cc @octocat #3',
            author: '@eve',
            url: `${WEB}/pull/14`,
          },
        ],
        issueKeys: ['OPS-9', '#45', '[y](http://evil.example)'],
      }),
      'prod',
    );
    const lines = text.split('\n');
    expect(lines[2]).toBe(
      `- [#14](${WEB}/pull/14) \\[click\\]\\(javascript:alert\\(1\\)\\) cc \\@octocat \\#3 (\\@eve)`,
    );
    expect(lines[6]).toBe(
      `- [0000001](${WEB}/commit/${sha(
        1,
      )}) See \\[x\\]\\(http://evil.example\\) \\!\\[i\\]\\(http://evil.example/i.png\\) (\\@checkout/team)`,
    );
    expect(lines[7]).toBe(
      `- [0000002](${WEB}/commit/${sha(
        2,
      )}) \\<img src=x onerror=alert\\(1\\)\\> \\*\\*bold\\*\\* \\_it\\_ \\\`code\\\` \\~\\~s\\~\\~ \\| a \\\\ b (Eve \\{x\\})`,
    );
    expect(lines[lines.length - 1]).toBe(
      'Issues: OPS-9, \\#45, \\[y\\]\\(http://evil.example\\)',
    );
    // Only the links the change log makes itself: pull request and commit pages.
    expect(text.match(/(?<!\\)\]\(/g)).toHaveLength(3);
    const theirs = text.replace(/<\/?(details|summary)>/g, '');
    expect(theirs).not.toMatch(/(?<!\\)[@<]/);
  });
});
