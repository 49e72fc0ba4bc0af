import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { helmTemplate, validateChart } from './__testUtils__/chart';
import {
  fetchSkeleton,
  renderConfig,
  RenderOptions,
} from './__testUtils__/renderTemplates';

// helm lint and template per environment, twice, on a loaded 2-core machine.
jest.setTimeout(300_000);

const ENVIRONMENTS = ['dev', 'staging', 'prod'];
const TAG = 'abc1234';
const WORKLOADS = [
  'Deployment',
  'Rollout',
  'CronJob',
  'HorizontalPodAutoscaler',
];

/** A variant, its workload, what renders beside it and whether an HPA scales it. */
const variants: Array<
  [string, RenderOptions, { workload: string; rest: string[]; hpa: boolean }]
> = [
  [
    'gitops-service, rolling',
    { template: 'gitops-service', language: 'typescript', repoHost: 'git' },
    { workload: 'Deployment', rest: ['Service', 'ServiceAccount'], hpa: true },
  ],
  [
    'gitops-service, canary',
    {
      template: 'gitops-service',
      language: 'python',
      repoHost: 'github',
      rollout: 'canary',
    },
    { workload: 'Rollout', rest: ['Service', 'ServiceAccount'], hpa: true },
  ],
  [
    'gitops-service, blue/green',
    {
      template: 'gitops-service',
      language: 'typescript',
      repoHost: 'gitlab',
      rollout: 'blueGreen',
    },
    { workload: 'Rollout', rest: ['Service', 'ServiceAccount'], hpa: true },
  ],
  [
    'gitops-cronjob',
    { template: 'gitops-cronjob', language: 'python', repoHost: 'git' },
    { workload: 'CronJob', rest: ['ServiceAccount'], hpa: false },
  ],
];

const kinds = (objects: any[]) => objects.map(o => o.kind);

/**
 * A new service's config repository before CI's first build: every environment's values
 * file has no version (`tag: ''`), and the chart renders no workload, so Argo CD's first
 * sync creates the rest and is Healthy with nothing pulling an image nobody built. With a
 * tag, as CI's bump writes it, the workload is there.
 */
describe.each(variants)('%s: no version yet', (_title, options, expected) => {
  let dir: string;
  let chart: string;
  let workspace: string;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-no-version-'));
    workspace = path.join(dir, 'workspace');
    chart = path.join((await renderConfig(workspace, options)).dir, 'chart');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const valuesOf = (env: string) =>
    fs.readFile(path.join(chart, `values-${env}.yaml`), 'utf8');

  it('every values file starts with an empty tag and a comment naming who sets it', async () => {
    const comments: string[] = [];
    for (const env of ENVIRONMENTS) {
      const text = await valuesOf(env);
      expect(parse(text).image).toEqual({ tag: '' });
      expect(text).toMatch(/^ {2}tag: ''$/m);
      comments.push(text.match(/^image:\n((?: {2}#.*\n)+) {2}tag:/m)![1]);
    }
    expect(comments[0]).toContain("Empty until CI's first\n  # build of main");
    expect(comments[1]).toContain('Set by a promotion in the portal');
    expect(comments[2]).toContain("Set by a release tag's pull request");
    for (const comment of comments) expect(comment).toContain('no version yet');
    // The chart's default is no version either: a values file without a tag runs nothing.
    expect(
      parse(await fs.readFile(path.join(chart, 'values.yaml'), 'utf8')).image
        .tag,
    ).toBe('');
  });

  it('passes chart validation and renders no workload in any environment, the rest all there', async () => {
    await validateChart(workspace, ENVIRONMENTS);
    for (const env of ENVIRONMENTS) {
      // An autoscaler would scale a workload that is not there: none either.
      const { objects } = await helmTemplate(chart, [`values-${env}.yaml`], {
        set: ['autoscaling.enabled=true'],
      });
      expect(objects.filter(o => WORKLOADS.includes(o.kind))).toEqual([]);
      expect(kinds(objects)).toEqual(expect.arrayContaining(expected.rest));
    }
  });

  it("with CI's tag in a values file: validation passes and that environment runs the image", async () => {
    const file = path.join(chart, 'values-dev.yaml');
    const before = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, before.replace("tag: ''", `tag: '${TAG}'`));
    try {
      await validateChart(workspace, ENVIRONMENTS);
      const dev = await helmTemplate(chart, ['values-dev.yaml'], {
        set: ['autoscaling.enabled=true'],
      });
      const workloads = dev.objects.filter(o => o.kind === expected.workload);
      expect(workloads).toHaveLength(1);
      expect(JSON.stringify(workloads[0])).toContain(
        `"image":"registry.example.com/checkout/shop:${TAG}"`,
      );
      expect(kinds(dev.objects).includes('HorizontalPodAutoscaler')).toBe(
        expected.hpa,
      );
      // The other environments still have none.
      const staging = await helmTemplate(chart, ['values-staging.yaml']);
      expect(staging.objects.filter(o => WORKLOADS.includes(o.kind))).toEqual(
        [],
      );
    } finally {
      await fs.writeFile(file, before);
    }
  });

  if (options.template !== 'gitops-service') return;
  it("an added instance follows its environment: no workload until the environment's tag is set", async () => {
    await fetchSkeleton(
      'gitops-add-instance',
      'chart',
      workspace,
      'config/chart',
      {
        service: 'shop',
        environment: 'dev',
        instance: 'sensor-7',
        env: { SENSOR_ID: '7' },
        node: 'node-7',
      },
    );
    const files = ['values-dev.yaml', 'values-dev-sensor-7.yaml'];
    const none = await helmTemplate(chart, files);
    expect(none.objects.filter(o => WORKLOADS.includes(o.kind))).toEqual([]);

    const tagged = await helmTemplate(chart, files, {
      set: [`image.tag=${TAG}`],
    });
    const [instance] = tagged.objects.filter(o => o.kind === expected.workload);
    expect(instance.spec.template.spec.nodeSelector).toEqual({
      'kubernetes.io/hostname': 'node-7',
    });
  });
});
