/* eslint-disable no-console */
// `yarn bench`: runs the benchmark scenarios and writes bench/RESULTS.md with the machine
// and the date. Scenarios measure; tests never time anything.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGitServer, startSandbox } from '@gitops-backstage/gitops-sandbox';
import { chartPreviewScenario } from './chartPreview';
import { deliveryScenario } from './delivery';
import { frontendScenario } from './frontend';
import { liveScenario } from './live';
import { promotionScenario } from './promotion';
import { replicasScenario } from './replicas';
import { statusScenario } from './status';

const exec = promisify(execFile);

type Result = {
  scenario: string;
  metric: string;
  value: string;
  target?: string;
};

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

/** Sandbox Git server: a small commit pushed and fetched over smart HTTP (what a promotion does). */
async function gitRoundTrip(): Promise<Result[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-git-'));
  const token = 'bench';
  const server = await startGitServer({ root: path.join(dir, 'repos'), token });
  try {
    await server.createRepository('config');
    const url = server
      .repoUrl('config')
      .replace('http://', `http://x:${token}@`);
    const work = path.join(dir, 'work');
    const git = (...args: string[]) =>
      exec(
        'git',
        ['-c', 'user.name=b', '-c', 'user.email=b@example.com', ...args],
        { cwd: work },
      );
    await fs.mkdir(work);
    await git('init', '--quiet', '--initial-branch=main');
    await git('remote', 'add', 'origin', url);
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      await fs.writeFile(
        path.join(work, 'values-dev.yaml'),
        `image:\n  tag: build-${i}\n`,
      );
      const start = process.hrtime.bigint();
      await git('add', '-A');
      await git('commit', '--quiet', '-m', `bump ${i}`);
      await git('push', '--quiet', 'origin', 'HEAD:main');
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((a, b) => a - b);
    return [
      {
        scenario: 'sandbox git',
        metric: 'commit + push p50',
        value: `${percentile(times, 50).toFixed(1)} ms`,
      },
      {
        scenario: 'sandbox git',
        metric: 'commit + push p95',
        value: `${percentile(times, 95).toFixed(1)} ms`,
      },
    ];
  } finally {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Times `run` `times` times; answers p50 and p95 rows. */
async function timeIt(
  scenario: string,
  metric: string,
  times: number,
  run: () => Promise<unknown>,
  target?: string,
): Promise<Result[]> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const start = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return [50, 95].map(p => ({
    scenario,
    metric: `${metric} p${p}`,
    value: `${percentile(samples, p).toFixed(1)} ms`,
    target,
  }));
}

/** Sandbox Argo CD in scale mode: 1,000 services × 3 environments over 2 instances. */
async function sandboxList(): Promise<Result[]> {
  const sandbox = await startSandbox({ scaleServices: 1000 });
  try {
    const main = sandbox.instances.find(i => i.name === 'main')!;
    const list = async (query: string) => {
      const res = await fetch(`${main.url}/api/v1/applications${query}`, {
        headers: { authorization: `Bearer ${main.token}` },
      });
      return res.json();
    };
    const all = await list('');
    if (all.items.length !== 2000)
      throw new Error('scale mode did not generate 2,000 apps');
    return [
      ...(await timeIt(
        'sandbox argocd (2,000 apps on one instance)',
        'List, full',
        20,
        () => list(''),
      )),
      ...(await timeIt(
        'sandbox argocd (2,000 apps on one instance)',
        'List, `fields` projection',
        20,
        () =>
          list(
            '?fields=metadata.name,metadata.labels,spec.source,status.sync.status,status.health,status.summary',
          ),
      )),
      ...(await timeIt(
        'sandbox argocd (2,000 apps on one instance)',
        'List, one service by selector',
        50,
        () => list('?selector=app.kubernetes.io/name=fleet-0500'),
      )),
    ];
  } finally {
    await sandbox.stop();
  }
}

/** The scenarios by name: `yarn bench <name>…` runs those only. */
const scenarios: Record<
  string,
  { run: () => Promise<Result[]>; owns?: (scenario: string) => boolean }
> = {
  git: { run: gitRoundTrip },
  promotion: { run: promotionScenario },
  'chart-preview': { run: chartPreviewScenario },
  delivery: {
    run: deliveryScenario,
    owns: scenario =>
      scenario.startsWith('change log (') ||
      scenario.startsWith('DORA endpoint ('),
  },
  argocd: { run: sandboxList },
  status: {
    run: async () => [
      ...(await statusScenario(0)),
      ...(await statusScenario(25)),
    ],
    owns: scenario =>
      scenario.startsWith('entity status (') || scenario.startsWith('fleet ('),
  },
  frontend: { run: frontendScenario },
  live: {
    run: liveScenario,
    owns: scenario => scenario.startsWith('live updates'),
  },
  replicas: {
    run: replicasScenario,
    owns: scenario => scenario.startsWith('two replicas'),
  },
};

const HEADER = '| scenario | metric | value | target |';

/** The rows of an existing RESULTS.md, as written below. */
function rowsOf(text: string): Result[] {
  const lines = text.split('\n');
  const start = lines.indexOf(HEADER);
  if (start < 0) return [];
  const rows: Result[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('| ')) break;
    const [scenario, metric, value, target] = line
      .slice(2, -2)
      .split(' | ')
      .map(cell => cell.trim());
    rows.push({ scenario, metric, value, target: target || undefined });
  }
  return rows;
}

async function main() {
  const names = process.argv.slice(2);
  for (const name of names) {
    if (!scenarios[name])
      throw new Error(
        `unknown scenario "${name}"; one of ${Object.keys(scenarios).join(
          ', ',
        )}`,
      );
  }
  const out = path.join(__dirname, 'RESULTS.md');
  const date = new Date().toISOString();
  // BENCH_NOTE (e.g. "machine busy: CI running beside") goes into the scenario text of
  // this run's rows, with the date.
  const note = process.env.BENCH_NOTE
    ? ` (${process.env.BENCH_NOTE}; ${date.slice(0, 10)})`
    : '';
  const results: Result[] = [];
  for (const name of names.length ? names : Object.keys(scenarios)) {
    const rows = await scenarios[name].run();
    results.push(...rows.map(r => ({ ...r, scenario: r.scenario + note })));
  }
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const machine = `${os.cpus().length} × ${cpu}, ${(
    os.totalmem() /
    2 ** 30
  ).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  let all = results;
  let header = [
    `Written by \`yarn bench\` on ${date}.`,
    `Machine: ${machine}.`,
  ];
  if (names.length) {
    // Some scenarios only: the others' rows stay as the last run wrote them.
    const previous = await fs.readFile(out, 'utf8').catch(() => '');
    const fresh = new Set(results.map(r => r.scenario));
    const owned = (scenario: string) =>
      fresh.has(scenario) ||
      names.some(name => scenarios[name].owns?.(scenario));
    const kept = rowsOf(previous).filter(r => !owned(r.scenario));
    all = [...kept, ...results];
    // The kept rows keep the date and machine they were measured on.
    const firstLine = /^Written by .*$/m.exec(previous)?.[0];
    const machineLine = /^Machine: .*$/m.exec(previous)?.[0];
    // Earlier partial runs' lines stay, but for the scenarios run again now.
    const rewritten = (
      previous.match(/^Rows of .* rewritten by .*$/gm) ?? []
    ).filter(
      line => !names.some(name => line.startsWith(`Rows of \`${name}\` `)),
    );
    header = [
      ...(firstLine && machineLine ? [firstLine, machineLine] : header),
      ...rewritten,
      `Rows of ${names
        .map(n => `\`${n}\``)
        .join(', ')} rewritten by \`yarn bench ${names.join(
        ' ',
      )}\` on ${date}, machine: ${machine}.`,
    ];
  }
  const lines = [
    '# Benchmark results',
    '',
    ...header.flatMap(line => [line, '']),
    HEADER,
    '|---|---|---|---|',
    ...all.map(
      r => `| ${r.scenario} | ${r.metric} | ${r.value} | ${r.target ?? ''} |`,
    ),
    '',
  ];
  await fs.writeFile(out, lines.join('\n'));
  console.log(lines.join('\n'));
}

main().then(
  // Something of the in-process backends keeps the event loop alive after they stop.
  () => process.exit(0),
  error => {
    console.error(error);
    process.exit(1);
  },
);
