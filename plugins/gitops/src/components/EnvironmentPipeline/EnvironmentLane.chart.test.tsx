import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import {
  ChartVersions,
  EnvironmentStatus,
} from '@gitops-backstage/plugin-gitops-common';
import { screen, within } from '@testing-library/react';
import { gitopsApiRef } from '../../api';
import { environment } from '../../__testUtils__/fixtures';
import { registerMswServer, testClient } from '../../__testUtils__/server';
import { EnvironmentLane } from './EnvironmentLane';

registerMswServer();

const shopChart: ChartVersions = {
  repoURL: 'https://charts.example.com/stable',
  chart: 'shop',
  wanted: '1.x',
  resolved: '1.2.0',
  running: '1.1.0',
  newest: '2.0.0',
  deployedBy: { name: 'shop-apps', namespace: 'argocd' },
};

/** An Application deploying the shop chart from a chart repository; its values name no image. */
function chartEnvironment(chart: ChartVersions, drift: boolean) {
  const env = environment('staging', 'unused', {
    chart,
    drift,
    live: {
      deployed: {
        id: 3,
        revision: chart.running!,
        deployedAt: '2026-11-22T10:00:00Z',
        initiatedBy: { automated: true },
      },
    },
  });
  const { image, ...desired } = env.desired!;
  return { ...env, desired } as EnvironmentStatus;
}

async function render(env: EnvironmentStatus) {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <EnvironmentLane
        entityRef="component:default/shop"
        env={env}
        first={false}
      />
    </TestApiProvider>,
    {
      apis: [
        [
          permissionApiRef,
          mockApis.permission({ authorize: AuthorizeResult.ALLOW }),
        ],
      ],
    },
  );
}

describe('EnvironmentLane of a chart from a chart repository', () => {
  it('shows the chart running, the range Git asks for with what it resolves to, the newest, and drift', async () => {
    await render(chartEnvironment(shopChart, true));
    const line = within(screen.getByTestId('chart-versions'));
    expect(line.getByText(/Chart shop/)).toBeInTheDocument();
    expect(
      within(screen.getByTestId('chart-running')).getByText('1.1.0'),
    ).toBeInTheDocument();
    expect(
      within(screen.getByTestId('chart-wanted')).getByText('1.x → 1.2.0'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('chart-wanted')).toHaveAttribute(
      'title',
      expect.stringContaining('deployed by shop-apps'),
    );
    expect(
      within(screen.getByTestId('chart-newest')).getByText('newest 2.0.0'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('drift')).toBeInTheDocument();
    // No image in Git to name: no "In Git: unknown" line beside the chart's.
    expect(screen.queryByTestId('desired-version')).not.toBeInTheDocument();
    // The deployed revision is a chart version, not a commit to link.
    expect(screen.getByText(/chart shop 1\.1\.0/)).toBeInTheDocument();
  });

  it('shows a pinned version once, no newest when it runs the newest, and why the newest is unknown', async () => {
    await render(
      chartEnvironment(
        {
          ...shopChart,
          wanted: '1.2.0',
          running: '1.2.0',
          newest: undefined,
          deployedBy: undefined,
          error: { code: 'upstream-error', message: 'index.yaml answered 503' },
        },
        false,
      ),
    );
    expect(
      within(screen.getByTestId('chart-wanted')).getByText('1.2.0'),
    ).toBeInTheDocument();
    expect(screen.getByTestId('chart-wanted')).toHaveAttribute(
      'title',
      expect.stringContaining('not from Git'),
    );
    expect(screen.queryByTestId('chart-newest')).not.toBeInTheDocument();
    expect(screen.queryByTestId('drift')).not.toBeInTheDocument();
    expect(
      screen.getByText(/Newest version unknown: index.yaml answered 503/),
    ).toBeInTheDocument();
  });

  it('names the values key pinning the version when the entity says so', async () => {
    await render(
      chartEnvironment(
        {
          ...shopChart,
          pinnedAt: { kind: 'values', key: 'environments.prod.chartVersion' },
        },
        false,
      ),
    );
    expect(screen.getByTestId('chart-wanted')).toHaveAttribute(
      'title',
      'environments.prod.chartVersion in the values of shop-apps, which renders the Application',
    );
  });
});
