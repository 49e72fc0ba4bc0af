import { normalizeRepoUrl, parseGitPush } from './gitPushes';

// The pure functions: repository URLs to keys, and event payloads to pushes.

describe('normalizeRepoUrl', () => {
  it.each([
    ['https://github.com/Org/Repo.git', 'github.com/org/repo'],
    ['https://github.com/org/repo', 'github.com/org/repo'],
    ['https://github.com/org/repo/', 'github.com/org/repo'],
    ['https://user:token@github.com/org/repo.git', 'github.com/org/repo'],
    ['https://github.com:443/org/repo.git', 'github.com/org/repo'],
    ['http://github.com/org/repo', 'github.com/org/repo'],
    ['git@github.com:org/repo.git', 'github.com/org/repo'],
    ['ssh://git@github.com/org/repo.git', 'github.com/org/repo'],
    ['ssh://git@github.com:22/org/repo.git', 'github.com/org/repo'],
    ['git://github.com/org/repo.git', 'github.com/org/repo'],
    [
      'ssh://git@gitlab.example.com:2222/g/sub/p.git',
      'gitlab.example.com:2222/g/sub/p',
    ],
    ['https://gitlab.example.com/g/sub/p', 'gitlab.example.com/g/sub/p'],
    [
      'http://127.0.0.1:7090/git/service-a-config.git',
      '127.0.0.1:7090/git/service-a-config',
    ],
    ['  https://github.com/org/repo.git  ', 'github.com/org/repo'],
  ])('%s → %s', (url, key) => {
    expect(normalizeRepoUrl(url)).toBe(key);
  });

  it.each([
    [''],
    ['not a url'],
    ['https://github.com/'],
    ['https://github.com'],
    ['file:///srv/repos/a.git'],
    ['/srv/repos/a.git'],
    ['https://github.com/%zz'],
    [42],
    [undefined],
  ])('%p is no repository URL', url => {
    expect(normalizeRepoUrl(url)).toBeUndefined();
  });

  it('keeps repositories apart that differ in host, port or path', () => {
    const keys = [
      'https://github.com/org/repo',
      'https://github.com/org/repo2',
      'https://github.com/org2/repo',
      'https://gitlab.com/org/repo',
      'http://127.0.0.1:7090/git/repo',
      'http://127.0.0.1:7091/git/repo',
    ].map(normalizeRepoUrl);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('parseGitPush', () => {
  const sha = 'f'.repeat(40);

  it('takes every repository URL of a GitHub push, normalised', () => {
    expect(
      parseGitPush('github.push', {
        ref: 'refs/heads/main',
        after: sha,
        repository: {
          url: 'https://api.github.com/repos/org/repo',
          clone_url: 'https://github.com/org/repo.git',
          html_url: 'https://github.com/org/repo',
          ssh_url: 'git@github.com:org/repo.git',
          git_url: 'git://github.com/org/repo.git',
          svn_url: 'https://github.com/org/repo',
          owner: { html_url: 'https://github.com/org' },
        },
      }),
    ).toEqual({
      provider: 'github',
      ref: 'refs/heads/main',
      after: sha,
      repoUrls: ['github.com/org/repo'],
    });
  });

  it('takes the project and repository URLs of a GitLab push or tag push', () => {
    const payload = {
      object_kind: 'tag_push',
      ref: 'refs/tags/v1',
      after: sha,
      project: {
        web_url: 'https://gitlab.example.com/g/p',
        git_http_url: 'https://gitlab.example.com/g/p.git',
        git_ssh_url: 'ssh://git@gitlab.example.com:2222/g/p.git',
        avatar_url: 'https://gitlab.example.com/uploads/p.png',
      },
      repository: { homepage: 'https://gitlab.example.com/g/p' },
    };
    expect(parseGitPush('gitlab.tag_push', payload)).toEqual({
      provider: 'gitlab',
      ref: 'refs/tags/v1',
      after: sha,
      repoUrls: ['gitlab.example.com/g/p', 'gitlab.example.com:2222/g/p'],
    });
    // The topic and the payload's kind agree, or it is no push.
    expect(parseGitPush('gitlab.push', payload)).toBeUndefined();
    expect(parseGitPush('github.pull_request', payload)).toBeUndefined();
  });

  it('takes SHA-256 object ids and deletions', () => {
    const push = parseGitPush('github.push', {
      ref: 'refs/heads/gone',
      after: '0'.repeat(64),
      repository: { clone_url: 'https://github.com/o/r.git' },
    });
    expect(push?.after).toBe('0'.repeat(64));
  });
});
