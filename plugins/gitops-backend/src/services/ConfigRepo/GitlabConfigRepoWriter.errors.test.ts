import { registerMswTestHooks } from '@backstage/backend-test-utils';
import { delay, http } from 'msw';
import { setupServer } from 'msw/node';
import {
  BASE,
  change,
  FakeGitlab,
  PROJECT,
  REPO_URL,
  serveFakeGitlab,
  TOKEN,
  writer,
} from './__testUtils__/standInGitlab';
import { failure, FILE } from './__testUtils__/valuesFileChange';

// What the caller is told when GitLab fails it or it gives up, and which hosts the
// writer takes.

const server = setupServer();
registerMswTestHooks(server);

let gitlab: FakeGitlab;
beforeEach(() => {
  gitlab = serveFakeGitlab(server);
});

describe('GitlabConfigRepoWriter', () => {
  it('reports a missing file, branch or project as not-found', async () => {
    let error = await failure(
      writer().commit({ ...change(), file: 'envs/qa/values.yaml' }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('envs/qa/values.yaml');
    expect(error.message).toContain(PROJECT);

    error = await failure(writer().commit({ ...change(), branch: 'nope' }));
    expect(error.code).toBe('not-found');

    error = await failure(
      writer().read({
        repoURL: `${BASE}/checkout/other`,
        branch: 'main',
        file: FILE,
      }),
    );
    expect(error.code).toBe('not-found');
    expect(error.message).toContain('checkout/other');
    expect(gitlab.writes()).toEqual([]);
  });

  it('reports a refused token as unauthorized without repeating it', async () => {
    const error = await failure(writer('glpat-revoked-token').commit(change()));
    expect(error.code).toBe('unauthorized');
    expect(error.message).toContain(FILE);
    expect(error.message).toContain(PROJECT);
    expect(error.message).not.toContain('glpat-revoked-token');
    expect(gitlab.requests).toHaveLength(1);
  });

  it('times out a request that hangs', async () => {
    server.use(http.get(`${BASE}/api/v4/*`, () => delay('infinite')));
    const error = await failure(writer(TOKEN, 100).commit(change()));
    expect(error.code).toBe('timeout');
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await failure(
      writer().commit(change(), { signal: controller.signal }),
    );
    expect(error.code).toBe('timeout');
    expect(gitlab.requests).toEqual([]);
  });

  it('supports repositories on configured GitLab hosts only', () => {
    expect(writer().supports(REPO_URL)).toBe(true);
    expect(writer().supports('https://github.com/a/b')).toBe(false);
    expect(writer().supports('https://git.example.test/a/b.git')).toBe(false);
    expect(writer().supports('not a url')).toBe(false);
  });
});
