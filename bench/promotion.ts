/* eslint-disable no-console */
// The promotion scenario: the commit a promotion makes (read the values file at the
// branch head, set image.tag, commit, push), measured at the backend's
// GitConfigRepoWriter against a sandbox Git server holding a big config repository:
// 10,000 commits and 5,000 files. Three cases: the first commit of a backend (it clones
// the branch), the next ones, and ones after another writer pushed in between. Every
// commit is checked on the server: the branch head is the answered commit and holds the
// new tag, so each figure is of a real pushed commit.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigReader } from '@backstage/config';
import { startGitServer } from '@gitops-backstage/gitops-sandbox';
import { setYamlValues } from '@gitops-backstage/plugin-gitops-common';
import { GitConfigRepoReader } from '../plugins/gitops-backend/src/services/ConfigRepo/GitConfigRepoReader';
import { GitConfigRepoWriter } from '../plugins/gitops-backend/src/services/ConfigRepo/GitConfigRepoWriter';
import { KeptClones } from '../plugins/gitops-backend/src/services/ConfigRepo/keptClones';
import { GitCredentialsResolver } from '@gitops-backstage/plugin-gitops-node';
import type { Result } from './status';

const exec = promisify(execFile);

const SERVICES = 1000; // × 5 files each = 5,000 files
const COMMITS = 10_000;
const ROUNDS = 10;
const TARGET = 'services/svc-0500/envs/staging/values.yaml';
const SCENARIO =
  'promotion at the writer (GitConfigRepoWriter; sandbox git, 10,000 commits / 5,000 files)';

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

const svc = (i: number) => `svc-${String(i).padStart(4, '0')}`;

/** The five files of one service: a small chart and one values file per environment. */
function serviceFiles(i: number): Record<string, string> {
  const name = svc(i);
  const values = (env: string, tag: string) =>
    [
      `# ${name} in ${env}. Promotions rewrite image.tag only; keep the comments.`,
      `replicaCount: ${(i % 3) + 1}`,
      'image:',
      `  repository: registry.example.com/team-${i % 20}/${name}`,
      '  # The deployed build.',
      `  tag: ${tag} # set by promotions`,
      'resources:',
      '  requests:',
      `    cpu: ${50 + (i % 10) * 10}m`,
      '    memory: 128Mi',
      '',
    ].join('\n');
  return {
    [`services/${name}/chart/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: 0.${i}.0\n`,
    [`services/${name}/chart/templates/deployment.yaml`]: [
      'apiVersion: apps/v1',
      'kind: Deployment',
      `metadata:\n  name: ${name}`,
      'spec:',
      '  replicas: {{ .Values.replicaCount }}',
      `  selector:\n    matchLabels:\n      app: ${name}`,
      '  template:',
      '    spec:',
      '      containers:',
      `        - name: ${name}`,
      '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
      '',
    ].join('\n'),
    [`services/${name}/envs/dev/values.yaml`]: values('dev', `build-${i}`),
    [`services/${name}/envs/staging/values.yaml`]: values(
      'staging',
      `build-${i}`,
    ),
    [`services/${name}/envs/prod/values.yaml`]: values('prod', `build-${i}`),
  };
}

/**
 * Fills the bare repository with `git fast-import` (seconds, where 10,000 `git commit`s
 * take minutes): one commit with every file, then one values-file change per commit.
 */
async function fillRepository(bare: string) {
  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const commit = (n: number, files: Record<string, string>) => {
    chunks.push(
      'commit refs/heads/main\n',
      `committer Bench <bench@example.com> ${1_700_000_000 + n * 60} +0000\n`,
      data(`change ${n}`),
    );
    for (const [file, text] of Object.entries(files)) {
      chunks.push(`M 100644 inline ${file}\n`, data(text));
    }
  };
  commit(
    0,
    Object.assign(
      {},
      ...Array.from({ length: SERVICES }, (_, i) => serviceFiles(i)),
    ),
  );
  for (let n = 1; n < COMMITS; n++) {
    const i = n % SERVICES;
    const env = ['dev', 'staging', 'prod'][n % 3];
    const file = `services/${svc(i)}/envs/${env}/values.yaml`;
    commit(n, {
      [file]: serviceFiles(i)[file].replace(/build-\d+/, `build-${n}`),
    });
  }
  await new Promise<void>((resolve, reject) => {
    const child = spawn('git', ['--git-dir', bare, 'fast-import', '--quiet'], {
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', code =>
      code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)),
    );
    child.stdin.end(chunks.join(''));
  });
}

export async function promotionScenario(): Promise<Result[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-promotion-'));
  const token = 'bench';
  const root = path.join(dir, 'repos');
  const server = await startGitServer({ root, token });
  try {
    await server.createRepository('config');
    const bare = path.join(root, 'config.git');
    await fillRepository(bare);
    const git = async (...args: string[]) =>
      (await exec('git', ['--git-dir', bare, ...args])).stdout.trim();
    const files = (await git('ls-tree', '-r', '--name-only', 'main')).split(
      '\n',
    );
    const commits = Number(await git('rev-list', '--count', 'main'));
    if (files.length !== SERVICES * 5 || commits !== COMMITS) {
      throw new Error(
        `repository has ${files.length} files, ${commits} commits`,
      );
    }

    const credentials = new GitCredentialsResolver(
      new ConfigReader({
        gitops: {
          git: {
            credentials: [{ host: new URL(server.url).host, password: token }],
          },
        },
      }),
    );
    /** A backend's reader and writer, sharing kept clones as the plugin's do. */
    const newBackend = () => {
      const clones = new KeptClones({ credentials, timeoutMs: 30_000 });
      const reader = new GitConfigRepoReader(credentials, 30_000, clones);
      return {
        clones,
        writer: new GitConfigRepoWriter(clones, reader),
        reader,
      };
    };
    let round = 0;
    /** One promotion of svc-0500 to staging, checked on the server; answers its time. */
    const promote = async (writer: GitConfigRepoWriter) => {
      const tag = `v-${++round}`;
      const start = process.hrtime.bigint();
      const { commit } = await writer.commit({
        repoURL: server.repoUrl('config'),
        branch: 'main',
        file: TARGET,
        edit: text => setYamlValues(text, { 'image.tag': tag }),
        message: `staging: svc-0500 ${tag}`,
        author: { name: 'Bench', email: 'bench@example.com' },
      });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // Not timed: the server's branch head is that commit, with the new tag.
      const head = await git('rev-parse', 'main');
      const text = await git('show', `main:${TARGET}`);
      if (!commit || head !== commit || !text.includes(`tag: ${tag} #`)) {
        throw new Error(`${tag}: ${commit} is not the pushed head ${head}`);
      }
      return ms;
    };
    /** Another writer (another backend, CI) commits to another service. */
    const otherPush = async (writer: GitConfigRepoWriter) => {
      await writer.commit({
        repoURL: server.repoUrl('config'),
        branch: 'main',
        file: `services/${svc(round % SERVICES)}/envs/dev/values.yaml`,
        edit: text => setYamlValues(text, { 'image.tag': `other-${round}` }),
        message: 'dev: another service',
        author: { name: 'CI', email: 'ci@example.com' },
      });
    };

    // The first commit of a backend clones the branch (depth 1, no working tree).
    const first: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fresh = newBackend();
      first.push(await promote(fresh.writer));
      await fresh.clones.close();
    }
    // The Promote dialog's flow on a fresh backend: its preview reads the values (and
    // clones), then the confirm reads them fresh (the gates) and commits.
    const preview: number[] = [];
    const confirm: number[] = [];
    const readValues = (reader: GitConfigRepoReader) =>
      reader.readFiles(server.repoUrl('config'), 'main', [TARGET]);
    for (let i = 0; i < 5; i++) {
      const fresh = newBackend();
      let start = process.hrtime.bigint();
      await readValues(fresh.reader);
      preview.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      await readValues(fresh.reader);
      const read = Number(process.hrtime.bigint() - start) / 1e6;
      // promote() answers the commit's own time (its checks on the server are not timed).
      confirm.push(read + (await promote(fresh.writer)));
      await fresh.clones.close();
    }
    // The next ones fetch what changed since, usually nothing.
    const { writer, clones } = newBackend();
    const other = newBackend();
    await promote(writer);
    const next: number[] = [];
    for (let i = 0; i < ROUNDS; i++) next.push(await promote(writer));
    // Someone else pushed in between: a thin fetch of their commit first.
    const afterOther: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await otherPush(other.writer);
      afterOther.push(await promote(writer));
    }
    await clones.close();
    await other.clones.close();

    const rows = (metric: string, times: number[], ps: number[]) => {
      const sorted = [...times].sort((a, b) => a - b);
      return ps.map(p => ({
        scenario: SCENARIO,
        metric: `${metric} p${p} (${times.length} runs)`,
        value: `${percentile(sorted, p).toFixed(1)} ms`,
        target: '≤ 1 s',
      }));
    };
    return [
      ...rows(
        'values commit + push, first of a backend (shallow clone)',
        first,
        [50, 95],
      ),
      ...rows(
        'Promote dialog on a fresh backend: preview (values read, shallow clone)',
        preview,
        [50],
      ),
      ...rows(
        'Promote dialog on a fresh backend: confirm (fresh values read + commit + push)',
        confirm,
        [50, 95],
      ),
      ...rows('values commit + push, next ones', next, [50, 95]),
      ...rows(
        'values commit + push, after another writer pushed',
        afterOther,
        [50, 95],
      ),
    ];
  } finally {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// `node --require @backstage/cli-node/config/nodeTransform.cjs bench/promotion.ts` runs
// this scenario alone.
if (require.main === module) {
  promotionScenario().then(
    rows => console.table(rows),
    error => {
      console.error(error);
      process.exit(1);
    },
  );
}
