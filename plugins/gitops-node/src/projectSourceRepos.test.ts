import { ConfigReader } from '@backstage/config';
import { readProjectOwnership, sourceRepoAllowed } from './projectOwnership';

function project(sourceRepos?: string[]) {
  const [read] = readProjectOwnership(
    new ConfigReader({
      gitops: {
        projects: [
          {
            name: 'checkout',
            owners: ['group:default/team-checkout'],
            ...(sourceRepos && { sourceRepos }),
          },
        ],
      },
    }),
  );
  return read;
}

describe('sourceRepoAllowed: which repositories the Applications of a project may use', () => {
  const exact = project(['https://git.example.com/team-checkout/config.git']);
  const glob = project(['http://127.0.0.1:7090/git/*']);

  it.each([
    ['https://git.example.com/team-checkout/config.git', true],
    ['https://git.example.com/team-checkout/config', true],
    ['https://git.example.com/team-checkout/config/', true],
    ['https://git.example.com/team-checkout/config.git/', true],
    ['HTTPS://Git.Example.COM/team-checkout/config', true],
    // The path stays case-sensitive, as on most Git servers.
    ['https://git.example.com/Team-Checkout/config', false],
    ['https://git.example.com/team-checkout/config-other', false],
    ['https://git.example.com/team-checkout/config.git.evil', false],
    ['https://git.example.com/team-payments/config.git', false],
    ['https://git.example.com.evil.io/team-checkout/config.git', false],
    ['http://git.example.com/team-checkout/config.git', false],
    ['', false],
  ])('exact: %j → %s', (repoURL, allowed) => {
    expect(sourceRepoAllowed(exact, repoURL)).toBe(allowed);
  });

  it.each([
    ['http://127.0.0.1:7090/git/service-a-config.git', true],
    ['http://127.0.0.1:7090/git/service-b-config', true],
    ['http://127.0.0.1:7090/git/', false],
    ['http://127.0.0.1:7091/git/service-a-config.git', false],
    ['http://127.0.0.1:7090/gitx/service-a-config.git', false],
    ['https://127.0.0.1:7090/git/service-a-config.git', false],
    ['http://127.0.0.1:7090.evil.io/git/service-a-config.git', false],
  ])('glob http://127.0.0.1:7090/git/*: %j → %s', (repoURL, allowed) => {
    expect(sourceRepoAllowed(glob, repoURL)).toBe(allowed);
  });

  it('takes regular-expression characters in a pattern literally', () => {
    const dotted = project(['https://git.example.com/a.b/*']);
    expect(sourceRepoAllowed(dotted, 'https://git.example.com/a.b/x')).toBe(
      true,
    );
    expect(sourceRepoAllowed(dotted, 'https://git.example.com/aXb/x')).toBe(
      false,
    );
  });

  it('allows every repository with *, as Argo CD does', () => {
    expect(sourceRepoAllowed(project(['*']), 'https://anywhere/x.git')).toBe(
      true,
    );
  });

  it('a project without sourceRepos allows no repository (the secure default)', () => {
    const none = project();
    expect(none.sourceRepos).toEqual([]);
    expect(
      sourceRepoAllowed(none, 'http://127.0.0.1:7090/git/service-a-config.git'),
    ).toBe(false);
    expect(sourceRepoAllowed(project([]), 'https://x/y')).toBe(false);
  });
});
