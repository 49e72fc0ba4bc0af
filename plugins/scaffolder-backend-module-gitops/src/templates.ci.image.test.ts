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

jest.setTimeout(180_000);

/** bash runs the GitHub step, BusyBox's sh the GitLab job (docker:27 is Alpine). */
const TOOLS = ['bash', 'busybox'];

/**
 * Where the generated CI logs in before it pushes the image: the registry's host (the
 * key Docker stores and looks up credentials by), not the image's path. The shell of
 * the GitHub step and of the GitLab job, from the rendered files, run as their CI does;
 * docker is a stand-in that logs what it is asked.
 */
describeWithTools(TOOLS)(
  'the image job logs in to the registry host of the image',
  () => {
    let dir: string;

    beforeAll(async () => {
      assertTools(TOOLS);
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-image-'));
    });
    afterAll(async () => {
      await fs.rm(dir, { recursive: true, force: true });
    });

    /** The CI files rendered for an image registry of the form. */
    async function ci(imageRegistry: string) {
      const { workflow, pipeline } = await renderCi(
        await fs.mkdtemp(path.join(dir, 'app-')),
        {
          template: 'gitops-service',
          language: 'python',
          repoHost: 'gitlab',
          imageRegistry,
          imageRepository: 'shop',
        },
      );
      return { workflow, pipeline };
    }

    const registries: Array<[string, string]> = [
      ['registry.example.com', 'registry.example.com'],
      ['ghcr.io/acme', 'ghcr.io'],
      ['registry.example.com:5000/team', 'registry.example.com:5000'],
      ['localhost:5000', 'localhost:5000'],
      ['localhost', 'localhost'],
      ['acme', 'docker.io'],
    ];

    it('GitHub: docker/login-action gets the host the registry step works out', async () => {
      for (const [imageRegistry, host] of registries) {
        const { workflow } = await ci(imageRegistry);
        const output = path.join(dir, 'github-output');
        await fs.writeFile(output, '');
        const run = await runCiScript({
          shell: 'github',
          script: githubStepScript(workflow, 'image', 'registry'),
          cwd: dir,
          env: { ...workflow.env, GITHUB_OUTPUT: output },
        });
        expect({ imageRegistry, ...run }).toEqual({
          imageRegistry,
          code: 0,
          stdout: '',
          stderr: '',
        });
        expect({
          imageRegistry,
          output: await fs.readFile(output, 'utf8'),
        }).toEqual({ imageRegistry, output: `host=${host}\n` });
      }
    });

    describe('GitLab', () => {
      /** Runs the image job with a docker that logs its calls and what login reads. */
      async function imageJob(
        imageRegistry: string,
        env: Record<string, string>,
      ) {
        const { pipeline } = await ci(imageRegistry);
        const bin = await fs.mkdtemp(path.join(dir, 'bin-'));
        const stdin = path.join(bin, 'login-stdin');
        const docker = await fakeCommand(
          bin,
          'docker',
          `if [ "$1" = login ]; then cat >> '${stdin}'; fi`,
        );
        const build = await fs.mkdtemp(path.join(dir, 'build-'));
        const run = await runCiScript({
          shell: 'gitlab',
          script: gitlabJobScript(pipeline, 'build-image'),
          cwd: build,
          bin: [bin],
          env: {
            ...pipeline.variables,
            CI_COMMIT_SHORT_SHA: 'abcd1234',
            CI_REGISTRY: 'registry.gitlab.com',
            CI_REGISTRY_USER: 'gitlab-ci-token',
            CI_REGISTRY_PASSWORD: 'job-token',
            ...env,
          },
        });
        return {
          run,
          image: pipeline.variables.IMAGE as string,
          calls: await docker.calls(),
          password: await fs.readFile(stdin, 'utf8').catch(() => ''),
          buildEnv: await fs
            .readFile(path.join(build, 'build.env'), 'utf8')
            .catch(() => undefined),
        };
      }

      it('another registry: its host with REGISTRY_USERNAME and REGISTRY_PASSWORD; a multi-arch build tagged with the short SHA', async () => {
        const { run, image, calls, password, buildEnv } = await imageJob(
          'registry.example.com:5000/team',
          { REGISTRY_USERNAME: 'bot', REGISTRY_PASSWORD: 'secret' },
        );
        expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
        expect(image).toBe('registry.example.com:5000/team/shop');
        expect(calls).toEqual([
          [
            'login',
            '-u',
            'bot',
            '--password-stdin',
            'registry.example.com:5000',
          ],
          [
            'run',
            '--privileged',
            '--rm',
            'tonistiigi/binfmt',
            '--install',
            'arm64,amd64',
          ],
          ['buildx', 'create', '--use'],
          [
            'buildx',
            'build',
            '--platform',
            'linux/amd64,linux/arm64',
            '--build-arg',
            'APP_VERSION=abcd1234',
            '--push',
            '-t',
            `${image}:abcd1234`,
            '.',
          ],
        ]);
        expect(password).toBe('secret\n');
        // The tag, and the image container scanning scans, for the later jobs.
        expect(buildEnv).toBe(`TAG=abcd1234\nCS_IMAGE=${image}:abcd1234\n`);
      });

      it("this GitLab's registry ($CI_REGISTRY) with the job's token; a release tag builds that tag", async () => {
        const { run, image, calls, password, buildEnv } = await imageJob(
          'registry.gitlab.com/acme',
          { CI_COMMIT_TAG: 'v1.2.3' },
        );
        expect(run.code).toBe(0);
        expect(calls[0]).toEqual([
          'login',
          '-u',
          'gitlab-ci-token',
          '--password-stdin',
          'registry.gitlab.com',
        ]);
        expect(password).toBe('job-token\n');
        expect(calls[3]).toContain(`${image}:v1.2.3`);
        expect(buildEnv).toBe(`TAG=v1.2.3\nCS_IMAGE=${image}:v1.2.3\n`);
      });

      it("never sends the job's token to another registry: without REGISTRY_USERNAME it stops, saying what to set", async () => {
        const { run, calls, password } = await imageJob('ghcr.io/acme', {});
        expect(run).toEqual({
          code: 1,
          stdout:
            'Set the CI/CD variables REGISTRY_USERNAME and REGISTRY_PASSWORD to push to ghcr.io\n',
          stderr: '',
        });
        expect(calls).toEqual([]);
        expect(password).toBe('');
      });
    });
  },
);
