import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import {
  EntityProvider,
  entityRouteRef,
} from '@backstage/plugin-catalog-react';
import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import {
  entityStatus,
  environmentWithoutVersion,
} from '../../__testUtils__/fixtures';
import {
  BASE,
  server,
  testClient,
  registerMswServer,
} from '../../__testUtils__/server';
import { EntityDeploymentsCard } from './EntityDeploymentsCard';

registerMswServer();
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

async function render() {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <EntityProvider
        entity={{
          apiVersion: 'backstage.io/v1alpha1',
          kind: 'Component',
          metadata: { name: 'service-a', namespace: 'default' },
        }}
      >
        <EntityDeploymentsCard />
      </EntityProvider>
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
}

it('shows one line per environment with version, sync and health, and links to the tab', async () => {
  server.use(
    http.get(`${BASE}/entities/component/default/service-a/status`, () =>
      HttpResponse.json({
        ...entityStatus,
        errors: [{ instance: 'edge', code: 'unreachable', message: 'x' }],
      }),
    ),
  );
  await render();
  const dev = await screen.findByTestId('card-dev');
  expect(dev).toHaveTextContent('dev4c5d6e7SyncedHealthy');
  expect(
    within(screen.getByTestId('card-prod')).getByText('v1.4.0'),
  ).toBeInTheDocument();
  expect(
    screen.getByText('Argo CD instance edge: unreachable'),
  ).toBeInTheDocument();
  expect(
    screen.getByRole('link', { name: /Environments and history/ }),
  ).toHaveAttribute('href', '/catalog/default/component/service-a/deployments');
});

it('shows a new service as "No version yet", saying who sets it', async () => {
  server.use(
    http.get(`${BASE}/entities/component/default/service-a/status`, () =>
      HttpResponse.json({
        ...entityStatus,
        environments: ['dev', 'staging', 'prod'].map(environmentWithoutVersion),
      }),
    ),
  );
  await render();
  const dev = await screen.findByTestId('card-dev');
  expect(dev).toHaveTextContent('devNo version yetSyncedHealthy');
  expect(within(dev).getByTestId('no-version-yet')).toHaveAttribute(
    'title',
    'No version yet: waiting for the first build of main (chart/values-dev.yaml names no image tag)',
  );
  expect(
    within(screen.getByTestId('card-staging')).getByTestId('no-version-yet'),
  ).toHaveAttribute(
    'title',
    'No version yet: waiting for the first build of main, then a promotion (chart/values-staging.yaml names no image tag)',
  );
});
