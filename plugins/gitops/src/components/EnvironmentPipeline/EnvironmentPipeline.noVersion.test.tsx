import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import {
  entityStatus,
  environment,
  environmentWithoutVersion,
} from '../../__testUtils__/fixtures';
import { deliveryHandlers } from '../../__testUtils__/delivery';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { StatusRefreshContext } from '../DeploymentsContent/StatusRefreshContext';
import { EnvironmentPipeline } from './EnvironmentPipeline';

registerMswServer();
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

async function render(environments: EnvironmentStatus[]) {
  // Each lane links its deployed commit; its metadata is not what is tested here.
  server.use(
    ...deliveryHandlers(),
    http.get(
      `${BASE}/entities/component/default/service-a/environments/:env/revisions/:revision`,
      () => HttpResponse.json({ message: 'a commit' }),
    ),
  );
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <StatusRefreshContext.Provider value={jest.fn()}>
        <EnvironmentPipeline status={{ ...entityStatus, environments }} />
      </StatusRefreshContext.Provider>
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

const lane = (env: string) => within(screen.getByTestId(`lane-${env}`));
const steps = () => screen.getAllByTestId('promotion-step').map(s => within(s));

describe('EnvironmentPipeline of a new service, with no version yet', () => {
  it('shows "No version yet" in every lane, neutral, with who sets it; Healthy, no drift, no error', async () => {
    await render(['dev', 'staging', 'prod'].map(environmentWithoutVersion));

    for (const env of ['dev', 'staging', 'prod']) {
      const desired = lane(env).getByTestId('desired-version');
      expect(within(desired).getByTestId('no-version-yet')).toHaveTextContent(
        'No version yet',
      );
      // Neutral: an outlined default chip, not an error or a warning.
      expect(
        within(desired).getByTestId('no-version-yet').className,
      ).not.toMatch(/error|secondary|warning/i);
      expect(desired).not.toHaveTextContent('unknown');
      expect(desired).not.toHaveTextContent('Drift');
      expect(lane(env).getByTestId('running-version')).toHaveTextContent(
        'Running: nothing',
      );
      expect(lane(env).getByTestId('health-status')).toHaveTextContent(
        'Healthy',
      );
    }
    expect(lane('dev').getByTestId('desired-version')).toHaveTextContent(
      /No version yet\s*waiting for the first build of main$/,
    );
    expect(lane('staging').getByTestId('desired-version')).toHaveTextContent(
      'waiting for the first build of main, then a promotion',
    );
    expect(lane('dev').getByTestId('no-version-yet')).toHaveAttribute(
      'title',
      'No version yet: waiting for the first build of main (chart/values-dev.yaml names no image tag)',
    );
  });

  it('disables the promotion from an environment with no version, saying why, though the permission allows', async () => {
    await render(['dev', 'staging', 'prod'].map(environmentWithoutVersion));

    // Once the permission has answered (until then every button is disabled).
    await waitFor(() =>
      expect(lane('dev').getByRole('button', { name: 'Sync' })).toBeEnabled(),
    );
    const [devToStaging, stagingToProd] = steps();
    expect(
      devToStaging.getByText('nothing to promote yet'),
    ).toBeInTheDocument();
    const promote = devToStaging.getByRole('button', { name: 'Promote' });
    expect(promote).toBeDisabled();
    const reason =
      'dev has no version yet, so there is nothing to promote (waiting for the first build of main)';
    expect(screen.getAllByTitle(reason).some(t => t.contains(promote))).toBe(
      true,
    );
    expect(
      stagingToProd.getByRole('button', { name: 'Promote' }),
    ).toBeDisabled();
    expect(
      screen.getAllByTitle(
        'staging has no version yet, so there is nothing to promote (waiting for the first build of main, then a promotion)',
      ),
    ).toHaveLength(1);
  });

  it('offers the promotion into an environment with no version: that is how it gets its first', async () => {
    await render([
      environment('dev', '4c5d6e7'),
      environmentWithoutVersion('staging'),
      environmentWithoutVersion('prod'),
    ]);

    const [devToStaging, stagingToProd] = steps();
    expect(
      devToStaging.getByText('promote: none → 4c5d6e7'),
    ).toBeInTheDocument();
    await waitFor(() =>
      expect(
        devToStaging.getByRole('button', { name: 'Promote' }),
      ).toBeEnabled(),
    );
    expect(lane('dev').getByTestId('desired-version')).toHaveTextContent(
      '4c5d6e7',
    );
    expect(
      stagingToProd.getByRole('button', { name: 'Promote' }),
    ).toBeDisabled();
  });
});
