import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildStage } from './dockerfile';

/**
 * A stand-in for the docker CLI in CI jobs run by gitlab-ci-local's shell executor on a
 * machine without a Docker engine (`bin/docker` runs it). It does for real what the
 * generated pipeline asks, natively: the Dockerfile's stages (dockerfile.ts), `login`
 * and the multi-arch push with skopeo against the registry's HTTP API. What it does not
 * know (a command, a flag, a base image) it refuses with exit code 1, so a pipeline
 * change it cannot honestly run fails the test.
 */

const exec = promisify(execFile);

/** Where docker keeps `login`'s credentials by registry host (skopeo reads the same file). */
const authFile = () =>
  path.join(
    process.env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'),
    'config.json',
  );

type FlagKind = 'bool' | 'value' | 'list';

/** Flags (`--x v`, `--x=v`, `-x v`) and positionals; an unknown flag is refused. */
function parseArgs(args: string[], spec: Record<string, FlagKind>) {
  const flags: Record<string, string[]> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i].split(/=(.*)/s, 2);
    if (!name.startsWith('-') || name === '-') {
      positional.push(args[i]);
      continue;
    }
    const kind = spec[name];
    if (!kind) throw new Error(`flag ${name} is not supported`);
    const value = kind === 'bool' ? 'true' : inline ?? args[++i];
    if (value === undefined) throw new Error(`flag ${name} needs a value`);
    (flags[name] ??= []).push(value);
  }
  return { flags, positional };
}

/** The registry host of an image reference, as docker decides it (docker.io by default). */
function parseImage(ref: string) {
  const match = /^(?:([^/]+)\/)?(.+):([\w][\w.-]{0,127})$/.exec(ref);
  if (!match) throw new Error(`image reference ${ref} needs a :tag`);
  const [, first, rest, tag] = match;
  if (first && /[.:]|^localhost$/.test(first)) {
    return { host: first, repository: rest, tag };
  }
  throw new Error(`${ref} is on Docker Hub: this machine has no internet`);
}

/** dockerd takes plain HTTP from 127.0.0.0/8 registries (its default insecure-registries). */
const verifyTls = (host: string) =>
  !/^(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$/.test(host);

function skopeo(args: string[], stdin: 'inherit' | 'ignore' = 'ignore') {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('skopeo', args, {
      stdio: [stdin, 'inherit', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', code =>
      code === 0 ? resolve() : reject(new Error(`skopeo exited with ${code}`)),
    );
  });
}

/** `docker login -u USER --password-stdin HOST`: checked against the registry, then stored. */
async function login(args: string[]) {
  const { flags, positional } = parseArgs(args, {
    '-u': 'value',
    '--username': 'value',
    '--password-stdin': 'bool',
  });
  const username = (flags['-u'] ?? flags['--username'])?.[0];
  if (!username || !flags['--password-stdin'] || positional.length !== 1) {
    throw new Error('only `login -u USER --password-stdin HOST`');
  }
  const [host] = positional;
  await fs.mkdir(path.dirname(authFile()), { recursive: true });
  await skopeo(
    [
      'login',
      '--authfile',
      authFile(),
      `--tls-verify=${verifyTls(host)}`,
    ].concat(['-u', username, '--password-stdin', host]),
    'inherit',
  );
}

/** `docker build --target STAGE CONTEXT`: that stage, natively. */
async function build(args: string[]) {
  const { flags, positional } = parseArgs(args, { '--target': 'value' });
  if (positional.length !== 1) throw new Error('one build context');
  const context = path.resolve(positional[0]);
  const target = flags['--target']?.[0];
  await buildStage(path.join(context, 'Dockerfile'), context, target, {});
}

/**
 * `docker buildx build --platform P1,P2 --push -t HOST/REPO:TAG CONTEXT`: the
 * Dockerfile built natively once (buildx builds the other platforms under QEMU, same
 * steps), then an OCI index with one image per platform pushed with the credentials of
 * `docker login`. Its images are the sandbox registry's small stand-in images (built
 * by its own image builder in a throwaway registry, copied by skopeo). buildx records
 * the context's commit in the image's provenance attestation (BUILDX_GIT_INFO, on by
 * default); these images carry no attestation, so the commit goes into the label
 * org.opencontainers.image.revision, where buildx puts it with BUILDX_GIT_LABELS=1.
 */
async function buildxBuild(args: string[]) {
  const { flags, positional } = parseArgs(args, {
    '--platform': 'value',
    '--build-arg': 'list',
    '--push': 'bool',
    '-t': 'list',
    '--tag': 'list',
  });
  const tags = [...(flags['-t'] ?? []), ...(flags['--tag'] ?? [])];
  if (!flags['--push'] || !tags.length || positional.length !== 1) {
    throw new Error('only `buildx build --push -t IMAGE:TAG CONTEXT`');
  }
  const platforms = (flags['--platform']?.[0] ?? 'linux/amd64').split(',');
  const buildArgs = Object.fromEntries(
    (flags['--build-arg'] ?? []).map(pair => {
      const [key, value] = pair.split(/=(.*)/s, 2);
      return [key, value ?? process.env[key] ?? ''];
    }),
  );
  const context = path.resolve(positional[0]);
  await buildStage(
    path.join(context, 'Dockerfile'),
    context,
    undefined,
    buildArgs,
  );
  const revision = await exec('git', ['rev-parse', 'HEAD'], { cwd: context })
    .then(r => r.stdout.trim())
    .catch(() => undefined);
  // Loaded here only: the sandbox package takes seconds to load on a busy machine.
  const sandboxPackage: any = await import('@gitops-backstage/gitops-sandbox');
  // Node imports the transpiled CommonJS package as ESM: its exports under default.
  const { startRegistry }: typeof import('@gitops-backstage/gitops-sandbox') =
    sandboxPackage.default ?? sandboxPackage;
  const builder = await startRegistry();
  try {
    for (const tag of tags) {
      const image = parseImage(tag);
      await builder.pushImage(image.repository, image.tag, {
        platforms,
        labels: revision
          ? { 'org.opencontainers.image.revision': revision }
          : undefined,
      });
      // --insecure-policy: no signature policy for the throwaway source registry.
      await skopeo([
        '--insecure-policy',
        'copy',
        '--all',
        '--preserve-digests',
        '--quiet',
        '--src-tls-verify=false',
        `--dest-tls-verify=${verifyTls(image.host)}`,
        '--dest-authfile',
        authFile(),
        `docker://${builder.host}/${image.repository}:${image.tag}`,
        `docker://${tag}`,
      ]);
      process.stderr.write(`[stand-in] pushed ${tag} (${platforms})\n`);
    }
  } finally {
    await builder.stop();
  }
}

async function main(args: string[]) {
  const line = args.join(' ');
  if (args[0] === 'login') return login(args.slice(1));
  if (args[0] === 'build') return build(args.slice(1));
  // QEMU for cross-platform builds: the native build stands in for all platforms.
  if (
    /^run --privileged --rm tonistiigi\/binfmt --install [\w,]+$/.test(line)
  ) {
    return undefined;
  }
  // A buildx builder of its own: the stand-in's builds need none.
  if (line === 'buildx create --use') return undefined;
  if (args[0] === 'buildx' && args[1] === 'build') {
    return buildxBuild(args.slice(2));
  }
  throw new Error('not supported');
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  error => {
    process.stderr.write(
      `docker stand-in: \`docker ${process.argv.slice(2).join(' ')}\`: ${
        error.message
      }\n`,
    );
    process.exit(1);
  },
);
