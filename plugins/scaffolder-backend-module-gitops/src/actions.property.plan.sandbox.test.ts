/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectNothingChanged"] }] */
import { parseKeyPath } from '@gitops-backstage/plugin-gitops-common';
import fc from 'fast-check';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { createChartValidateAction } from './actions/chartValidate';
import { createServicePlanAction } from './actions/servicePlan';
import { createValuesSetAction } from './actions/valuesSet';
import {
  creatableFile,
  dnsName,
  httpUrl,
  label,
  releaseName,
} from './__testUtils__/acceptedValues';
import { actionAttacks, RUNS } from './__testUtils__/actionAttacks';
import { schemaRefusal, show } from './__testUtils__/hostileInput';
import { treeState } from './__testUtils__/sideEffects';

// Every hostile input against real Git, helm and the sandbox, on a loaded 2-core machine.
jest.setTimeout(900_000);

/**
 * Scaffolder actions of the module fed hostile values by fast-check, one field at a
 * time with the rest valid, with a permission policy that allows everything: every run
 * is refused (by the action's schema, as the scaffolder checks it, or by the handler
 * with a 4xx error naming the problem), and after all runs of an action no repository
 * or ref moved, no Argo CD Application or ApplicationSet changed, nothing outside the
 * workspace (nor in it) was written, helm never ran and no shell did.
 */
describe('hostile input to the plan, chart and values actions (property test, sandbox)', () => {
  const {
    state,
    hostile,
    workspace,
    expectNothingChanged,
    attack,
    context,
    targets,
  } = actionAttacks('plan');

  it('gitops:service:plan: hostile names, environments, instances, namespaces, clusters, hosts, owners and URLs are refused', async () => {
    const { sandbox, config } = state;
    const action = createServicePlanAction({ config });
    const dir = await workspace('plan', {});
    const base = () => ({
      name: 'service-c',
      repoHost: 'git',
      gitBaseUrl: `${sandbox.gitUrl}/git`,
      gitRawUrlPattern: `${sandbox.gitUrl}/git/{repo}/raw/main/{path}`,
      environments: [
        { name: 'dev', instance: 'main' },
        { name: 'staging', instance: 'main' },
        { name: 'prod', instance: 'prod' },
      ],
    });
    const onGithub = () => ({
      ...base(),
      repoHost: 'github',
      repoOwner: 'acme',
    });
    const fill = (pattern: string, env: string) =>
      pattern
        .replaceAll('{service}', 'service-c')
        .replaceAll('{environment}', env);
    const everyEnv = (pattern: unknown, ok: (v: string) => boolean) =>
      typeof pattern === 'string' &&
      ['dev', 'staging', 'prod'].every(env => ok(fill(pattern, env)));
    await action.handler(context(dir, base())); // control: the base is valid
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        attacks: [
          {
            field: 'name',
            values: hostile(),
            legit: v => label(v) && v.length <= 50,
            names: /name/,
          },
          {
            field: 'environments.0.name',
            values: hostile(),
            legit: v =>
              label(v) && v.length <= 53 && !['staging', 'prod'].includes(v),
            names: /nvironment|amespace/,
          },
          {
            // With its own namespace: the name is checked for itself.
            field: 'environments.0',
            values: hostile().map(name => ({
              name,
              instance: 'main',
              namespace: 'checkout',
            })),
            legit: v => label(v.name) && !['staging', 'prod'].includes(v.name),
            names: /nvironment/,
          },
          {
            field: 'environments.1.instance',
            values: fc.oneof(
              hostile(),
              fc.constantFrom('unknown', 'Main', 'main '),
            ),
            legit: v => ['main', 'prod'].includes(v),
            names: /instance/,
          },
          {
            field: 'environments.0.namespace',
            values: hostile(),
            legit: label,
            names: /amespace/,
          },
          {
            field: 'environments.2.cluster',
            values: fc.oneof(
              hostile(),
              fc.constantFrom(
                // An attack value, never run.
                // eslint-disable-next-line no-script-url
                'javascript:alert(1)',
                'https://bot:secret@k8s.example.com',
              ),
            ),
            legit: v => httpUrl(v),
            names: /cluster/,
          },
          {
            field: 'namespacePattern',
            values: hostile(),
            legit: v => everyEnv(v, label),
            names: /amespace/,
          },
          {
            field: 'ingressHostPattern',
            values: hostile(),
            legit: v => v === '' || everyEnv(v, dnsName),
            names: /ingressHost/,
          },
          {
            field: 'gitBaseUrl',
            values: hostile(),
            legit: v => httpUrl(v) && !/[?#]/.test(v),
            names: /gitBaseUrl/,
          },
          {
            field: 'gitRawUrlPattern',
            values: hostile(),
            legit: v =>
              typeof v === 'string' &&
              httpUrl(v.replaceAll('{repo}', 'r').replaceAll('{path}', 'p')),
            names: /gitRawUrlPattern/,
          },
          {
            field: 'repoOwner',
            base: onGithub,
            values: hostile(),
            legit: v =>
              typeof v === 'string' &&
              v.length <= 255 &&
              /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(
                v,
              ),
            names: /repoOwner/,
          },
        ],
      }),
    );
  });

  it('gitops:chart:validate: hostile chart paths, release names, namespaces, environments and values files are refused before helm runs', async () => {
    const { config } = state;
    const action = createChartValidateAction({ config });
    const fixture = path.join(
      __dirname,
      'actions',
      '__fixtures__',
      'charts',
      'service',
    );
    const dir = await workspace('chart', {});
    await fsp.cp(fixture, path.join(dir, 'config/chart'), { recursive: true });
    const chartFiles = (await fsp.readdir(fixture, { recursive: true })).map(
      f => f.split(path.sep).join('/'),
    );
    /** A file of the chart, named relative to it: what a values file may be. */
    const chartFile = (v: unknown) =>
      typeof v === 'string' &&
      !v.includes('\0') &&
      chartFiles.includes(path.posix.normalize(v));
    const base = () => ({
      chartPath: 'config/chart',
      environments: ['dev', 'staging'] as unknown[],
      releaseName: 'checkout',
    });
    const everyEnv = (pattern: unknown, ok: (v: string) => boolean) =>
      typeof pattern === 'string' &&
      ['dev', 'staging'].every(env =>
        ok(pattern.replaceAll('{environment}', env)),
      );
    await action.handler(context(dir, base())); // control: the base is valid
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        attacks: [
          {
            field: 'chartPath',
            values: hostile(),
            legit: v =>
              typeof v === 'string' &&
              path.posix.normalize(`${v}/`) === 'config/chart/',
            names: /chartPath|Helm chart/,
          },
          {
            field: 'releaseName',
            values: hostile(),
            legit: releaseName,
            names: /releaseName/,
          },
          {
            field: 'namespace',
            values: hostile(),
            legit: v => everyEnv(v, label),
            names: /namespace/,
          },
          {
            field: 'valuesFilePattern',
            values: hostile(),
            legit: v => everyEnv(v, chartFile),
            names: /valuesFilePattern|[Vv]alues file/,
          },
          {
            // An unknown environment, or one whose name is an attack.
            field: 'environments.0',
            values: hostile(),
            legit: v => ['dev', 'prod'].includes(v),
            names: /nvironment|namespace/,
          },
          {
            field: 'environments.0',
            values: hostile().map(file => ({
              name: 'dev',
              valueFiles: [file],
            })),
            legit: v => chartFile(v.valueFiles[0]),
            names: /[Vv]alues file|environments\[0\]/,
          },
          {
            field: 'environments.0',
            values: hostile().map(namespace => ({ name: 'dev', namespace })),
            legit: v => label(v.namespace),
            names: /namespace|environments\[0\]/,
          },
        ],
      }),
    );
  });

  it('gitops:values:set: paths out of the workspace (relative, absolute, through a symlink) are refused', async () => {
    const action = createValuesSetAction();
    const dir = await workspace('values', {
      'config/values-dev.yaml': 'image:\n  tag: "0.1.0"\n',
    });
    const base = () => ({
      path: 'config/values-dev.yaml',
      values: { 'image.tag': '1.2.3' },
    });
    await action.handler(context(dir, base())); // control: the base is valid
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        attacks: [
          {
            field: 'path',
            values: hostile(),
            legit: v =>
              typeof v === 'string' &&
              path.posix.normalize(v) === 'config/values-dev.yaml',
            names: /instance\.path|^path "|in the workspace/,
          },
          {
            field: 'path',
            base: () => ({ ...base(), createIfMissing: true }),
            values: hostile(),
            legit: v => creatableFile(dir, v),
            names: /instance\.path|^path "|in the workspace/,
          },
        ],
      }),
    );
  });

  it('gitops:values:set: hostile key paths (YAML and shell metacharacters, prototype names, unicode, 64 KB) are refused or set exactly that key, nothing else', async () => {
    const { root, sandboxDir, helm } = state;
    const action = createValuesSetAction();
    const dir = await workspace('values-keys', {});
    const file = path.join(dir, 'values-dev.yaml');
    const original =
      '# dev\nimage:\n  repository: registry.example.com/service-a\n  tag: "0.1.0" # set by CI\nreplicaCount: 1\n';
    const originalDoc = parseDocument(original);
    let written = true;
    const leaves = [
      ['image', 'repository'],
      ['image', 'tag'],
      ['replicaCount'],
    ];
    const outside = () => treeState(root, [sandboxDir, helm.log, dir]);
    const before = await outside();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          hostile(),
          fc.constantFrom(
            'image.tag\nreplicaCount',
            'image: {tag: evil}',
            '? x',
            '- x',
            '&anchor',
            '*alias',
            '!!python/object/apply:os.system',
            '#comment',
            '__proto__.polluted',
            'constructor.prototype.polluted',
            'image.tag.x',
            'image..tag',
          ),
        ),
        async key => {
          // A refused run writes nothing: only a set file is put back.
          if (written) await fsp.writeFile(file, original);
          written = false;
          const input = { path: 'values-dev.yaml', values: { [key]: 'set' } };
          if (schemaRefusal(action, input) !== undefined) return;
          const error = await action.handler(context(dir, input)).then(
            () => undefined,
            (e: Error) => e,
          );
          if (error) {
            if (
              error.name !== 'InputError' ||
              !/key path|Cannot set/.test(error.message)
            ) {
              throw new Error(`${show(key)}: ${error.name}: ${error.message}`);
            }
            return;
          }
          written = true;
          // Set: the file parses, holds the value at exactly that key path, and
          // every other value as it was.
          const doc = parseDocument(await fsp.readFile(file, 'utf8'));
          const keyPath = parseKeyPath(key);
          const unrelated = (leaf: string[]) =>
            !leaf.every((k, n) => keyPath[n] === undefined || keyPath[n] === k);
          if (
            doc.errors.length > 0 ||
            doc.getIn(keyPath) !== 'set' ||
            leaves
              .filter(unrelated)
              .some(leaf => doc.getIn(leaf) !== originalDoc.getIn(leaf))
          ) {
            throw new Error(`setting ${show(key)} wrote ${show(String(doc))}`);
          }
          if (({} as any).polluted !== undefined) {
            throw new Error(`${show(key)} polluted Object.prototype`);
          }
        },
      ),
      { numRuns: RUNS },
    );
    expect(await outside()).toEqual(before);
    expect(fs.existsSync(targets.canary)).toBe(false);
  });
});
