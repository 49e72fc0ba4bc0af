import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { GitCredentialsResolver } from '@gitops-backstage/plugin-gitops-node';
import {
  checkBranchName,
  checkRemoteUrl,
  commitAndPushBranch,
  credentialsFor,
  remoteRefs,
  shallowClone,
} from './gitRemote';
import { quoted, workspaceDirectory } from './workspacePath';

/** Every file below `dir`, relative to it. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, {
    withFileTypes: true,
    recursive: true,
  });
  // Array.from: a plain array of this realm, as the scaffolder's output copy insists.
  return Array.from(
    entries.filter(e => e.isFile()),
    e => path.relative(dir, path.join(e.parentPath, e.name)),
  );
}

/**
 * Throws an InputError naming `key` unless `file` is a path inside a repository:
 * relative, without `..` or a NUL, so a check of it reads nothing of the backend's.
 */
function checkRepositoryPath(file: string, key: string) {
  const normalized = path.posix.normalize(file);
  if (
    !file ||
    file.includes('\0') ||
    file.length > 1024 ||
    path.posix.isAbsolute(file) ||
    normalized === '.' ||
    normalized === '..' ||
    normalized.startsWith('../')
  ) {
    throw new InputError(
      `${key} ${quoted(file)} is not a path inside the repository`,
    );
  }
}

/**
 * `gitops:git:branch`: proposes new files for an existing repository on a Git server
 * without pull requests — a branch off the base branch with one commit adding them,
 * which someone merges (GitHub and GitLab have publish:github:pull-request and
 * publish:gitlab:merge-request). It never overwrites a file that is there, and can
 * insist that files are (an environment's values file, say).
 *
 * @public
 */
export function createGitBranchAction(options: { config: Config }) {
  const credentials = GitCredentialsResolver.fromConfig(options.config);
  return createTemplateAction({
    id: 'gitops:git:branch',
    description:
      'Proposes files for an existing repository on a plain Git server: a new branch with one commit adding them.',
    supportsDryRun: true,
    examples: [
      {
        description: 'Propose a new instance of service-a in prod',
        example: [
          'steps:',
          '  - id: propose',
          '    action: gitops:git:branch',
          '    input:',
          '      repoUrl: http://127.0.0.1:7090/git/service-a-config.git',
          '      sourcePath: ./proposal',
          '      branch: add-prod-sensor-7',
          "      mustExist: ['chart/values-prod.yaml']",
          '      commitMessage: Add instance sensor-7 of service-a in prod',
        ].join('\n'),
      },
    ],
    schema: {
      input: {
        repoUrl: z =>
          z.string().url().describe('Clone URL of the existing repository'),
        sourcePath: z =>
          z
            .string()
            .describe('Workspace directory whose files are added, as laid out'),
        branch: z =>
          z
            .string()
            .regex(/^[A-Za-z0-9][-A-Za-z0-9_./]*$/, 'a branch name')
            .describe('The new branch'),
        baseBranch: z =>
          z.string().optional().describe('Branch it starts from; default main'),
        mustExist: z =>
          z
            .array(z.string())
            .optional()
            .describe('Files the repository must already have'),
        commitMessage: z => z.string().min(1),
      },
      output: {
        branch: z => z.string(),
        branchUrl: z => z.string().describe('The repository and branch'),
        commitHash: z => z.string(),
        files: z => z.array(z.string()).describe('The files added'),
      },
    },
    async handler(ctx) {
      const { repoUrl, branch, mustExist = [], commitMessage } = ctx.input;
      const baseBranch = ctx.input.baseBranch ?? 'main';
      checkRemoteUrl(repoUrl, 'repoUrl');
      checkBranchName(branch, 'branch');
      checkBranchName(baseBranch, 'baseBranch');
      mustExist.forEach((file, i) =>
        checkRepositoryPath(file, `mustExist[${i}]`),
      );
      const source = await workspaceDirectory(
        ctx.workspacePath,
        ctx.input.sourcePath,
        'sourcePath',
      );
      const files = await filesIn(source);
      if (files.length === 0) {
        throw new InputError(`${ctx.input.sourcePath} holds no files to add`);
      }
      const auth = await credentialsFor(credentials, repoUrl);
      const branchUrl = `${repoUrl}#${branch}`;

      const result = await ctx.checkpoint({
        key: `git-branch-${repoUrl}-${branch}`,
        fn: async () => {
          const branches = await remoteRefs(
            repoUrl,
            auth,
            `refs/heads/${branch}`,
          );
          if (!branches) {
            throw new InputError(
              `Cannot reach ${repoUrl}: the server has no such repository (404)`,
            );
          }
          if (branches.includes(`refs/heads/${branch}`)) {
            throw new InputError(
              `${repoUrl} already has a branch ${branch}: merge or delete it first`,
            );
          }
          const dir = await fs.mkdtemp(
            path.join(os.tmpdir(), 'gitops-branch-'),
          );
          try {
            await shallowClone({ dir, repoUrl, auth, ref: baseBranch }).catch(
              error => {
                throw new InputError(
                  `Cannot clone ${baseBranch} of ${repoUrl}: ${error.message}`,
                );
              },
            );
            for (const file of mustExist) {
              if (!(await exists(path.join(dir, file)))) {
                throw new InputError(
                  `${repoUrl} has no ${file} on ${baseBranch}; check the service and environment`,
                );
              }
            }
            const clashes = [];
            for (const file of files) {
              if (await exists(path.join(dir, file))) clashes.push(file);
            }
            if (clashes.length > 0) {
              throw new InputError(
                `${repoUrl} already has ${clashes.join(', ')} on ${baseBranch}`,
              );
            }
            // A dry run reads the repository (with its own credentials) and writes nothing.
            if (ctx.isDryRun) return { commitHash: 'dry-run' };
            for (const file of files) {
              await fs.mkdir(path.dirname(path.join(dir, file)), {
                recursive: true,
              });
              await fs.copyFile(path.join(source, file), path.join(dir, file));
            }
            const commitHash = await commitAndPushBranch({
              dir,
              repoUrl,
              auth,
              branch,
              message: commitMessage,
              author: {
                name: ctx.user?.entity?.metadata.name ?? 'Backstage',
                email: 'scaffolder@backstage.local',
              },
            });
            return { commitHash };
          } finally {
            await fs.rm(dir, { recursive: true, force: true });
          }
        },
      });
      ctx.logger.info(
        `Proposed ${files.length} file(s) on ${branchUrl}: merge the branch to apply`,
      );
      ctx.output('branch', branch);
      ctx.output('branchUrl', branchUrl);
      ctx.output('commitHash', result.commitHash);
      ctx.output('files', files);
    },
  });
}

async function exists(file: string) {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
