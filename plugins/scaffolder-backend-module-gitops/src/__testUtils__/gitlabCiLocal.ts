import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** The stand-ins for what the jobs' images have and this machine lacks: docker, apk. */
// Tests run from source: __dirname is src/__testUtils__.
// eslint-disable-next-line no-restricted-syntax
export const STAND_INS = path.join(__dirname, 'ciStandIns', 'bin');

/** What gitlab-ci-local needs on this machine (besides Node): git, rsync; skopeo for docker's. */
export const GITLAB_CI_LOCAL_TOOLS = ['git', 'rsync', 'skopeo'];

const MACHINE_ENV =
  /^(HOME|LANG|TMPDIR|npm_config_\w+|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR)|(https?|no)_proxy)$/i;

export interface PipelineRun {
  code: number | null;
  /** gitlab-ci-local's output: each job's log lines, then a PASS/FAIL line per job. */
  output: string;
}

/**
 * The command line a developer would type (README's "Run the pipeline locally"): every
 * job in shell mode, gitlab-ci-local's service calls to the container-engine stand-in,
 * GitLab's remote scan templates left out (offline), `variables` as CI/CD variables.
 */
export function gitlabCiLocalArgs(
  variables: Record<string, string>,
  home: string,
) {
  return [
    '--force-shell-executor',
    // Each job in its own copy of the repository, as on a runner.
    '--shell-isolation',
    '--container-executable',
    path.join(STAND_INS, 'container-engine'),
    // Not the developer's ~/.gitlab-ci-local variables.
    '--home',
    home,
    '--no-color',
    '--variable',
    'SECURITY_SCANS_DISABLED=true',
    ...Object.entries(variables).flatMap(([k, v]) => [
      '--variable',
      `${k}=${v}`,
    ]),
  ];
}

/**
 * Runs the pipeline of the Git clone `cwd` (its branch, commit and `origin` give
 * CI_COMMIT_BRANCH, CI_DEFAULT_BRANCH, CI_COMMIT_SHORT_SHA and the files `changes:`
 * sees: those differing from origin's default branch) with the real gitlab-ci-local.
 * The jobs get the stand-ins first on the PATH, docker's credentials under `home`, and
 * no git configuration of this machine's user. Its output also goes to
 * `<home>/pipeline-<n>.log`.
 */
export async function runGitlabCiLocal(options: {
  cwd: string;
  home: string;
  variables: Record<string, string>;
  jobs?: string[];
}): Promise<PipelineRun> {
  const bin = path.join(
    path.dirname(require.resolve('gitlab-ci-local/package.json')),
    'dist',
    'index.js',
  );
  await fs.mkdir(options.home, { recursive: true });
  const emptyGitConfig = path.join(options.home, 'gitconfig');
  await fs.writeFile(emptyGitConfig, '');
  const env = {
    // What a shell runner's machine gives its jobs: locale, and the network's proxy,
    // certificate authorities and npm configuration (npm install in a test stage).
    ...Object.fromEntries(
      Object.entries(process.env).filter(([k]) => MACHINE_ENV.test(k)),
    ),
    PATH: [STAND_INS, path.dirname(process.execPath), process.env.PATH].join(
      ':',
    ),
    DOCKER_CONFIG: path.join(options.home, 'docker'),
    GIT_CONFIG_GLOBAL: emptyGitConfig,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
  };
  const args = [
    bin,
    ...gitlabCiLocalArgs(options.variables, options.home),
    ...(options.jobs ?? []),
  ];
  const logs = (await fs.readdir(options.home)).filter(f =>
    f.startsWith('pipeline-'),
  );
  const log = createWriteStream(
    path.join(options.home, `pipeline-${logs.length + 1}.log`),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: options.cwd, env });
    let output = '';
    const collect = (data: Buffer) => {
      output += data;
      log.write(data);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', code => {
      log.end();
      resolve({ code, output });
    });
  });
}

/** The lines of one job's log in gitlab-ci-local's output (`<job> > line`). */
export function jobLog(output: string, job: string): string {
  const prefix = new RegExp(`^${job}\\s+> ?`);
  return output
    .split('\n')
    .filter(line => prefix.test(line))
    .map(line => line.replace(prefix, ''))
    .join('\n');
}
