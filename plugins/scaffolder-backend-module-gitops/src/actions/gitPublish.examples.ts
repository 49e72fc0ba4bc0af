import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

/** Examples shown in the scaffolder's action list. */
export const examples: TemplateExample[] = [
  {
    description:
      'Create the config repository on the sandbox Git server and push ./config to it',
    example: stringify({
      steps: [
        {
          id: 'publish-config',
          action: 'gitops:git:publish',
          input: {
            sourcePath: './config',
            repoUrl: 'http://127.0.0.1:7090/git/service-c-config.git',
            createRepository: { url: 'http://127.0.0.1:7090/api/repos' },
            commitMessage: 'Initial service-c config',
          },
        },
      ],
    }),
  },
  {
    description:
      'Push to a server that creates repositories on push (GitLab push-to-create), as a given author',
    example: stringify({
      steps: [
        {
          id: 'publish-app',
          action: 'gitops:git:publish',
          input: {
            sourcePath: './app',
            repoUrl: 'https://gitlab.example.com/checkout/service-c.git',
            defaultBranch: 'main',
            gitAuthorName: 'Platform Bot',
            gitAuthorEmail: 'platform-bot@example.com',
          },
        },
      ],
    }),
  },
];
