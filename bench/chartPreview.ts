/* eslint-disable no-console */
// The chart promotion preview: what the Promote dialog of an Application deploying a
// chart from a chart repository renders, on a fresh backend each time (no kept clone,
// no cached package): the environment's values file read from Git, both chart versions
// downloaded from the sandbox's classic chart repository and rendered with the real
// `helm template`, and their diff. The chart has 50 templates; each run's diff is
// checked to hold the change between the versions, so each figure is of a real render.
import { ConfigReader } from '@backstage/config';
import {
  helmBinary,
  pushChange,
  startSandbox,
} from '@gitops-backstage/gitops-sandbox';
import {
  GitCredentialsResolver,
  HelmRunner,
} from '@gitops-backstage/plugin-gitops-node';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitConfigRepoReader } from '../plugins/gitops-backend/src/services/ConfigRepo/GitConfigRepoReader';
import { KeptClones } from '../plugins/gitops-backend/src/services/ConfigRepo/keptClones';
import { ChartPreview } from '../plugins/gitops-backend/src/services/ChartRepository/ChartPreview';
import type { Result } from './status';

const TEMPLATES = 50;
const RUNS = 5;
const SCENARIO = `chart promotion preview (ChartPreview on a fresh backend; sandbox chart repository and Git, real helm; a chart of ${TEMPLATES} templates)`;

/** Version `version` of a chart of TEMPLATES Deployments, each greeting with the values. */
async function writeChart(dir: string, version: string, greeting: string) {
  const chart = path.join(dir, `big-${version}`);
  await fs.mkdir(path.join(chart, 'templates'), { recursive: true });
  await fs.writeFile(
    path.join(chart, 'Chart.yaml'),
    `apiVersion: v2\nname: big\nversion: ${version}\n`,
  );
  await fs.writeFile(
    path.join(chart, 'values.yaml'),
    `greeting: ${greeting}\nsuffix: ""\nreplicas: 1\nimage: registry.example.com/big:1.0.0\n`,
  );
  for (let i = 0; i < TEMPLATES; i++) {
    await fs.writeFile(
      path.join(chart, 'templates', `part-${i}.yaml`),
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        `  name: {{ .Release.Name }}-part-${i}`,
        'spec:',
        '  replicas: {{ .Values.replicas }}',
        `  selector: { matchLabels: { part: "${i}" } }`,
        '  template:',
        `    metadata: { labels: { part: "${i}" } }`,
        '    spec:',
        '      containers:',
        `        - name: part-${i}`,
        '          image: {{ .Values.image | quote }}',
        '          env:',
        '            - name: GREETING',
        '              value: {{ printf "%s%s" .Values.greeting .Values.suffix | quote }}',
        '',
      ].join('\n'),
    );
  }
  return chart;
}

function percentile(sorted: number[], p: number) {
  return sorted[
    Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))
  ];
}

export async function chartPreviewScenario(): Promise<Result[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-chart-'));
  const sandbox = await startSandbox({
    dir,
    instances: [{ name: 'main', environments: ['staging'] }],
  });
  try {
    const sources = path.join(dir, 'chart-sources');
    await sandbox.charts.publish(
      'stable',
      await writeChart(sources, '1.0.0', 'hello'),
    );
    await sandbox.charts.publish(
      'stable',
      await writeChart(sources, '1.1.0', 'good day'),
    );
    await sandbox.createRepository('big-config');
    await pushChange(
      sandbox,
      'big-config',
      { 'envs/values-staging.yaml': () => 'suffix: " from staging"\n' },
      'staging values',
    );
    const config = new ConfigReader({
      gitops: {
        helm: { command: await helmBinary() },
        git: {
          credentials: [
            { host: new URL(sandbox.gitUrl).host, password: sandbox.gitToken },
          ],
        },
      },
    });
    const target = {
      environment: 'staging',
      application: { name: 'big-staging', namespace: 'argocd' },
      chart: {
        repoURL: sandbox.charts.repoUrl('stable'),
        chart: 'big',
        wanted: '1.0.0',
        values: [
          {
            repoURL: sandbox.repoUrl('big-config'),
            targetRevision: 'main',
            path: 'envs/values-staging.yaml',
          },
        ],
      },
    } as unknown as EnvironmentStatus;
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      // A fresh backend's parts: nothing cloned, nothing downloaded yet.
      const credentials = new GitCredentialsResolver(config);
      const clones = new KeptClones({ credentials, timeoutMs: 30_000 });
      const preview = new ChartPreview({
        repositories: [
          {
            url: sandbox.charts.repoUrl('stable'),
            enableOCI: false,
            insecure: false,
          },
        ],
        helm: HelmRunner.fromConfig(config),
        reader: new GitConfigRepoReader(credentials, 30_000, clones),
        timeoutMs: 30_000,
      });
      const start = process.hrtime.bigint();
      const answer = await preview.diff({ target, from: '1.0.0', to: '1.1.0' });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      // Not timed: every template's greeting changed, with staging's values applied.
      const changed =
        'renderedDiff' in answer
          ? answer.renderedDiff
              .split('\n')
              .filter(l => l.endsWith('value: "good day from staging"')).length
          : 0;
      if (changed !== TEMPLATES) {
        throw new Error(
          `run ${run}: ${changed} templates changed, not ${TEMPLATES}: ${JSON.stringify(
            answer,
          ).slice(0, 300)}`,
        );
      }
    }
    times.sort((a, b) => a - b);
    return [50, 95].map(p => ({
      scenario: SCENARIO,
      metric: `values read + 2 packages downloaded + 2 helm template runs + diff, p${p} (${RUNS} runs)`,
      value: `${percentile(times, p).toFixed(1)} ms`,
      target: '≤ 1 s',
    }));
  } finally {
    await sandbox.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

// `node --require @backstage/cli-node/config/nodeTransform.cjs bench/chartPreview.ts`
// runs this scenario alone.
if (require.main === module) {
  chartPreviewScenario().then(
    rows => console.table(rows),
    error => {
      console.error(error);
      process.exit(1);
    },
  );
}
