/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectNothingChanged"] }] */
import fc from 'fast-check';
import { createGitBranchAction } from './actions/gitBranch';
import { createGitPublishAction } from './actions/gitPublish';
import {
  branchName,
  directoryWithFiles,
  httpUrl,
  repositoryPath,
} from './__testUtils__/acceptedValues';
import { actionAttacks } from './__testUtils__/actionAttacks';
import { show } from './__testUtils__/hostileInput';
import { repositories } from './__testUtils__/sideEffects';

// Every hostile input against real Git, helm and the sandbox, on a loaded 2-core machine.
jest.setTimeout(900_000);

/**
 * Scaffolder actions of the module fed hostile values by fast-check, one field at a
 * time with the rest valid, with a permission policy that allows everything: every run
 * is refused (by the action's schema, as the scaffolder checks it, or by the handler
 * with a 4xx error naming the problem), and after all runs of an action no repository
 * or ref moved, no Argo CD Application or ApplicationSet changed, nothing outside the
 * workspace (nor in it) was written, helm never ran and no shell did.
 */
describe('hostile input to the Git actions (property test, sandbox)', () => {
  const { state, hostile, workspace, expectNothingChanged, attack, context } =
    actionAttacks('git');

  /** URLs of the sandbox's Git server a template should not reach: others' repositories, other hosts and schemes. */
  const foreignUrls = (suffix: string) => {
    const { sandbox, gitHost, reposDir } = state;
    const { port } = new URL(sandbox.gitUrl);
    return fc.constantFrom(
      `http://localhost:${port}${suffix}`,
      `http://[::1]:${port}${suffix}`,
      `http://127.0.0.1:1${suffix}`,
      'http://169.254.169.254/latest/meta-data/',
      `ssh://git@${gitHost}${suffix}`,
      `git://${gitHost}${suffix}`,
      `ftp://${gitHost}${suffix}`,
      `file://${reposDir}/service-a-config.git`,
      `http://bot:${sandbox.gitToken}@${gitHost}${suffix}`,
    );
  };
  /** The name a repository URL ends in, when it is on the sandbox's Git server and not an existing repository. */
  const newRepositoryUrl = (v: unknown, existing: string[]) => {
    const { gitHost } = state;
    if (!httpUrl(v, gitHost) || /[?#]/.test(v as string)) return false;
    const name = new URL(v as string).pathname
      .replace(/\/+$/, '')
      .split('/')
      .pop()!
      .replace(/\.git$/, '');
    return (
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(name) && !existing.includes(name)
    );
  };

  it("gitops:git:publish: others' repositories, foreign hosts and schemes, credentials in URLs, paths out of the workspace and hostile branch names are refused, and no repository is created", async () => {
    const { sandbox, reposDir, gitHost, config } = state;
    const action = createGitPublishAction({ config });
    const dir = await workspace('publish', { 'config/README.md': '# new\n' });
    const repos = await repositories(reposDir);
    const existing = repos.map(r => r.replace(/\.git$/, ''));
    const base = () => ({
      repoUrl: sandbox.repoUrl('property-new'),
      createRepository: { url: `${sandbox.gitUrl}/api/repos` },
      sourcePath: './config',
      commitMessage: 'Initial',
    });
    // Control: the base is valid (a dry run, which creates nothing).
    await action.handler({ ...context(dir, base()), isDryRun: true });
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        afterRun: async () => {
          const now = await repositories(reposDir);
          if (show(now) !== show(repos)) {
            throw new Error(`a repository was created: ${show(now)}`);
          }
        },
        attacks: [
          {
            field: 'repoUrl',
            values: fc.oneof(
              hostile(),
              hostile().map(v => `${sandbox.gitUrl}/git/${v}.git`),
              hostile().map(
                v => `${sandbox.gitUrl}/git/${encodeURIComponent(v)}.git`,
              ),
              fc.constantFrom(...existing.map(r => sandbox.repoUrl(r))),
              foreignUrls('/git/property-new.git'),
            ),
            legit: v => newRepositoryUrl(v, existing),
            names: /repoUrl|[Rr]epository|Git credentials/,
          },
          {
            field: 'createRepository.url',
            values: fc.oneof(hostile(), foreignUrls('/api/repos')),
            legit: v => httpUrl(v, gitHost),
            names: /createRepository|Git credentials/,
          },
          {
            field: 'sourcePath',
            values: hostile(),
            legit: v => directoryWithFiles(dir, v),
            names: /sourcePath/,
          },
          {
            field: 'defaultBranch',
            values: hostile(),
            legit: branchName,
            names: /defaultBranch/,
          },
        ],
      }),
    );
  });

  it('gitops:git:branch: foreign hosts and schemes, paths out of the workspace or the clone, and hostile branch names are refused, and no ref moves', async () => {
    const { sandbox, reposDir, gitHost, config } = state;
    const action = createGitBranchAction({ config });
    const dir = await workspace('branch', {
      'proposal/chart/values-dev-sensor-7.yaml': 'nodeSelector: {}\n',
    });
    const existing = (await repositories(reposDir)).map(r =>
      r.replace(/\.git$/, ''),
    );
    const base = () => ({
      repoUrl: sandbox.repoUrl('service-a-config'),
      sourcePath: './proposal',
      branch: 'property-branch',
      mustExist: ['chart/values-dev.yaml'],
      commitMessage: 'Add sensor-7',
    });
    // Control: the base is valid (a dry run, which pushes nothing).
    await action.handler({ ...context(dir, base()), isDryRun: true });
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        attacks: [
          {
            field: 'repoUrl',
            values: fc.oneof(
              hostile(),
              hostile().map(v => `${sandbox.gitUrl}/git/${v}.git`),
              foreignUrls('/git/service-a-config.git'),
            ),
            legit: v =>
              httpUrl(v, gitHost) &&
              existing.some(r => v === sandbox.repoUrl(r)),
            names: /repoUrl|Cannot reach|[Rr]epository|Git credentials/,
          },
          {
            field: 'sourcePath',
            values: hostile(),
            legit: v => directoryWithFiles(dir, v),
            names: /sourcePath/,
          },
          {
            field: 'branch',
            values: fc.oneof(
              hostile(),
              fc.constantFrom('main', 'HEAD', 'a/../../x'),
            ),
            legit: v => branchName(v) && v !== 'main',
            names: /branch/,
          },
          {
            field: 'baseBranch',
            values: hostile(),
            legit: branchName,
            names: /baseBranch/,
          },
          {
            field: 'mustExist.0',
            values: hostile(),
            legit: repositoryPath,
            names: /mustExist/,
          },
        ],
      }),
    );
  });
});
