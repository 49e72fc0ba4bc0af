import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import catalogPlugin from '@backstage/plugin-catalog-backend';
import catalogModuleScaffolderEntityModel from '@backstage/plugin-catalog-backend-module-scaffolder-entity-model';
import scaffolderPlugin from '@backstage/plugin-scaffolder-backend';
import {
  eventually,
  helmBinary,
  Sandbox,
} from '@gitops-backstage/gitops-sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
// A test backend wires the portal's plugins together, as packages/backend does.
// eslint-disable-next-line @backstage/no-mixed-plugin-imports
import gitopsPlugin from '@gitops-backstage/plugin-gitops-backend';
import { scaffolderModuleGitops } from '../module';
import { TEMPLATES_DIR } from './renderTemplates';

const exec = promisify(execFile);

export interface TemplateRun {
  created: request.Response;
  status: string;
  log: string;
}

/**
 * The real scaffolder and catalog backends with this module, configured for the
 * sandbox: its Git server (reads and writes with its token), its Argo CD instances, the
 * project `default` given to the test backend's user, the three templates in the catalog;
 * and the GitOps backend, for what a created service's Deployments tab shows.
 */
/** The `argocd` config naming the sandbox's Argo CD instances, as a portal names its own. */
export const sandboxArgoCdConfig = (sandbox: Sandbox) => ({
  appLocatorMethods: [
    {
      type: 'config',
      instances: sandbox.instances.map(i => ({
        name: i.name,
        url: i.url,
        token: i.token,
      })),
    },
  ],
});

export async function startScaffolderBackend(sandbox: Sandbox) {
  const gitHost = new URL(sandbox.gitUrl).host;
  const backend = await startTestBackend({
    features: [
      scaffolderPlugin,
      catalogPlugin,
      catalogModuleScaffolderEntityModel,
      scaffolderModuleGitops,
      gitopsPlugin,
      mockServices.rootConfig.factory({
        data: {
          backend: { reading: { allow: [{ host: gitHost }] } },
          catalog: {
            rules: [
              {
                allow: [
                  'Component',
                  'Resource',
                  'Template',
                  'Location',
                  'System',
                  'Group',
                  'User',
                ],
              },
            ],
            locations: [
              'gitops-service',
              'gitops-cronjob',
              'gitops-add-instance',
            ].map(t => ({
              type: 'file',
              target: path.join(TEMPLATES_DIR, t, 'template.yaml'),
            })),
          },
          argocd: sandboxArgoCdConfig(sandbox),
          gitops: {
            git: {
              credentials: [{ host: gitHost, password: sandbox.gitToken }],
            },
            // The test backend's user runs the templates: project default is theirs.
            projects: [
              {
                name: 'default',
                owners: ['user:default/mock'],
                destinations: [
                  {
                    server: 'https://kubernetes.default.svc',
                    namespace: '*',
                  },
                ],
                // Its Git repositories, and its chart repositories (chartSource chartRepository).
                sourceRepos: [
                  `${sandbox.gitUrl}/git/*`,
                  `${sandbox.gitUrl}/charts/*`,
                ],
              },
            ],
            helm: { command: await helmBinary() },
          },
        },
      }),
    ],
  });
  const server = backend.server;

  /** Runs a template to its end; answers the task's status and its log. */
  async function run(
    template: string,
    values: Record<string, unknown>,
  ): Promise<TemplateRun> {
    await eventually(async () => {
      const res = await request(server).get(
        `/api/catalog/entities/by-name/template/default/${template}`,
      );
      return res.status === 200 ? true : undefined;
    }, `template ${template} in the catalog`);
    const created = await request(server)
      .post('/api/scaffolder/v2/tasks')
      .send({ templateRef: `template:default/${template}`, values });
    if (created.status !== 201) return { created, status: 'refused', log: '' };
    const task = await eventually(
      async () => {
        const res = await request(server).get(
          `/api/scaffolder/v2/tasks/${created.body.id}`,
        );
        return ['completed', 'failed'].includes(res.body.status)
          ? res.body
          : undefined;
      },
      'the task to end',
      // A scaffold of two repositories, helm per environment and Argo CD on a loaded machine.
      600_000,
    );
    const events = await request(server).get(
      `/api/scaffolder/v2/tasks/${created.body.id}/events`,
    );
    const log = (events.body as any[])
      .map(e => e.body?.message)
      .filter(Boolean)
      .join('\n');
    return { created, status: task.status as string, log };
  }

  return { server, run, stop: () => backend.stop() };
}

/** A failed task fails the test with the end of its log, which names the failing step. */
export function expectCompleted(status: string, log: string) {
  if (status !== 'completed') {
    throw new Error(
      `task ${status}:\n${log.split('\n').slice(-25).join('\n')}`,
    );
  }
}

/** The form's repository fields for the sandbox's plain Git server. */
export const sandboxRepoValues = (sandbox: Sandbox) => ({
  repoHost: 'git',
  gitBaseUrl: `${sandbox.gitUrl}/git`,
  gitCreateUrl: `${sandbox.gitUrl}/api/repos`,
  gitRawUrlPattern: `${sandbox.gitUrl}/git/{repo}/raw/main/{path}`,
});

/** A clone of a sandbox repository under `dir` (origin carries the token). */
export async function cloneSandboxRepo(
  sandbox: Sandbox,
  dir: string,
  repo: string,
) {
  const target = await fs.mkdtemp(path.join(dir, `clone-${repo}-`));
  await exec('git', [
    'clone',
    '--quiet',
    sandbox.repoUrl(repo).replace('http://', `http://x:${sandbox.gitToken}@`),
    target,
  ]);
  return target;
}
