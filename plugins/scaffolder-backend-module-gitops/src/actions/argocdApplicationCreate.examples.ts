import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import { stringify } from 'yaml';

/** Examples shown in the scaffolder's action list. */
export const examples: TemplateExample[] = [
  {
    description:
      'Register the dev environment of a service, synced automatically',
    example: stringify({
      steps: [
        {
          id: 'argocd-dev',
          action: 'argocd:application:create',
          input: {
            instance: 'main',
            name: 'service-c-dev',
            entityRef: 'component:default/service-c',
            project: 'checkout',
            labels: {
              'app.kubernetes.io/name': 'service-c',
              'gitops/environment': 'dev',
            },
            source: {
              repoURL: 'https://git.example.com/checkout/service-c-config.git',
              targetRevision: 'main',
              path: 'chart',
              helm: {
                releaseName: 'service-c',
                valueFiles: ['values-dev.yaml'],
              },
            },
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: 'checkout-dev',
            },
            automated: true,
          },
        },
      ],
    }),
  },
  {
    description:
      'Update service-c-dev (upsert): allowed only because it names component:default/service-c already',
    example: stringify({
      steps: [
        {
          id: 'argocd-dev-update',
          action: 'argocd:application:create',
          input: {
            instance: 'main',
            name: 'service-c-dev',
            entityRef: 'component:default/service-c',
            project: 'checkout',
            source: {
              repoURL: 'https://git.example.com/checkout/service-c-config.git',
              targetRevision: 'main',
              path: 'chart',
              helm: { valueFiles: ['values-dev.yaml', 'values-dev-eu.yaml'] },
            },
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: 'checkout-dev',
            },
            upsert: true,
          },
        },
      ],
    }),
  },
  {
    description:
      'Multi-source: a shared chart with the values file from the config repository, synced by hand',
    example: stringify({
      steps: [
        {
          id: 'argocd-prod',
          action: 'argocd:application:create',
          input: {
            instance: 'prod',
            name: 'service-c-prod',
            entityRef: 'component:default/service-c',
            project: 'checkout',
            labels: { 'gitops/environment': 'prod' },
            sources: [
              {
                repoURL: 'https://git.example.com/platform/charts.git',
                targetRevision: 'v2.3.0',
                path: 'charts/web-service',
                helm: { valueFiles: ['$values/values-prod.yaml'] },
              },
              {
                repoURL:
                  'https://git.example.com/checkout/service-c-config.git',
                targetRevision: 'main',
                ref: 'values',
              },
            ],
            destination: { name: 'prod-eu', namespace: 'checkout' },
            syncPolicy: { syncOptions: ['CreateNamespace=true'] },
          },
        },
      ],
    }),
  },
  {
    description:
      'An ApplicationSet generating service-c-dev and service-c-staging: {{environment}} and {{namespace}} come from each element',
    example: stringify({
      steps: [
        {
          id: 'argocd-set',
          action: 'argocd:application:create',
          input: {
            instance: 'main',
            name: 'service-c',
            entityRef: 'component:default/service-c',
            project: 'checkout',
            labels: {
              'app.kubernetes.io/name': 'service-c',
              'gitops/environment': '{{environment}}',
            },
            source: {
              repoURL: 'https://git.example.com/checkout/service-c-config.git',
              targetRevision: 'main',
              path: 'chart',
              helm: {
                releaseName: 'service-c',
                valueFiles: ['values-{{environment}}.yaml'],
              },
            },
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: '{{namespace}}',
            },
            automated: true,
            applicationSet: {
              applicationName: 'service-c-{{environment}}',
              elements: [
                { environment: 'dev', namespace: 'checkout-dev' },
                { environment: 'staging', namespace: 'checkout-staging' },
              ],
            },
          },
        },
      ],
    }),
  },
];
