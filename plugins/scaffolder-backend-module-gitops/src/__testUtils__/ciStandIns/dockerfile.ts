import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The part of a Dockerfile build the docker stand-in does natively, on a machine
 * without a Docker engine: a stage's files are copied into a scratch directory as its
 * filesystem and its RUN commands run there with the host's toolchain for the stage's
 * base image. Anything it cannot honour this way is refused, naming it, so a Dockerfile
 * that changes beyond it fails the test instead of passing untested.
 */

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name?: string;
  instructions: Instruction[];
}

/** Instructions that only set image metadata: nothing to run for them. */
const METADATA = new Set(['USER', 'EXPOSE', 'CMD', 'ENTRYPOINT', 'LABEL']);

/** Base images the host can stand in for, and the commands their PATH must have. */
const TOOLCHAINS: Array<{ image: RegExp; commands: string[] }> = [
  // python:3.x images have `python`; Debian has python3 (a shim maps one to the other).
  {
    image: /^(docker\.io\/(library\/)?)?python:3[\w.-]*$/,
    commands: ['python'],
  },
  {
    image: /^(docker\.io\/(library\/)?)?node:\d+[\w.-]*$/,
    commands: ['node', 'npm'],
  },
];

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    let instruction = lines[i];
    // A trailing backslash continues the instruction on the next line.
    while (/\\\s*$/.test(instruction) && i + 1 < lines.length) {
      instruction = `${instruction.replace(/\\\s*$/, '')} ${lines[++i]}`;
    }
    const trimmed = instruction.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const [, word, args] = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    const keyword = word.toUpperCase();
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from || from[1].startsWith('--')) {
        throw new Error(`line ${line}: FROM ${args} is not supported`);
      }
      stages.push({ image: from[1], name: from[2], instructions: [] });
    } else if (!stages.length) {
      throw new Error(`line ${line}: ${keyword} before the first FROM`);
    } else {
      stages[stages.length - 1].instructions.push({ keyword, args, line });
    }
  }
  if (!stages.length) throw new Error('no FROM in the Dockerfile');
  return stages;
}

/** The stage `target` names, or the last one. */
function findStage(stages: Stage[], target?: string): Stage {
  if (target === undefined) return stages[stages.length - 1];
  const stage = stages.find(s => s.name === target);
  if (!stage) throw new Error(`target stage "${target}" not found`);
  return stage;
}

async function onPath(command: string, pathVar: string) {
  for (const dir of pathVar.split(':')) {
    const file = path.join(dir, command);
    if (
      await fs.access(file, fs.constants.X_OK).then(
        () => true,
        () => false,
      )
    ) {
      return file;
    }
  }
  return undefined;
}

/** A PATH whose first directory makes the host look like the base image. */
async function toolchainPath(image: string, shims: string) {
  const toolchain = TOOLCHAINS.find(t => t.image.test(image));
  if (!toolchain) {
    throw new Error(`no native toolchain stands in for base image ${image}`);
  }
  const hostPath = process.env.PATH ?? '';
  const python3 = await onPath('python3', hostPath);
  const wantsPython = toolchain.commands.includes('python');
  if (wantsPython && python3 && !(await onPath('python', hostPath))) {
    await fs.symlink(python3, path.join(shims, 'python')).catch(() => {});
  }
  const pathVar = `${shims}:${hostPath}`;
  for (const command of toolchain.commands) {
    if (!(await onPath(command, pathVar))) {
      throw new Error(`${command} (for ${image}) is not on the PATH`);
    }
  }
  return pathVar;
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv) {
  return new Promise<void>((resolve, reject) => {
    // As `RUN <command>` in shell form: /bin/sh -c; its output goes to the job's log.
    const child = spawn('/bin/sh', ['-c', command], {
      cwd,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve()
        : reject(new Error(`RUN ${command}: exit code ${code}`)),
    );
  });
}

/**
 * Builds the stage `target` names (or the last) natively, after the stages it copies
 * from, as `docker build --target` does; fails when a RUN fails. `buildArgs` are the
 * `--build-arg`s.
 */
export async function buildStage(
  dockerfile: string,
  context: string,
  target: string | undefined,
  buildArgs: Record<string, string>,
) {
  const stages = parseDockerfile(await fs.readFile(dockerfile, 'utf8'));
  const built = new Map<Stage, string>();
  try {
    await runStage(
      stages,
      findStage(stages, target),
      context,
      buildArgs,
      built,
    );
  } finally {
    for (const root of built.values()) {
      await fs.rm(root, { recursive: true, force: true });
    }
  }
}

/** Runs one stage; answers the scratch directory standing in for its filesystem. */
async function runStage(
  stages: Stage[],
  stage: Stage,
  context: string,
  buildArgs: Record<string, string>,
  built: Map<Stage, string>,
): Promise<string> {
  const done = built.get(stage);
  if (done) return done;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'docker-stage-'));
  built.set(stage, root);
  const shims = path.join(root, '.stand-in-bin');
  await fs.mkdir(shims);
  const label = stage.name ?? stage.image;
  process.stderr.write(`[stand-in] stage ${label} (FROM ${stage.image})\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: await toolchainPath(stage.image, shims),
    HOME: process.env.HOME,
    // The network's proxy and certificate authorities (dockerd passes its proxy to
    // builds) and npm's configuration, for `npm install`.
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) =>
        /^(npm_config_\w+|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|(https?|no)_proxy)$/i.test(
          k,
        ),
      ),
    ),
  };
  let workdir = '/';
  const inRoot = (p: string) => path.join(root, path.resolve(workdir, p));
  for (const { keyword, args, line } of stage.instructions) {
    const where = `line ${line}: ${keyword} ${args}`;
    if (keyword === 'WORKDIR') {
      workdir = path.resolve(workdir, args);
      await fs.mkdir(inRoot('.'), { recursive: true });
    } else if (keyword === 'ENV' || keyword === 'ARG') {
      for (const pair of args.split(/\s+/)) {
        const [, key, value] = /^(\w+)(?:=(.*))?$/.exec(pair) ?? [];
        if (!key) throw new Error(`${where}: only KEY=value pairs`);
        const fromArg = keyword === 'ARG' ? buildArgs[key] : undefined;
        env[key] = (fromArg ?? value ?? '').replace(
          /\$\{(\w+)\}|\$(\w+)/g,
          (_, a, b) => env[a ?? b] ?? '',
        );
      }
    } else if (keyword === 'COPY') {
      const words = args.split(/\s+/);
      const from = /^--from=(\S+)$/.exec(words[0]);
      if (from) words.shift();
      if (words.length < 2 || words.some(w => /^--|[*?[]/.test(w))) {
        throw new Error(
          `${where}: only plain paths (and --from) are supported`,
        );
      }
      const dest = words.pop()!;
      let source = context;
      if (from) {
        const other = stages.find(s => s.name === from[1]);
        if (!other) throw new Error(`${where}: no stage ${from[1]}`);
        source = await runStage(stages, other, context, buildArgs, built);
      }
      const intoDir = words.length > 1 || dest.endsWith('/');
      for (const word of words) {
        const src = from
          ? path.join(source, path.resolve('/', word))
          : path.resolve(source, word);
        if (!from && !src.startsWith(`${path.resolve(context)}/`)) {
          throw new Error(`${where}: ${word} is outside the build context`);
        }
        const target = intoDir
          ? path.join(inRoot(dest), path.basename(src))
          : inRoot(dest);
        // A missing source fails the build, as Docker's "not found".
        await fs.access(src).catch(() => {
          throw new Error(`${where}: ${word} not found`);
        });
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.cp(src, target, { recursive: true });
      }
    } else if (keyword === 'RUN') {
      if (args.startsWith('[') || args.startsWith('--')) {
        throw new Error(`${where}: only the shell form is supported`);
      }
      process.stderr.write(`[stand-in] ${label}: RUN ${args}\n`);
      await run(args, inRoot('.'), env);
    } else if (!METADATA.has(keyword)) {
      throw new Error(`${where}: not supported by the docker stand-in`);
    }
  }
  return root;
}
