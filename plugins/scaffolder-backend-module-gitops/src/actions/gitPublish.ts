import { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  GitCredentials,
  GitCredentialsResolver,
  redactUrl,
  upstreamAnswer,
} from '@gitops-backstage/plugin-gitops-node';
import { examples } from './gitPublish.examples';
import {
  checkBranchName,
  checkRemoteUrl,
  credentialsFor,
  pushNewRepository,
  refusedCredentials,
  remoteRefs,
} from './gitRemote';
import { workspaceDirectory } from './workspacePath';

function basicAuth({ username, password }: GitCredentials) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * fetch that follows no redirect (the credential is for this server only), with an
 * error naming the server instead of fetch's bare "fetch failed".
 */
async function request(url: string, init: RequestInit): Promise<Response> {
  const { host } = new URL(url);
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(
      `Git server ${host} is unreachable at ${redactUrl(url)}${
        code ? ` (${code})` : ''
      }`,
    );
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new Error(
      `Git server ${host} answered ${redactUrl(url)} with a redirect (${
        res.status
      }), which is not followed: give the URL it names`,
    );
  }
  return res;
}

/**
 * Creates the repository through the server's API (`POST {name}`), as the sandbox's
 * `/api/repos` or Gitea's `/api/v1/user/repos` do. One that exists (409) is left to
 * the emptiness check: a task retried after a failed push finds its own empty one.
 * The error says no more of the server's answer than a short, redacted status line.
 */
async function createRepository(
  url: string,
  name: string,
  auth: GitCredentials,
) {
  const res = await request(url, {
    method: 'POST',
    headers: {
      authorization: basicAuth(auth),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ name }),
  });
  if (res.ok || res.status === 409) {
    await res.body?.cancel();
    return;
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw refusedCredentials(res.status, url);
  }
  const answer = upstreamAnswer(res.status, await res.text(), [
    auth.password,
    `${auth.username}:${auth.password}`,
  ]);
  const message = `Creating repository "${name}" at ${redactUrl(
    url,
  )} failed (${answer})`;
  // A 4xx is the server refusing what the template asked for (a name it does not
  // take, a wrong createRepository.url): bad input, not a failure of the portal.
  throw res.status < 500 ? new InputError(message) : new Error(message);
}

/**
 * Refuses a repository that has commits, so nobody's history is overwritten. An absent
 * repository may be created by the push, as GitLab's push-to-create does.
 */
async function ensureEmpty(repoUrl: string, auth: GitCredentials) {
  const refs = await remoteRefs(repoUrl, auth, 'refs/');
  if (refs?.length) {
    throw new InputError(
      `Repository ${repoUrl} already exists and has commits; not overwriting it`,
    );
  }
}

/**
 * `gitops:git:publish`: publishes a workspace directory as a new repository on any
 * Git server reachable over smart HTTP (the sandbox, Gitea, GitLab with
 * push-to-create), for hosts without a publish action of their own.
 *
 * @public
 */
export function createGitPublishAction(options: { config: Config }) {
  const { config } = options;
  const credentials = GitCredentialsResolver.fromConfig(config);
  return createTemplateAction({
    id: 'gitops:git:publish',
    description:
      'Publishes a workspace directory as a new repository on a Git server over smart HTTP, creating it first through the server API when asked.',
    supportsDryRun: true,
    examples,
    schema: {
      input: {
        repoUrl: z =>
          z
            .string()
            .url()
            .describe(
              'http(s) URL of the new repository, e.g. https://git.example.com/git/service-c-config.git',
            ),
        sourcePath: z =>
          z
            .string()
            .optional()
            .describe('Workspace directory to publish; default the workspace'),
        defaultBranch: z =>
          z.string().optional().describe('Branch to push; default main'),
        commitMessage: z => z.string().optional(),
        gitAuthorName: z => z.string().optional(),
        gitAuthorEmail: z => z.string().optional(),
        createRepository: z =>
          z
            .object({
              url: z
                .string()
                .url()
                .describe(
                  'API that creates a repository from a JSON POST {"name"}, e.g. the sandbox /api/repos; its server needs credentials of its own',
                ),
            })
            .optional()
            .describe(
              'Create the repository through the server API first; without it the repository must exist empty, or the push creates it',
            ),
      },
      output: {
        remoteUrl: z => z.string().describe('The repository URL pushed to'),
        repoContentsUrl: z =>
          z.string().describe('Where its files are: the same for plain Git'),
        commitHash: z => z.string().describe('The initial commit'),
      },
    },
    async handler(ctx) {
      const { repoUrl, createRepository: create } = ctx.input;
      const url = checkRemoteUrl(repoUrl, 'repoUrl');
      if (create) checkRemoteUrl(create.url, 'createRepository.url');
      const name = url.pathname
        .replace(/\/+$/, '')
        .split('/')
        .pop()!
        .replace(/\.git$/, '');
      // The name is what a create call asks for: the one the URL ends in, nothing else.
      if (
        !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ||
        url.search ||
        url.hash
      ) {
        throw new InputError(
          `repoUrl ${redactUrl(
            repoUrl,
          )} does not end in a repository name (letters, digits, '.', '_' and '-', then .git), or has a query or fragment`,
        );
      }
      const branch = ctx.input.defaultBranch ?? 'main';
      checkBranchName(branch, 'defaultBranch');
      const dir = await workspaceDirectory(
        ctx.workspacePath,
        ctx.input.sourcePath ?? '.',
        'sourcePath',
      );
      const done = (commitHash: string) => {
        ctx.output('remoteUrl', repoUrl);
        ctx.output('repoContentsUrl', repoUrl);
        ctx.output('commitHash', commitHash);
      };
      // Each server gets its own credentials, or the step fails: in a dry run too,
      // which otherwise calls no server.
      const auth = await credentialsFor(credentials, repoUrl);
      const createAuth = create
        ? await credentialsFor(credentials, create.url)
        : undefined;
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: would ${
            create ? `create "${name}" at ${create.url} and ` : ''
          }push ${ctx.input.sourcePath ?? 'the workspace'} to ${repoUrl}`,
        );
        done('dry-run');
        return;
      }

      // A retried task finds the checkpoint instead of an already filled repository.
      const { commitHash } = await ctx.checkpoint({
        key: `git-publish-${repoUrl}`,
        fn: async () => {
          if (create && createAuth) {
            await createRepository(create.url, name, createAuth);
          }
          await ensureEmpty(repoUrl, auth);
          const commit = await pushNewRepository({
            dir,
            repoUrl,
            auth,
            branch,
            message:
              ctx.input.commitMessage ??
              config.getOptionalString('scaffolder.defaultCommitMessage') ??
              'Initial commit',
            author: {
              name:
                ctx.input.gitAuthorName ??
                config.getOptionalString('scaffolder.defaultAuthor.name') ??
                'Scaffolder',
              email:
                ctx.input.gitAuthorEmail ??
                config.getOptionalString('scaffolder.defaultAuthor.email') ??
                'scaffolder@backstage.io',
            },
          });
          return { commitHash: commit };
        },
      });
      ctx.logger.info(`Published ${repoUrl} at ${commitHash}`);
      done(commitHash);
    },
  });
}
