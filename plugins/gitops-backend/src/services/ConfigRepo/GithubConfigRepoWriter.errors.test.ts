import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { delay, http } from 'msw';
import { setupServer } from 'msw/node';
import {
  API,
  change,
  FakeGithub,
  HOST,
  REPO_URL,
  serveFakeGithub,
  TOKEN,
  writer,
} from './__testUtils__/standInGithub';
import { failure, FILE } from './__testUtils__/valuesFileChange';

// What the caller is told when GitHub fails it, and which hosts the writer takes.

const server = setupServer();
registerMswTestHooks(server);

let github: FakeGithub;
beforeEach(() => {
  github = serveFakeGithub(server);
});

describe('GithubConfigRepoWriter', () => {
  it('reports a missing file, branch or repository as not-found', async () => {
    let error = await failure(
      writer().commit({ ...change(), file: 'envs/qa/values.yaml' }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('envs/qa/values.yaml');
    expect(error.message).toContain('checkout/service-a-config');

    error = await failure(writer().commit({ ...change(), branch: 'nope' }));
    expect(error.code).toBe('not-found');

    error = await failure(
      writer().read({
        repoURL: `https://${HOST}/checkout/other`,
        branch: 'main',
        file: FILE,
      }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('checkout/other');
    expect(github.writes()).toEqual([]);
  });

  it('reports a refused token as unauthorized without repeating it', async () => {
    const error = await failure(writer('ghp-revoked-token').commit(change()));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain('checkout/service-a-config');
    expect(error.message).not.toContain('ghp-revoked-token');
    expect(github.requests).toHaveLength(1);
  });

  it('times out a request that hangs', async () => {
    server.use(http.get(`${API}/*`, () => delay('infinite')));
    const error = await failure(writer(TOKEN, 100).commit(change()));
    expect(error.code).toBe('timeout');
  });

  it('supports repositories on configured GitHub hosts only', () => {
    expect(writer().supports(REPO_URL)).toBe(true);
    // Backstage always configures github.com (anonymous when no token is set).
    expect(writer().supports('https://github.com/a/b')).toBe(true);
    expect(writer().supports('https://gitlab.example.test/a/b')).toBe(false);
    expect(writer().supports('https://git.example.test/a/b.git')).toBe(false);
    expect(writer().supports('not a url')).toBe(false);
  });
});
