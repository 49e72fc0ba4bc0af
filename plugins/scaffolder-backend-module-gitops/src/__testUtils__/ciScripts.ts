import { execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, YAMLSeq } from 'yaml';
import { renderApp, RenderOptions } from './renderTemplates';

const exec = promisify(execFile);

const onPath = (tool: string) =>
  spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

const missingTools = (tools: string[]) => tools.filter(t => !onPath(t));

/**
 * `describe` when every tool is on the PATH, or in CI (where a missing tool is a
 * failure: `.ci/run` and npm install them; see assertTools); on a developer's machine
 * without one, `describe.skip` and a notice saying which.
 */
export function describeWithTools(tools: string[]): jest.Describe {
  const missing = missingTools(tools);
  if (!missing.length || process.env.CI === 'true') return describe;
  // eslint-disable-next-line no-console
  console.warn(
    `Skipping tests that need ${missing.join(
      ', ',
    )}: not on the PATH (CI installs them)`,
  );
  return describe.skip;
}

/** Fails (in a beforeAll) when a tool is missing, naming it. */
export function assertTools(tools: string[]) {
  const missing = missingTools(tools);
  if (missing.length) {
    throw new Error(
      `${missing.join(', ')} missing: .ci/run installs them on a fresh machine`,
    );
  }
}

/** GitLab's `!reference [job, key]`, kept as a plain tagged list. */
const reference = {
  tag: '!reference',
  collection: 'seq' as const,
  resolve: (seq: YAMLSeq) => ({ reference: seq.toJSON() }),
};

/** Parses a GitHub workflow or GitLab pipeline as the CI does (merge keys, !reference). */
export function parseCi(text: string) {
  return parse(text, { merge: true, customTags: [reference] });
}

/** The `run:` of the step of `job` whose name starts with `stepName` (or whose id is it). */
/** A variant's app repository rendered, with its GitHub workflow and GitLab pipeline parsed. */
export async function renderCi(workspace: string, options: RenderOptions) {
  const app = await renderApp(workspace, options);
  const read = (file: string) => fs.readFile(path.join(app.dir, file), 'utf8');
  return {
    app,
    workflow: parseCi(await read('.github/workflows/ci.yaml')),
    pipeline: parseCi(await read('.gitlab-ci.yml')),
  };
}

export function githubStepScript(
  workflow: any,
  job: string,
  stepName: string,
): string {
  const step = (workflow.jobs[job]?.steps ?? []).find(
    (s: any) => s.id === stepName || s.name?.startsWith(stepName),
  );
  if (!step?.run) throw new Error(`no run step "${stepName}" in job ${job}`);
  return step.run;
}

/** before_script and script of a GitLab job, one shell session as the runner runs them. */
export function gitlabJobScript(pipeline: any, job: string): string {
  const spec = pipeline[job];
  if (!spec?.script) throw new Error(`no job ${job} with a script`);
  return [...(spec.before_script ?? []), ...spec.script].join('\n');
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a CI script as its CI does: `bash --noprofile --norc -eo pipefail` for a GitHub
 * Actions `run:` on ubuntu-latest, `sh -e` with BusyBox's applets (sed, grep, sleep, …)
 * for a GitLab job in an Alpine image. `bin` directories come first on the PATH (stand-ins
 * for commands the runner image has: gh, apk, docker). The environment is only `env` and
 * what a runner has (PATH, HOME), never this process's.
 */
export async function runCiScript(options: {
  shell: 'github' | 'gitlab';
  script: string;
  cwd: string;
  env: Record<string, string>;
  bin?: string[];
  /** Called once the script has started. */
  started?: () => void;
}): Promise<ScriptRun> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ci-script-'));
  const file = path.join(dir, 'script.sh');
  await fs.writeFile(file, options.script);
  const home = path.join(dir, 'home');
  await fs.mkdir(home);
  const pathDirs = [...(options.bin ?? [])];
  if (options.shell === 'gitlab') {
    // Alpine's userland: BusyBox applets before Debian's GNU tools.
    const busybox = path.join(dir, 'busybox');
    await fs.mkdir(busybox);
    const applets = ['sed', 'grep', 'sleep', 'rm', 'cat', 'mkdir', 'sh'];
    for (const applet of applets) {
      await fs.symlink(
        (await exec('sh', ['-c', 'command -v busybox'])).stdout.trim(),
        path.join(busybox, applet),
      );
    }
    pathDirs.push(busybox);
  }
  const env = {
    ...options.env,
    PATH: [...pathDirs, process.env.PATH].join(':'),
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const [command, args] =
    options.shell === 'github'
      ? ['bash', ['--noprofile', '--norc', '-eo', 'pipefail', file]]
      : ['busybox', ['sh', '-e', file]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args as string[], { cwd: options.cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', d => (stdout += d));
    child.stderr.on('data', d => (stderr += d));
    child.on('error', reject);
    child.on('close', code => {
      fs.rm(dir, { recursive: true, force: true }).finally(() =>
        resolve({ code, stdout, stderr }),
      );
    });
    options.started?.();
  });
}

/**
 * A stand-in for a command the CI image has: logs its arguments (one JSON array a line)
 * to `<dir>/<name>.log` and runs `body` (shell) with them.
 */
export async function fakeCommand(dir: string, name: string, body = '') {
  const log = path.join(dir, `${name}.log`);
  await fs.writeFile(
    path.join(dir, name),
    [
      '#!/bin/sh',
      `node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1))+"\\n")' -- "$@" >> '${log}'`,
      body,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return {
    calls: async (): Promise<string[][]> =>
      (await fs.readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map(line => JSON.parse(line)),
  };
}
