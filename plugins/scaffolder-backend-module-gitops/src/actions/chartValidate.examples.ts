import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Validate the chart of a new config repository with the values file of each environment (values-dev.yaml, values-staging.yaml, values-prod.yaml)',
    example: yaml.stringify({
      steps: [
        {
          id: 'validate',
          name: 'Validate the chart',
          action: 'gitops:chart:validate',
          input: {
            chartPath: 'config/chart',
            environments: ['dev', 'staging', 'prod'],
            releaseName: '${{ parameters.name }}',
            namespace: '${{ parameters.name }}-{environment}',
          },
        },
      ],
    }),
  },
  {
    description:
      'Environments with their own values files (several, or none: the chart defaults alone), and helm lint --strict',
    example: yaml.stringify({
      steps: [
        {
          id: 'validate',
          name: 'Validate the chart',
          action: 'gitops:chart:validate',
          input: {
            chartPath: 'deploy/chart',
            releaseName: 'checkout',
            strict: true,
            environments: [
              { name: 'preview', valueFiles: [] },
              {
                name: 'prod-eu',
                valueFiles: ['values-prod.yaml', 'values-prod-eu.yaml'],
                namespace: 'checkout',
              },
            ],
          },
        },
      ],
    }),
  },
];
