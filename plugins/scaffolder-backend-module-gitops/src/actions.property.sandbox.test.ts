/* eslint jest/expect-expect: ["warn", { "assertFunctionNames": ["expect", "expectNothingChanged"] }] */
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  argo,
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import { parseKeyPath } from '@gitops-backstage/plugin-gitops-common';
import { isEntityRef } from '@gitops-backstage/plugin-gitops-node';
import fc from 'fast-check';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { createArgoCdApplicationCreateAction } from './actions/argocdApplicationCreate';
import { createChartValidateAction } from './actions/chartValidate';
import { createGitBranchAction } from './actions/gitBranch';
import { createGitPublishAction } from './actions/gitPublish';
import { createServicePlanAction } from './actions/servicePlan';
import { createValuesSetAction } from './actions/valuesSet';
import {
  branchName,
  creatableFile,
  directoryWithFiles,
  dnsName,
  httpUrl,
  inRepository,
  label,
  labelKey,
  labelValue,
  releaseName,
  repositoryPath,
  revision,
  valueFile,
} from './__testUtils__/acceptedValues';
import {
  expectRefused,
  FieldAttack,
  hostileInputs,
  hostileString,
  schemaRefusal,
  show,
} from './__testUtils__/hostileInput';
import {
  helmWrapper,
  repositories,
  sandboxState,
  treeState,
} from './__testUtils__/sideEffects';

// 500 hostile inputs per action against real Git, helm and the sandbox's Argo CD, on
// a loaded 2-core machine.
jest.setTimeout(900_000);

const RUNS = 500;
const IN_CLUSTER = 'https://kubernetes.default.svc';

/**
 * Every scaffolder action of the module, fed hostile values by fast-check, one field
 * at a time with the rest valid, with a permission policy that allows everything:
 * every run is refused (by the action's schema, as the scaffolder checks it, or by the
 * handler with a 4xx error naming the problem), and after all runs of an action no
 * repository or ref moved, no Argo CD Application or ApplicationSet changed, nothing
 * outside the workspace (nor in it) was written, helm never ran and no shell did.
 */
describe('hostile input to every scaffolder action (property test, sandbox)', () => {
  let root: string;
  let sandbox: Sandbox;
  let sandboxDir: string;
  let reposDir: string;
  let gitHost: string;
  let config: ConfigReader;
  let helm: Awaited<ReturnType<typeof helmWrapper>>;
  const targets = { canary: '', decoy: '' };
  const hostile = () => hostileString(targets);

  beforeAll(async () => {
    root = await fsp.realpath(
      await fsp.mkdtemp(path.join(os.tmpdir(), 'scaffolder-property-')),
    );
    targets.canary = path.join(root, 'pwned');
    targets.decoy = path.join(root, 'decoy.yaml');
    await fsp.writeFile(targets.decoy, 'decoy: untouched\n');
    helm = await helmWrapper(root);
    sandboxDir = path.join(root, 'sandbox');
    reposDir = path.join(sandboxDir, 'repos');
    sandbox = await startTestSandbox({ dir: sandboxDir });
    gitHost = new URL(sandbox.gitUrl).host;
    config = new ConfigReader({
      argocd: {
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
      },
      gitops: {
        helm: { command: helm.command },
        git: { credentials: [{ host: gitHost, password: sandbox.gitToken }] },
      },
    });
    await settled(sandbox);
  });
  afterAll(async () => {
    await sandbox?.stop();
    if (root) await fsp.rm(root, { recursive: true, force: true });
  });

  /** A workspace with these files, and a symlink `escape` out of it (to the test's root). */
  async function workspace(name: string, files: Record<string, string>) {
    const dir = path.join(root, 'work', name);
    await fsp.mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fsp.writeFile(path.join(dir, file), content);
    }
    await fsp.symlink(root, path.join(dir, 'escape'));
    return dir;
  }

  /** Runs the attacks, then checks that nothing moved, was written or ran. */
  async function expectNothingChanged(
    dir: string,
    attacks: () => Promise<void>,
  ) {
    const outside = () => treeState(root, [sandboxDir, helm.log, dir]);
    const before = {
      sandbox: await sandboxState(sandbox, reposDir),
      outside: await outside(),
      workspace: await treeState(dir),
      helm: await helm.calls(),
    };
    await attacks();
    expect(await sandboxState(sandbox, reposDir)).toEqual(before.sandbox);
    expect(await outside()).toEqual(before.outside);
    expect(await treeState(dir)).toEqual(before.workspace);
    expect(fs.existsSync(targets.canary)).toBe(false);
    // helm never ran on hostile input: nothing was spawned at all.
    expect(await helm.calls()).toBe(before.helm);
  }

  /** 500 runs of one action, each with one hostile field; `run` calls the handler. */
  async function attack<T>(options: {
    action: TemplateAction<any, any, any>;
    base: () => T;
    attacks: FieldAttack[];
    run: (input: T) => Promise<unknown>;
    alsoRefusal?: (error: any, attack: FieldAttack) => boolean;
    beforeRun?: () => void;
    afterRun?: (attack: FieldAttack) => Promise<void>;
  }) {
    const inputs = hostileInputs(options.base, options.attacks);
    await fc.assert(
      fc.asyncProperty(inputs.arbitrary, async generated => {
        const field = options.attacks[generated.index];
        fc.pre(!field.legit?.(generated.value));
        options.beforeRun?.();
        const input = inputs.inputOf(generated);
        await expectRefused({
          action: options.action,
          input,
          names: field.names,
          run: () => options.run(input),
          alsoRefusal: error => options.alsoRefusal?.(error, field) ?? false,
        });
        await options.afterRun?.(field);
      }),
      { numRuns: RUNS },
    );
  }

  /** A step's context in `dir` (one per workspace: making one costs more than a run). */
  const contexts = new Map<
    string,
    ReturnType<typeof createMockActionContext>
  >();
  const context = (dir: string, input: unknown) => {
    if (!contexts.has(dir)) {
      contexts.set(
        dir,
        createMockActionContext({
          workspacePath: dir,
          logger: mockServices.logger.mock(),
        }),
      );
    }
    return { ...contexts.get(dir)!, input: input as any };
  };

  it('gitops:service:plan: hostile names, environments, instances, namespaces, clusters, hosts, owners and URLs are refused', async () => {
    const action = createServicePlanAction({ config });
    const dir = await workspace('plan', {});
    const base = () => ({
      name: 'service-c',
      repoHost: 'git',
      gitBaseUrl: `${sandbox.gitUrl}/git`,
      gitRawUrlPattern: `${sandbox.gitUrl}/raw/{repo}/main/{path}`,
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

  /** URLs of the sandbox's Git server a template should not reach: others' repositories, other hosts and schemes. */
  const foreignUrls = (suffix: string) => {
    const { port } = new URL(sandbox.gitUrl);
    return fc.constantFrom(
      `http://localhost:${port}${suffix}`,
      `http://[::1]:${port}${suffix}`,
      `http://127.0.0.1:1${suffix}`,
      'http://169.254.169.254/latest/meta-data/',
      `ssh://git@${gitHost}${suffix}`,
      `git://${gitHost}${suffix}`,
      `ftp://${gitHost}${suffix}`,
      `file://${reposDir}/service-a-config.git`,
      `http://bot:${sandbox.gitToken}@${gitHost}${suffix}`,
    );
  };
  /** The name a repository URL ends in, when it is on the sandbox's Git server and not an existing repository. */
  const newRepositoryUrl = (v: unknown, existing: string[]) => {
    if (!httpUrl(v, gitHost) || /[?#]/.test(v as string)) return false;
    const name = new URL(v as string).pathname
      .replace(/\/+$/, '')
      .split('/')
      .pop()!
      .replace(/\.git$/, '');
    return (
      /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(name) && !existing.includes(name)
    );
  };

  it("gitops:git:publish: others' repositories, foreign hosts and schemes, credentials in URLs, paths out of the workspace and hostile branch names are refused, and no repository is created", async () => {
    const action = createGitPublishAction({ config });
    const dir = await workspace('publish', { 'config/README.md': '# new\n' });
    const repos = await repositories(reposDir);
    const existing = repos.map(r => r.replace(/\.git$/, ''));
    const base = () => ({
      repoUrl: sandbox.repoUrl('property-new'),
      createRepository: { url: `${sandbox.gitUrl}/api/repos` },
      sourcePath: './config',
      commitMessage: 'Initial',
    });
    // Control: the base is valid (a dry run, which creates nothing).
    await action.handler({ ...context(dir, base()), isDryRun: true });
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        afterRun: async () => {
          const now = await repositories(reposDir);
          if (show(now) !== show(repos)) {
            throw new Error(`a repository was created: ${show(now)}`);
          }
        },
        attacks: [
          {
            field: 'repoUrl',
            values: fc.oneof(
              hostile(),
              hostile().map(v => `${sandbox.gitUrl}/git/${v}.git`),
              hostile().map(
                v => `${sandbox.gitUrl}/git/${encodeURIComponent(v)}.git`,
              ),
              fc.constantFrom(...existing.map(r => sandbox.repoUrl(r))),
              foreignUrls('/git/property-new.git'),
            ),
            legit: v => newRepositoryUrl(v, existing),
            names: /repoUrl|[Rr]epository|Git credentials/,
          },
          {
            field: 'createRepository.url',
            values: fc.oneof(hostile(), foreignUrls('/api/repos')),
            legit: v => httpUrl(v, gitHost),
            names: /createRepository|Git credentials/,
          },
          {
            field: 'sourcePath',
            values: hostile(),
            legit: v => directoryWithFiles(dir, v),
            names: /sourcePath/,
          },
          {
            field: 'defaultBranch',
            values: hostile(),
            legit: branchName,
            names: /defaultBranch/,
          },
        ],
      }),
    );
  });

  it('gitops:git:branch: foreign hosts and schemes, paths out of the workspace or the clone, and hostile branch names are refused, and no ref moves', async () => {
    const action = createGitBranchAction({ config });
    const dir = await workspace('branch', {
      'proposal/chart/values-dev-sensor-7.yaml': 'nodeSelector: {}\n',
    });
    const existing = (await repositories(reposDir)).map(r =>
      r.replace(/\.git$/, ''),
    );
    const base = () => ({
      repoUrl: sandbox.repoUrl('service-a-config'),
      sourcePath: './proposal',
      branch: 'property-branch',
      mustExist: ['chart/values-dev.yaml'],
      commitMessage: 'Add sensor-7',
    });
    // Control: the base is valid (a dry run, which pushes nothing).
    await action.handler({ ...context(dir, base()), isDryRun: true });
    await expectNothingChanged(dir, () =>
      attack({
        action,
        base,
        run: input => action.handler(context(dir, input)),
        attacks: [
          {
            field: 'repoUrl',
            values: fc.oneof(
              hostile(),
              hostile().map(v => `${sandbox.gitUrl}/git/${v}.git`),
              foreignUrls('/git/service-a-config.git'),
            ),
            legit: v =>
              httpUrl(v, gitHost) &&
              existing.some(r => v === sandbox.repoUrl(r)),
            names: /repoUrl|Cannot reach|[Rr]epository|Git credentials/,
          },
          {
            field: 'sourcePath',
            values: hostile(),
            legit: v => directoryWithFiles(dir, v),
            names: /sourcePath/,
          },
          {
            field: 'branch',
            values: fc.oneof(
              hostile(),
              fc.constantFrom('main', 'HEAD', 'a/../../x'),
            ),
            legit: v => branchName(v) && v !== 'main',
            names: /branch/,
          },
          {
            field: 'baseBranch',
            values: hostile(),
            legit: branchName,
            names: /baseBranch/,
          },
          {
            field: 'mustExist.0',
            values: hostile(),
            legit: repositoryPath,
            names: /mustExist/,
          },
        ],
      }),
    );
  });

  it('argocd:application:create: foreign Applications, entities, projects and destinations, hostile names, labels and sources are refused before Argo CD is asked to create anything', async () => {
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
