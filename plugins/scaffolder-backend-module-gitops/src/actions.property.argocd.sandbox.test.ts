/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectNothingChanged"] }] */
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { argo } from '@gitops-backstage/gitops-sandbox';
import { isEntityRef } from '@gitops-backstage/plugin-gitops-node';
import fc from 'fast-check';
import { createArgoCdApplicationCreateAction } from './actions/argocdApplicationCreate';
import {
  inRepository,
  label,
  labelKey,
  labelValue,
  releaseName,
  revision,
  valueFile,
} from './__testUtils__/acceptedValues';
import { actionAttacks } from './__testUtils__/actionAttacks';

// Every hostile input against real Git, helm and the sandbox, on a loaded 2-core machine.
jest.setTimeout(900_000);

const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * Scaffolder actions of the module fed hostile values by fast-check, one field at a
 * time with the rest valid, with a permission policy that allows everything: every run
 * is refused (by the action's schema, as the scaffolder checks it, or by the handler
 * with a 4xx error naming the problem), and after all runs of an action no repository
 * or ref moved, no Argo CD Application or ApplicationSet changed, nothing outside the
 * workspace (nor in it) was written, helm never ran and no shell did.
 */
describe('hostile input to argocd:application:create (property test, sandbox)', () => {
  const {
    state,
    hostile,
    workspace,
    expectNothingChanged,
    attack,
    context,
    targets,
  } = actionAttacks('argocd');

  it('argocd:application:create: foreign Applications, entities, projects and destinations, hostile names, labels and sources are refused before Argo CD is asked to create anything', async () => {
    const { sandbox, config } = state;
    const dir = await workspace('argocd', {});
    const payments = {
      name: 'payments',
      owners: ['group:default/team-payments'],
      destinations: [{ server: IN_CLUSTER, namespace: 'payments-*' }],
      sourceRepos: [sandbox.repoUrl('service-a-config')],
    };
    const action = createArgoCdApplicationCreateAction({
      config: new ConfigReader({
        argocd: config.getConfig('argocd').get(),
        gitops: {
          projects: [
            {
              name: 'checkout',
              owners: ['group:default/team-checkout'],
              destinations: [{ server: IN_CLUSTER, namespace: 'checkout-*' }],
              sourceRepos: [`${sandbox.gitUrl}/git/*`],
            },
            payments,
          ],
        },
      }),
      // The worst a portal may configure: every permission granted.
      permissions: mockServices.permissions({ result: AuthorizeResult.ALLOW }),
      userInfo: mockServices.userInfo({
        ownershipEntityRefs: [
          'user:default/mallory',
          'group:default/team-payments',
        ],
      }),
      auditor: mockServices.auditor.mock(),
    });
    const onMain = (
      await argo(sandbox, 'main', '/api/v1/applications')
    ).body.items.map((a: any) => a.metadata.name) as string[];
    const base = () => ({
      instance: 'main',
      name: 'payments-svc-dev',
      entityRef: 'component:default/payments-svc',
      project: 'payments',
      labels: {
        'app.kubernetes.io/name': 'payments-svc',
        'gitops/environment': 'dev',
      } as Record<string, unknown>,
      source: {
        repoURL: sandbox.repoUrl('service-a-config'),
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: 'payments-svc', valueFiles: ['values-dev.yaml'] },
      },
      destination: { server: IN_CLUSTER, namespace: 'payments-dev' } as Record<
        string,
        unknown
      >,
    });
    const setBase = () => ({
      ...base(),
      name: 'payments-svc',
      labels: { 'gitops/environment': '{{environment}}' },
      source: {
        ...base().source,
        helm: { releaseName: 'payments-svc', valueFiles: ['{{valuesFile}}'] },
      },
      destination: { server: IN_CLUSTER, namespace: '{{namespace}}' },
      applicationSet: {
        applicationName: 'payments-svc-{{environment}}',
        elements: [
          {
            environment: 'dev',
            namespace: 'payments-dev',
            valuesFile: 'values-dev.yaml',
          },
        ],
      },
    });
    const newApplication = (v: unknown) => label(v) && !onMain.includes(v);
    const paymentsNamespace = (v: unknown) =>
      label(v) && v.startsWith('payments-');
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    /** A run by mallory of team-payments, who has project payments and nothing else. */
    const run = (input: unknown, isDryRun = false) =>
      action.handler({
        ...context(dir, input),
        isDryRun,
        getInitiatorCredentials: async () =>
          mockCredentials.user('user:default/mallory'),
      } as any);
    // Control: the base is valid, and so is the set (dry runs, which call no Argo CD).
    await run(base(), true);
    await run(setBase(), true);
    const creates = () =>
      fetchSpy.mock.calls.filter(
        ([url, init]) =>
          init?.method === 'POST' && /\/api\/v1\/application/.test(String(url)),
      ).length;
    try {
      await expectNothingChanged(dir, () =>
        attack({
          action,
          base,
          run,
          beforeRun: () => fetchSpy.mockClear(),
          // Argo CD itself refuses to replace an existing Application's spec without upsert.
          alsoRefusal: (error, field) =>
            field.field === 'name' &&
            error.name === 'ArgoCdRefusedError' &&
            error.status < 500,
          afterRun: async field => {
            const asked = creates();

            if (asked > 0 && field.field !== 'name') {
              throw new Error(
                `Argo CD was asked to create (${asked}) on hostile ${field.field}`,
              );
            }
          },
          attacks: [
            {
              field: 'instance',
              values: fc.oneof(
                hostile(),
                fc.constantFrom('Main', 'staging', 'kind-local'),
              ),
              // Empty: the first instance, as when not given.
              legit: v => ['', 'main', 'prod'].includes(v),
              names: /instance/,
            },
            {
              field: 'name',
              values: fc.oneof(hostile(), fc.constantFrom(...onMain)),
              legit: newApplication,
              names: /name|Application|exists/,
            },
            {
              field: 'name',
              base: () => ({ ...base(), upsert: true }),
              values: fc.oneof(hostile(), fc.constantFrom(...onMain)),
              legit: newApplication,
              names: /name|Application|exists/,
            },
            {
              field: 'namespace',
              values: hostile(),
              legit: label,
              names: /namespace/,
            },
            {
              field: 'entityRef',
              values: fc.oneof(
                hostile(),
                fc.constantFrom(
                  'service-b',
                  'component:service-b',
                  'component:default/',
                ),
              ),
              legit: v => typeof v === 'string' && isEntityRef(v),
              names: /entityRef/,
            },
            {
              field: 'project',
              values: fc.oneof(
                hostile(),
                fc.constantFrom('checkout', 'default', 'Payments'),
              ),
              legit: v => v === 'payments',
              names: /project/,
            },
            {
              field: 'labels',
              values: hostile().map(key => ({
                ...base().labels,
                [key]: 'dev',
              })),
              legit: v => Object.keys(v).every(labelKey),
              names: /label/,
            },
            {
              field: 'labels',
              values: hostile().map(value => ({
                ...base().labels,
                'gitops/environment': value,
              })),
              legit: v => labelValue(v['gitops/environment']),
              names: /label/,
            },
            {
              field: 'source.repoURL',
              values: fc.oneof(
                hostile(),
                fc.constantFrom(
                  sandbox.repoUrl('service-b-config'),
                  `${sandbox.gitUrl}/git/service-a-config.git/../service-b-config.git`,
                  `--upload-pack=touch ${targets.canary}`,
                ),
              ),
              legit: v => v === sandbox.repoUrl('service-a-config'),
              names: /repoURL|repository/,
            },
            {
              field: 'source.path',
              values: hostile(),
              legit: inRepository,
              names: /path/,
            },
            {
              field: 'source.targetRevision',
              values: fc.oneof(
                hostile(),
                fc.constantFrom(`--upload-pack=touch ${targets.canary}`, '-h'),
              ),
              legit: revision,
              names: /targetRevision/,
            },
            {
              field: 'source.helm.releaseName',
              values: hostile(),
              legit: releaseName,
              names: /releaseName/,
            },
            {
              field: 'source.helm.valueFiles',
              values: hostile().map(file => [file]),
              legit: v => valueFile(v[0], 'chart'),
              names: /valueFiles/,
            },
            {
              field: 'destination.server',
              values: fc.oneof(
                hostile(),
                fc.constantFrom('https://prod.example.com', `${IN_CLUSTER}/`),
              ),
              legit: v => v === IN_CLUSTER,
              names: /destination|deploy/,
            },
            {
              field: 'destination',
              values: hostile().map(name => ({
                name,
                namespace: 'payments-dev',
              })),
              // Empty: the in-cluster default, as when not given.
              legit: v => v.name === '',
              names: /destination|deploy/,
            },
            {
              field: 'destination.namespace',
              values: fc.oneof(
                hostile(),
                hostile().map(v => `payments-${v}`),
              ),
              legit: paymentsNamespace,
              names: /namespace|deploy/,
            },
            {
              field: 'applicationSet.applicationName',
              base: setBase,
              values: fc.oneof(
                hostile(),
                hostile().map(v => `payments-{{environment}}${v}`),
              ),
              legit: v =>
                typeof v === 'string' &&
                newApplication(v.replaceAll('{{environment}}', 'dev')),
              names: /applicationName|Application name|elements/,
            },
            {
              field: 'applicationSet.elements.0.namespace',
              base: setBase,
              values: fc.oneof(
                hostile(),
                hostile().map(v => `payments-${v}`),
              ),
              legit: paymentsNamespace,
              names: /namespace|deploy/,
            },
            {
              field: 'applicationSet.elements.0.valuesFile',
              base: setBase,
              values: hostile(),
              legit: v => valueFile(v, 'chart'),
              names: /valueFiles|elements/,
            },
            {
              field: 'applicationSet.elements.0.environment',
              base: setBase,
              values: hostile(),
              legit: v => label(v) && newApplication(`payments-svc-${v}`),
              names: /label|name|elements/,
            },
          ],
        }),
      );
    } finally {
      fetchSpy.mockRestore();
    }
  });
});
