import { valuesFiles } from './desiredState';

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
