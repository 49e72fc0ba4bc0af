import { eventually } from '@gitops-backstage/gitops-sandbox';
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
import { renderConfig, TemplateName } from './__testUtils__/renderTemplates';

// Real git over HTTP, and up to 20 s of the script's own back-off, on a loaded machine
// (the file took 146 s for its four tests in a loaded CI run).
jest.setTimeout(600_000);

const TAG = 'abc1234';

/** What the scripts run with: bash (GitHub), BusyBox (GitLab in Alpine), git. */
const TOOLS = ['bash', 'busybox', 'git'];

/**
 * The tag bump of the generated CI (the shell of the GitHub step and of the GitLab job,
 * taken from the rendered files and run as their CI runs them) against a real Git
 * server, while another writer pushes to the same branch.
 */
describeWithTools(TOOLS).each<TemplateName>([
  'gitops-service',
  'gitops-cronjob',
])('%s: the CI commits a new tag to the first environment', template => {
  let dir: string;
  let server: ConfigRepoServer;
  let workflow: any;
  let pipeline: any;
  let config: string;
  let repoCount = 0;

  beforeAll(async () => {
    assertTools(TOOLS);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-bump-'));
    server = await ConfigRepoServer.start(dir);
    const variant = {
      template,
      language: 'python',
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

  /** A new config repository, as the template created it. */
  async function configRepo() {
    const repo = `shop-config-${++repoCount}`;
    await server.create(repo, config);
    return repo;
  }

  /**
   * Runs the bump of one CI against `repo`. GitHub: actions/checkout's clone is the
   * working directory, the step's env the workflow's plus the job's outputs. GitLab:
   * the job clones itself from CONFIG_REPO_URL with CONFIG_REPO_TOKEN (stand-ins for
   * the CI/CD variables), in an empty build directory; `apk` is a stand-in that logs.
   */
  async function bump(
    ci: 'github' | 'gitlab',
    repo: string,
    started?: () => void,
  ) {
    if (ci === 'github') {
      return runCiScript({
        shell: 'github',
        script: githubStepScript(workflow, 'bump', 'Commit the tag'),
        cwd: await server.checkoutLikeActions(repo),
        env: {
          ...workflow.env,
          TAG,
          GITHUB_REF: 'refs/heads/main',
          GITHUB_ACTIONS: 'true',
        },
        started,
      });
    }
    const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
    const apk = await fakeCommand(bin, 'apk');
    const build = await fs.mkdtemp(path.join(dir, 'build-'));
    const run = await runCiScript({
      shell: 'gitlab',
      script: gitlabJobScript(pipeline, 'bump'),
      cwd: build,
      bin: [bin],
      env: {
        ...pipeline.variables,
        CONFIG_REPO_URL: server.url(repo),
        CONFIG_REPO_TOKEN: server.token,
        TAG, // from the image job's dotenv report
        CI_COMMIT_BRANCH: 'main',
        CI_DEFAULT_BRANCH: 'main',
        GITLAB_CI: 'true',
      },
      started,
    });
    expect(await apk.calls()).toEqual([['add', '--no-cache', 'git']]);
    return run;
  }

  const devValues = () => path.join(config, 'chart', 'values-dev.yaml');

  describe.each(['github', 'gitlab'] as const)('%s', ci => {
    it("a new service's first build: the empty tag becomes the built one, the comments stay", async () => {
      const repo = await configRepo();
      const original = await fs.readFile(devValues(), 'utf8');
      expect(original).toMatch(/^ {2}tag: ''$/m);
      expect(original).toContain("Empty until CI's first");
      const first = await bump(ci, repo);
      expect({ code: first.code, stderr: first.stderr }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      expect(await server.show(repo, 'main', 'chart/values-dev.yaml')).toBe(
        original.replace(/^ {2}tag: ''$/m, `  tag: '${TAG}'`),
      );

      // A comment on the tag's own line stays too.
      await server.pushChange(
        repo,
        'chart/values-dev.yaml',
        old => old.replace(/^ {2}tag: .*$/m, "  tag: '' # no version yet"),
        'Back to no version',
      );
      expect((await bump(ci, repo)).code).toBe(0);
      expect(
        await server.show(repo, 'main', 'chart/values-dev.yaml'),
      ).toContain(`\n  tag: '${TAG}' # no version yet\n`);
      expect(await server.log(repo)).toEqual([
        `ci: dev runs ${TAG}`,
        'Back to no version',
        `ci: dev runs ${TAG}`,
        'Initial config',
      ]);
    });

    it('pushed while another writer pushes to main: the push is rejected once, the script fetches, rebases and pushes again, and both changes are on main', async () => {
      const repo = await configRepo();
      const state = await fs.mkdtemp(path.join(dir, 'hook-'));
      // The server holds the bump's first push until the other writer's push has
      // landed: a real race, decided the same way on any machine.
      await server.hook(
        repo,
        'pre-receive',
        [
          `state='${state}'`,
          'hold=',
          'while read -r old new ref; do',
          '  case "$(git log -1 --format=%s "$new" 2>/dev/null)" in "ci: "*) hold=yes ;; esac',
          'done',
          'if [ -n "$hold" ] && mkdir "$state/held" 2>/dev/null; then',
          '  touch "$state/waiting"; i=0',
          '  while [ ! -e "$state/release" ] && [ "$i" -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done',
          'fi',
          'exit 0',
        ].join('\n'),
      );
      const run = bump(ci, repo);
      await eventually(
        () =>
          fs
            .access(path.join(state, 'waiting'))
            .then(() => true)
            .catch(() => undefined),
        "the bump's first push to reach the server",
        120_000,
      );
      // Meanwhile the portal promotes 0.2.0 to staging.
      await server.pushChange(
        repo,
        'chart/values-staging.yaml',
        old => old.replace(/tag: .*/, "tag: '0.2.0'"),
        'Promote 0.2.0 to staging',
      );
      await fs.writeFile(path.join(state, 'release'), '');
      const { code, stdout, stderr } = await run;

      expect({ code, stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      expect(stdout).toContain(
        'push rejected (attempt 1 of 5): main moved on; fetching, rebasing and pushing again',
      );
      expect(stdout).toContain(`pushed "ci: dev runs ${TAG}" (attempt 2)`);
      expect(await server.log(repo)).toEqual([
        `ci: dev runs ${TAG}`,
        'Promote 0.2.0 to staging',
        'Initial config',
      ]);
      // Only the tag changed: the comments and the layout of the file are kept.
      const original = await fs.readFile(devValues(), 'utf8');
      expect(original).toMatch(/^ {2}tag: ''$/m);
      expect(await server.show(repo, 'main', 'chart/values-dev.yaml')).toBe(
        original.replace(/^ {2}tag: .*$/m, `  tag: '${TAG}'`),
      );
      expect(
        await server.show(repo, 'main', 'chart/values-staging.yaml'),
      ).toContain("tag: '0.2.0'");

      // Run again (a retried job): nothing to do, nothing pushed.
      const again = await bump(ci, repo);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain(
        `chart/values-dev.yaml already runs ${TAG}`,
      );
      expect(await server.log(repo)).toHaveLength(3);
    });

    // The CI files of both templates are the same (the lint test renders both): the
    // slow path (20 s of back-off) runs once per CI.
    if (template !== 'gitops-service') return;
    it('gives up after 5 rejected pushes, saying so, and leaves main as it was', async () => {
      const repo = await configRepo();
      await server.hook(
        repo,
        'pre-receive',
        [
          'while read -r old new ref; do',
          '  case "$(git log -1 --format=%s "$new" 2>/dev/null)" in',
          '    "ci: "*) echo "main is protected in this test" >&2; exit 1 ;;',
          '  esac',
          'done',
          'exit 0',
        ].join('\n'),
      );
      const { code, stdout } = await bump(ci, repo);
      expect(code).toBe(1);
      for (const attempt of [1, 2, 3, 4, 5]) {
        expect(stdout).toContain(`push rejected (attempt ${attempt} of 5)`);
      }
      expect(stdout).toContain(
        `gave up pushing "ci: dev runs ${TAG}" to main after 5 attempts`,
      );
      expect(await server.log(repo)).toEqual(['Initial config']);
    });
  });
});

describeWithTools(TOOLS)('the bump with a single environment', () => {
  let dir: string;

  beforeAll(async () => {
    assertTools(TOOLS);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-bump-single-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('leaves production alone: it changes by pull request, from a release tag', async () => {
    const { workflow, pipeline } = await renderCi(dir, {
      template: 'gitops-service',
      language: 'typescript',
      repoHost: 'gitlab',
      environments: ['prod'],
    });
    const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
    await fakeCommand(bin, 'apk');
    // No git server at all: the script must stop before it needs one.
    const github = await runCiScript({
      shell: 'github',
      script: githubStepScript(workflow, 'bump', 'Commit the tag'),
      cwd: dir,
      env: { ...workflow.env, TAG },
    });
    const gitlab = await runCiScript({
      shell: 'gitlab',
      script: gitlabJobScript(pipeline, 'bump'),
      cwd: dir,
      bin: [bin],
      env: { ...pipeline.variables, TAG },
    });
    expect(github).toEqual({
      code: 0,
      stdout:
        'prod is production: it changes by pull request, from a release tag\n',
      stderr: '',
    });
    expect(gitlab).toEqual({
      code: 0,
      stdout:
        'prod is production: it changes by merge request, from a release tag\n',
      stderr: '',
    });
  });
});
