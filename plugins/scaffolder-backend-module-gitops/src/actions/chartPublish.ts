import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  GitCredentials,
  GitCredentialsResolver,
  HelmRunner,
  redactUrl,
} from '@gitops-backstage/plugin-gitops-node';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { checkRemoteUrl } from './gitRemote';
import { quoted, workspaceDirectory } from './workspacePath';

const exec = promisify(execFile);

/** A chart's name and version as Chart.yaml must give them to be packaged. */
const CHART_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/**
 * The credentials for a chart repository: those of its entry in
 * `gitops.chartRepositories` (the list the backend reads chart versions from: `url`,
 * `username`, `password`), else the Git credentials configured for that same server
 * (the sandbox serves both). Never another server's.
 */
async function credentialsFor(
  config: Config,
  git: GitCredentialsResolver,
  url: URL,
): Promise<GitCredentials> {
  const entry = (
    config.getOptionalConfigArray('gitops.chartRepositories') ?? []
  ).find(
    c =>
      c.getString('url').replace(/\/+$/, '') === url.href.replace(/\/+$/, ''),
  );
  const password = entry?.getOptionalString('password');
  if (entry && password) {
    return {
      username: entry.getOptionalString('username') ?? 'chart',
      password,
    };
  }
  const auth = await git.forUrl(url.href);
  if (!auth) {
    throw new InputError(
      `No credentials for the chart repository ${url.href}: give its entry in gitops.chartRepositories a username and password, or its server gitops.git.credentials`,
    );
  }
  return auth;
}

/**
 * `gitops:chart:publish`: packages a chart of the workspace with `helm package` and
 * uploads it to a chart repository through ChartMuseum's API (`POST
 * <repository>/api/charts`), as a chart CI does: the first version of a service whose
 * Applications deploy from a chart repository, so they have something to deploy.
 *
 * @public
 */
export function createChartPublishAction(options: { config: Config }) {
  const helm = HelmRunner.fromConfig(options.config);
  const git = GitCredentialsResolver.fromConfig(options.config);
  return createTemplateAction({
    id: 'gitops:chart:publish',
    description:
      'Packages a Helm chart of the workspace (helm package) and uploads it to a chart repository with a ChartMuseum upload API; a version once only.',
    supportsDryRun: true,
    examples: [
      {
        description: 'Publish the chart of a new app repository, version 0.1.0',
        example: [
          'steps:',
          '  - id: publish-chart',
          '    action: gitops:chart:publish',
          '    input:',
          '      chartPath: app/chart',
          '      repository: http://127.0.0.1:7090/charts/dev',
          '      version: 0.1.0',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        chartPath: z =>
          z
            .string()
            .min(1)
            .describe('Directory of the chart, relative to the workspace'),
        repository: z =>
          z
            .string()
            .min(1)
            .describe(
              'URL of the chart repository; the package goes to <repository>/api/charts',
            ),
        version: z =>
          z
            .string()
            .optional()
            .describe("The version to publish; default Chart.yaml's"),
      },
      output: {
        name: z => z.string().describe('The chart name'),
        version: z => z.string().describe('The version published'),
        repository: z => z.string().describe('The chart repository'),
      },
    },
    async handler(ctx) {
      const repository = ctx.input.repository.replace(/\/+$/, '');
      const url = checkRemoteUrl(repository, 'repository');
      if (url.search || url.hash) {
        throw new InputError(
          'repository must not have a query or fragment: the package goes to <repository>/api/charts',
        );
      }
      const chartDir = await workspaceDirectory(
        ctx.workspacePath,
        ctx.input.chartPath,
        'chartPath',
      );
      const chart = parseDocument(
        await fs
          .readFile(path.join(chartDir, 'Chart.yaml'), 'utf8')
          .catch(() => {
            throw new InputError(
              `chartPath ${quoted(ctx.input.chartPath)} has no Chart.yaml`,
            );
          }),
      ).toJS();
      const name = String(chart?.name ?? '');
      const version = ctx.input.version ?? String(chart?.version ?? '');
      if (!CHART_NAME.test(name)) {
        throw new InputError(
          `${ctx.input.chartPath}/Chart.yaml names the chart ${quoted(
            name,
          )}: lower-case letters, digits and -`,
        );
      }
      if (!SEMVER.test(version)) {
        throw new InputError(
          `The chart version ${quoted(version)} is not a semantic version`,
        );
      }
      const auth = await credentialsFor(options.config, git, url);
      const target = `${repository}/api/charts`;

      const work = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-package-'));
      try {
        // As HelmRunner runs helm: a fresh home of its own, no network.
        await exec(
          helm.command,
          ['package', chartDir, '--version', version, '--destination', work],
          {
            cwd: work,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH ?? '',
              HOME: work,
              HELM_CONFIG_HOME: path.join(work, 'config'),
              HELM_CACHE_HOME: path.join(work, 'cache'),
              HELM_DATA_HOME: path.join(work, 'data'),
              HTTP_PROXY: 'http://127.0.0.1:9',
              HTTPS_PROXY: 'http://127.0.0.1:9',
              NO_PROXY: '',
            },
          },
        ).catch(error => {
          throw new InputError(
            `helm package ${ctx.input.chartPath} failed: ${String(
              error.stderr || error.message,
            ).trim()}`,
          );
        });
        const file = path.join(work, `${name}-${version}.tgz`);
        if (ctx.isDryRun) {
          ctx.logger.info(
            `Dry run: would upload ${path.basename(file)} to ${redactUrl(
              target,
            )}`,
          );
        } else {
          const body = await fs.readFile(file);
          // A retried task finds the checkpoint and does not upload again (409).
          await ctx.checkpoint({
            key: `chart-publish-${repository}-${name}-${version}`,
            fn: async () => {
              const res = await fetch(target, {
                method: 'POST',
                body,
                redirect: 'manual',
                signal: AbortSignal.timeout(60_000),
                headers: {
                  'content-type': 'application/octet-stream',
                  authorization: `Basic ${Buffer.from(
                    `${auth.username}:${auth.password}`,
                  ).toString('base64')}`,
                },
              }).catch(error => {
                throw new Error(
                  `Chart repository ${url.host} is unreachable at ${redactUrl(
                    target,
                  )}: ${error.cause?.code ?? error.message}`,
                );
              });
              const said = (await res.text()).slice(0, 300);
              if (res.status === 409) {
                throw new InputError(
                  `${redactUrl(
                    repository,
                  )} already has ${name} ${version}: a chart of this name exists there (another service's?); nothing was uploaded`,
                );
              }
              if (res.status !== 200 && res.status !== 201) {
                throw new Error(
                  `Chart repository ${url.host} answered the upload of ${name} ${version} with ${res.status}: ${said}`,
                );
              }
              return { status: res.status };
            },
          });
          ctx.logger.info(
            `Published ${name} ${version} to ${redactUrl(repository)}`,
          );
        }
      } finally {
        await fs.rm(work, { recursive: true, force: true });
      }
      ctx.output('name', name);
      ctx.output('version', version);
      ctx.output('repository', repository);
    },
  });
}
