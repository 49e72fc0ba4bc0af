import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';
import { GitConfigRepoReader } from '../ConfigRepo/GitConfigRepoReader';
import { ConfigRepoIndex } from '../ConfigRepo/configRepoIndex';
import { DesiredStateReader, driftOf, valuesFiles } from './desiredState';

describe('valuesFiles', () => {
  const chart = {
    repoURL: 'https://git.example.com/config.git',
    path: 'charts/app',
    helm: {
      valueFiles: ['values-dev.yaml', '/envs/dev.yaml', '$values/envs/x.yaml'],
    },
  };
  const values = {
    repoURL: 'https://git.example.com/values.git',
    ref: 'values',
  };

  it('reads value files as Argo CD does: chart-relative, `/` from the repository root, `$ref/` from that source', () => {
    expect(
      valuesFiles(chart, [chart, values]).map(f => [f.source.repoURL, f.path]),
    ).toEqual([
      ['https://git.example.com/config.git', 'charts/app/values.yaml'],
      ['https://git.example.com/config.git', 'charts/app/values-dev.yaml'],
      ['https://git.example.com/config.git', 'envs/dev.yaml'],
      ['https://git.example.com/values.git', 'envs/x.yaml'],
    ]);
  });
});

describe('DesiredStateReader: a new service with no version yet', () => {
  const REPO_URL = 'https://git.example.com/shop-config.git';
  const REPOSITORY = 'registry.example.com/shop';
  // The templates' chart: the repository in values.yaml, the tag per environment.
  const BASE = `image:\n  repository: ${REPOSITORY}\n  tag: "" # set per environment\n`;

  /** The desired state of one Application over the given files of its repository. */
  async function desiredOf(
    files: Record<string, string>,
    valueFiles = ['values-dev.yaml'],
  ) {
    const reader = {
      readFiles: async () => ({ commit: 'c'.repeat(40), files }),
    } as unknown as GitConfigRepoReader;
    const desired = new DesiredStateReader(
      new ConfigRepoIndex(reader, { maxAgeMs: 60_000 }),
      {
        repository: 'image.repository',
        tag: 'image.tag',
        digest: 'image.digest',
      },
    );
    const app = {
      metadata: { name: 'shop-dev', namespace: 'argocd' },
      spec: {
        source: {
          repoURL: REPO_URL,
          targetRevision: 'main',
          path: 'chart',
          helm: { valueFiles },
        },
      },
    } as unknown as ArgoApplication;
    const [state] = await desired.readAll([app]);
    return state;
  }

  it("reports an empty tag as no version yet, naming the environment's own file: no image, no error", async () => {
    const state = await desiredOf({
      'chart/values.yaml': BASE,
      'chart/values-dev.yaml':
        "image:\n  # Empty until CI's first build of main sets it.\n  tag: ''\n",
    });
    expect(state).toEqual({
      repoURL: REPO_URL,
      targetRevision: 'main',
      chart: { path: 'chart', valueFiles: ['values-dev.yaml'] },
      valuesFile: 'chart/values-dev.yaml',
      noVersionYet: { repository: REPOSITORY },
    });
  });

  it("reports an absent tag the same way; the version would go into the environment's file, not the shared values.yaml", async () => {
    const state = await desiredOf({
      'chart/values.yaml': BASE,
      'chart/values-dev.yaml': 'replicaCount: 1\n',
    });
    expect(state.noVersionYet).toEqual({ repository: REPOSITORY });
    expect(state.valuesFile).toBe('chart/values-dev.yaml');
    expect(state.error).toBeUndefined();
  });

  it("an instance's file without a tag leaves the version to its environment's file", async () => {
    const state = await desiredOf(
      {
        'chart/values.yaml': BASE,
        'chart/values-dev.yaml': "image:\n  tag: ''\n",
        'chart/values-dev-sensor-7.yaml': 'env:\n  INSTANCE: sensor-7\n',
      },
      ['values-dev.yaml', 'values-dev-sensor-7.yaml'],
    );
    expect(state.valuesFile).toBe('chart/values-dev.yaml');
    expect(state.noVersionYet).toEqual({ repository: REPOSITORY });
  });

  it('a tag set later is a version as before', async () => {
    const state = await desiredOf({
      'chart/values.yaml': BASE,
      'chart/values-dev.yaml': "image:\n  tag: 'abc1234'\n",
    });
    expect(state.image).toEqual({ repository: REPOSITORY, tag: 'abc1234' });
    expect(state.noVersionYet).toBeUndefined();
  });

  it('no image repository at all is still an error, naming the keys and files', async () => {
    const state = await desiredOf({
      'chart/values.yaml': 'replicaCount: 1\n',
      'chart/values-dev.yaml': "image:\n  tag: ''\n",
    });
    expect(state.noVersionYet).toBeUndefined();
    expect(state.error).toEqual({
      code: 'not-found',
      message:
        'No image at image.repository and image.tag (or image.digest) in chart/values.yaml, chart/values-dev.yaml',
    });
  });
});

describe('driftOf', () => {
  const base = {
    repoURL: 'https://git.example.com/c.git',
    targetRevision: 'main',
  };
  const REPOSITORY = 'registry.example.com/shop';

  it('no version yet: no drift while the service runs nothing, drift when its image runs anyway', () => {
    const desired = { ...base, noVersionYet: { repository: REPOSITORY } };
    expect(driftOf(desired, [])).toBe(false);
    // Another chart's image in the same Application is not the service's.
    expect(driftOf(desired, ['docker.io/library/redis:7'])).toBe(false);
    expect(driftOf(desired, [`${REPOSITORY}:abc1234`])).toBe(true);
  });

  it('a version: drift when it is not among the running images; unknown when nothing runs or no version is read', () => {
    const desired = {
      ...base,
      image: { repository: REPOSITORY, tag: 'abc1234' },
    };
    expect(driftOf(desired, [`${REPOSITORY}:abc1234`])).toBe(false);
    expect(driftOf(desired, [`${REPOSITORY}:0ld0ld0`])).toBe(true);
    expect(driftOf(desired, [])).toBeUndefined();
    expect(
      driftOf({ ...base, error: { code: 'not-found', message: 'no image' } }, [
        `${REPOSITORY}:abc1234`,
      ]),
    ).toBeUndefined();
  });
});
