import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  fakeCommand,
  githubStepScript,
  gitlabJobScript,
  assertTools,
  describeWithTools,
  renderCi,
  runCiScript,
} from './__testUtils__/ciScripts';
import { ConfigRepoServer } from './__testUtils__/configRepo';
import { renderConfig } from './__testUtils__/renderTemplates';

// Real git over HTTP on a loaded machine.
jest.setTimeout(180_000);

const TAG = 'v1.2.3';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const PROD = 'chart/values-prod.yaml';

/** What the scripts run with: bash (GitHub), BusyBox (GitLab in Alpine), git. */
const TOOLS = ['bash', 'busybox', 'git'];

/**
 * The release of the generated CI (a tag vX.Y.Z): the shell of the GitHub step and of
 * the GitLab job, taken from the rendered files and run as their CI runs them against
 * a real Git server, proposes the tag for production on a branch and asks for a pull or
 * merge request; the config repository's main, and so production, does not change.
 */
describeWithTools(TOOLS)('a release tag proposes itself for production', () => {
  let dir: string;
  let server: ConfigRepoServer;
  let workflow: any;
  let pipeline: any;
  let config: string;
  let repoCount = 0;

  beforeAll(async () => {
    assertTools(TOOLS);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-release-'));
    server = await ConfigRepoServer.start(dir);
    const variant = {
      template: 'gitops-service',
      language: 'typescript',
      repoHost: 'github',
    } as const;
    ({ workflow, pipeline } = await renderCi(
      path.join(dir, 'rendered'),
      variant,
    ));
    config = (await renderConfig(path.join(dir, 'rendered'), variant)).dir;
  });
  afterAll(async () => {
    await server?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function configRepo() {
    const repo = `shop-config-${++repoCount}`;
    await server.create(repo, config);
    return repo;
  }

  const prodOnMain = () => fs.readFile(path.join(config, PROD), 'utf8');

  it('GitHub: pushes release-v1.2.3 and opens one pull request with gh; a re-run reuses both; main keeps its production tag', async () => {
    const repo = await configRepo();
    const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
    // gh as on the runner: `pr list` answers the open pull request of the branch
    // (none at first), `pr create` opens one.
    const gh = await fakeCommand(
      bin,
      'gh',
      [
        `state='${bin}'`,
        'case "$1 $2" in',
        '  "pr list") if [ -f "$state/pr" ]; then cat "$state/pr"; fi ;;',
        '  "pr create") echo https://github.com/acme/shop-config/pull/7 > "$state/pr"; cat "$state/pr" ;;',
        '  *) echo "unexpected: gh $*" >&2; exit 1 ;;',
        'esac',
      ].join('\n'),
    );
    const release = async () =>
      runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'release', 'Open a pull request'),
        cwd: await server.checkoutLikeActions(repo),
        bin: [bin],
        env: {
          ...workflow.env,
          TAG,
          GH_TOKEN: 'config-repo-token',
          GITHUB_REF: `refs/tags/${TAG}`,
          GITHUB_SHA: SHA,
          GITHUB_SERVER_URL: 'https://github.com',
          GITHUB_REPOSITORY: 'acme/shop',
          GITHUB_RUN_ID: '42',
        },
      });

    const first = await release();
    expect(first).toEqual({
      code: 0,
      stdout: [
        `pushed release-${TAG} (attempt 1)`,
        'https://github.com/acme/shop-config/pull/7',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await server.branches(repo)).toEqual(['main', `release-${TAG}`]);
    expect(await server.log(repo, `release-${TAG}`)).toEqual([
      `Release ${TAG} to prod`,
      'Initial config',
    ]);
    // The branch changes the production tag and nothing else.
    const original = await prodOnMain();
    expect(await server.show(repo, `release-${TAG}`, PROD)).toBe(
      original.replace(/^ {2}tag: .*$/m, `  tag: '${TAG}'`),
    );
    expect(await server.show(repo, 'main', PROD)).toBe(original);
    expect(await server.log(repo)).toEqual(['Initial config']);
    expect(await gh.calls()).toEqual([
      [
        'pr',
        'list',
        '--repo',
        'acme/shop-config',
        '--head',
        `release-${TAG}`,
        '--state',
        'open',
        '--json',
        'url',
        '--jq',
        '.[0].url // empty',
      ],
      [
        'pr',
        'create',
        '--repo',
        'acme/shop-config',
        '--base',
        'main',
        '--head',
        `release-${TAG}`,
        '--title',
        `Release ${TAG} to prod`,
        '--body',
        `Built from ${SHA} by https://github.com/acme/shop/actions/runs/42`,
      ],
    ]);

    // Re-run the job: the same branch, the same pull request, nothing new.
    const again = await release();
    expect(again).toEqual({
      code: 0,
      stdout: [
        `release-${TAG} already proposes ${TAG}`,
        'pull request already open: https://github.com/acme/shop-config/pull/7',
        '',
      ].join('\n'),
      stderr: '',
    });
    expect(await server.log(repo, `release-${TAG}`)).toHaveLength(2);
    expect((await gh.calls()).map(c => c.slice(0, 2).join(' '))).toEqual([
      'pr list',
      'pr create',
      'pr list',
    ]);
    expect(await server.show(repo, 'main', PROD)).toBe(original);
  });

  it('GitLab: pushes release-v1.2.3 with push options that open a merge request into main; a re-run pushes nothing; main keeps its production tag', async () => {
    const repo = await configRepo();
    // GitLab takes push options; git http-backend must be told to. The hook records
    // what GitLab would read: the options of each push.
    await server.acceptPushOptions(repo);
    const options = path.join(dir, `${repo}-push-options.log`);
    await server.hook(
      repo,
      'pre-receive',
      [
        `log='${options}'`,
        'cat > /dev/null',
        'i=0',
        'while [ "$i" -lt "${GIT_PUSH_OPTION_COUNT:-0}" ]; do',
        '  eval "printf \'%s\\n\' \\"\\$GIT_PUSH_OPTION_$i\\"" >> "$log"',
        '  i=$((i + 1))',
        'done',
        'echo -- >> "$log"',
        'exit 0',
      ].join('\n'),
    );
    const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
    await fakeCommand(bin, 'apk');
    const build = await fs.mkdtemp(path.join(dir, 'build-'));
    const release = () =>
      runCiScript({
        shell: 'gitlab',
        script: gitlabJobScript(pipeline, 'release'),
        cwd: build,
        bin: [bin],
        env: {
          ...pipeline.variables,
          CONFIG_REPO_URL: server.url(repo),
          CONFIG_REPO_TOKEN: server.token,
          TAG,
          CI_COMMIT_TAG: TAG,
          CI_COMMIT_SHA: SHA,
          CI_PIPELINE_URL: 'https://gitlab.com/acme/shop/-/pipelines/42',
          GITLAB_CI: 'true',
        },
      });

    const first = await release();
    expect(first).toEqual({
      code: 0,
      stdout: `pushed release-${TAG} with a merge request into main (attempt 1)\n`,
      stderr: '',
    });
    expect(
      (await fs.readFile(options, 'utf8')).split('--\n').filter(Boolean),
    ).toEqual([
      [
        'merge_request.create',
        'merge_request.target=main',
        `merge_request.title=Release ${TAG} to prod`,
        `merge_request.description=Built from ${SHA} by https://gitlab.com/acme/shop/-/pipelines/42`,
        '',
      ].join('\n'),
    ]);
    const original = await prodOnMain();
    expect(await server.show(repo, `release-${TAG}`, PROD)).toBe(
      original.replace(/^ {2}tag: .*$/m, `  tag: '${TAG}'`),
    );
    expect(await server.show(repo, 'main', PROD)).toBe(original);
    expect(await server.log(repo)).toEqual(['Initial config']);

    // Re-run the job: the branch already proposes the tag; no push, so no second
    // merge request.
    const again = await release();
    expect(again).toEqual({
      code: 0,
      stdout: `release-${TAG} already proposes ${TAG}\n`,
      stderr: '',
    });
    expect(
      (await fs.readFile(options, 'utf8')).split('--\n').filter(Boolean),
    ).toHaveLength(1);
    expect(await server.log(repo, `release-${TAG}`)).toHaveLength(2);
  });

  it('a tag production already runs on main proposes nothing (GitHub and GitLab)', async () => {
    const repo = await configRepo();
    await server.pushChange(
      repo,
      PROD,
      old => old.replace(/^ {2}tag: .*$/m, `  tag: '${TAG}'`),
      `Promote ${TAG} to prod`,
    );
    const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
    const gh = await fakeCommand(bin, 'gh');
    await fakeCommand(bin, 'apk');
    const github = await runCiScript({
      shell: 'github',
      script: githubStepScript(workflow, 'release', 'Open a pull request'),
      cwd: await server.checkoutLikeActions(repo),
      bin: [bin],
      env: { ...workflow.env, TAG, GH_TOKEN: 't' },
    });
    const gitlab = await runCiScript({
      shell: 'gitlab',
      script: gitlabJobScript(pipeline, 'release'),
      cwd: await fs.mkdtemp(path.join(dir, 'build-')),
      bin: [bin],
      env: {
        ...pipeline.variables,
        CONFIG_REPO_URL: server.url(repo),
        CONFIG_REPO_TOKEN: server.token,
        TAG,
      },
    });
    for (const run of [github, gitlab]) {
      expect(run).toEqual({
        code: 0,
        stdout: `prod already runs ${TAG} on main: nothing to propose\n`,
        stderr: '',
      });
    }
    expect(await gh.calls()).toEqual([]);
    expect(await server.branches(repo)).toEqual(['main']);
  });
});
