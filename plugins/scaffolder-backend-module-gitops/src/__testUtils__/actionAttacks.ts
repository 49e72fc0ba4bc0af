import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import { createMockActionContext } from '@backstage/plugin-scaffolder-node-test-utils';
import {
  Sandbox,
  settled,
  startTestSandbox,
} from '@gitops-backstage/gitops-sandbox';
import fc from 'fast-check';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  expectRefused,
  FieldAttack,
  hostileInputs,
  hostileString,
} from './hostileInput';
import { helmWrapper, sandboxState, treeState } from './sideEffects';
import { sandboxArgoCdConfig } from './scaffolderBackend';

/** Hostile inputs per action, against real Git, helm and the sandbox's Argo CD. */
export const RUNS = 500;

/**
 * What the scaffolder actions' property tests share: a sandbox, a config naming its
 * Argo CD instances and Git credentials, a helm that logs its calls, a canary file no
 * attack may create and a decoy no attack may change, and `attack`, which runs an
 * action `RUNS` times with one hostile field each and requires each run refused.
 * Registers its own beforeAll and afterAll; `state` is filled once they ran.
 */
export function actionAttacks(suite: string) {
  const state = {} as {
    root: string;
    sandbox: Sandbox;
    sandboxDir: string;
    reposDir: string;
    gitHost: string;
    config: ConfigReader;
    helm: Awaited<ReturnType<typeof helmWrapper>>;
  };
  const targets = { canary: '', decoy: '' };
  const hostile = () => hostileString(targets);

  beforeAll(async () => {
    state.root = await fsp.realpath(
      await fsp.mkdtemp(path.join(os.tmpdir(), `scaffolder-${suite}-`)),
    );
    targets.canary = path.join(state.root, 'pwned');
    targets.decoy = path.join(state.root, 'decoy.yaml');
    await fsp.writeFile(targets.decoy, 'decoy: untouched\n');
    state.helm = await helmWrapper(state.root);
    state.sandboxDir = path.join(state.root, 'sandbox');
    state.reposDir = path.join(state.sandboxDir, 'repos');
    const sandbox = await startTestSandbox({ dir: state.sandboxDir });
    state.sandbox = sandbox;
    state.gitHost = new URL(sandbox.gitUrl).host;
    state.config = new ConfigReader({
      argocd: sandboxArgoCdConfig(sandbox),
      gitops: {
        helm: { command: state.helm.command },
        git: {
          credentials: [{ host: state.gitHost, password: sandbox.gitToken }],
        },
      },
    });
    await settled(sandbox);
  });
  afterAll(async () => {
    await state.sandbox?.stop();
    if (state.root) await fsp.rm(state.root, { recursive: true, force: true });
  });

  /** A workspace with these files, and a symlink `escape` out of it (to the test's root). */
  async function workspace(name: string, files: Record<string, string>) {
    const dir = path.join(state.root, 'work', name);
    await fsp.mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await fsp.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fsp.writeFile(path.join(dir, file), content);
    }
    await fsp.symlink(state.root, path.join(dir, 'escape'));
    return dir;
  }

  /** Runs the attacks, then checks that nothing moved, was written or ran. */
  async function expectNothingChanged(
    dir: string,
    attacks: () => Promise<void>,
  ) {
    const outside = () =>
      treeState(state.root, [state.sandboxDir, state.helm.log, dir]);
    const before = {
      sandbox: await sandboxState(state.sandbox, state.reposDir),
      outside: await outside(),
      workspace: await treeState(dir),
      helm: await state.helm.calls(),
    };
    await attacks();
    expect(await sandboxState(state.sandbox, state.reposDir)).toEqual(
      before.sandbox,
    );
    expect(await outside()).toEqual(before.outside);
    expect(await treeState(dir)).toEqual(before.workspace);
    expect(fs.existsSync(targets.canary)).toBe(false);
    // helm never ran on hostile input: nothing was spawned at all.
    expect(await state.helm.calls()).toBe(before.helm);
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

  return {
    state,
    targets,
    hostile,
    workspace,
    expectNothingChanged,
    attack,
    context,
  };
}
