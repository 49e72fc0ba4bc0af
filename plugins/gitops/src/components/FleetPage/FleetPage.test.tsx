import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { entityRouteRef } from '@backstage/plugin-catalog-react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import {
  environmentWithoutVersion,
  fleetStatus,
} from '../../__testUtils__/fixtures';
import {
  BASE,
  server,
  testClient,
  registerMswServer,
} from '../../__testUtils__/server';
import { FleetPage } from './FleetPage';

registerMswServer();
// Clicking through MUI menus in jsdom is slow on a loaded 2-core machine.
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

async function render() {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <FleetPage />
    </TestApiProvider>,
    { mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef } },
  );
}

const serviceNames = () =>
  screen
    .getAllByRole('row')
    .slice(1)
    .map(row => within(row).queryAllByRole('link')[0]?.textContent)
    .filter(Boolean);

describe('FleetPage', () => {
  beforeEach(() =>
    server.use(http.get(`${BASE}/fleet`, () => HttpResponse.json(fleetStatus))),
  );

  it('lists every service with a coloured version per environment, linking to its tab', async () => {
    await render();
    expect(await screen.findByText('3 of 3 services')).toBeInTheDocument();
    expect(
      screen.getByRole('columnheader', { name: 'dev' }),
    ).toBeInTheDocument();
    expect(
      screen.getByRole('columnheader', { name: 'prod' }),
    ).toBeInTheDocument();
    const link = screen.getByRole('link', { name: 'service-a' });
    expect(link).toHaveAttribute(
      'href',
      '/catalog/default/component/service-a/deployments',
    );
    const row = link.closest('tr')!;
    expect(
      within(row)
        .getAllByTestId(/^fleet-/)
        .map(c => c.textContent),
    ).toEqual(['4c5d6e7', '1a2b3c4', 'v1.4.0']);
    expect(within(row).getByTestId('fleet-dev')).toHaveStyle({
      background: '#2e7d32',
    });
  });

  it('filters by out of sync, degraded and owner', async () => {
    await render();
    await screen.findByText('3 of 3 services');
    await userEvent.click(
      screen.getByRole('checkbox', { name: 'Out of sync' }),
    );
    expect(screen.getByText('1 of 3 services')).toBeInTheDocument();
    expect(serviceNames()).toEqual(['service-b']);
    await userEvent.click(
      screen.getByRole('checkbox', { name: 'Out of sync' }),
    );
    await userEvent.click(screen.getByRole('checkbox', { name: 'Degraded' }));
    expect(serviceNames()).toEqual(['billing']);
    await userEvent.click(screen.getByRole('checkbox', { name: 'Degraded' }));

    await userEvent.click(screen.getByLabelText('Owner'));
    await userEvent.click(
      await screen.findByRole('option', { name: 'team-checkout' }),
    );
    await waitFor(() =>
      expect(screen.getByText('2 of 3 services')).toBeInTheDocument(),
    );
    expect(serviceNames().sort()).toEqual(['service-a', 'service-b']);
  });

  it('names an instance that did not answer', async () => {
    server.use(
      http.get(`${BASE}/fleet`, () =>
        HttpResponse.json({
          ...fleetStatus,
          errors: [
            {
              instance: 'prod',
              code: 'timeout',
              message: 'Argo CD instance "prod" did not answer within 5 s',
            },
          ],
        }),
      ),
    );
    await render();
    expect(await screen.findByTestId('instance-error')).toHaveTextContent(
      'Argo CD instance prod did not answer: timeout — Argo CD instance "prod" did not answer within 5 s',
    );
  });

  it('shows a new service as "No version yet" in a neutral grey, saying who sets it, not as a failure', async () => {
    server.use(
      http.get(`${BASE}/fleet`, () =>
        HttpResponse.json({
          ...fleetStatus,
          entities: [
            {
              entityRef: 'component:default/shop',
              owner: 'team-checkout',
              system: 'checkout',
              environments: ['dev', 'staging', 'prod'].map(
                environmentWithoutVersion,
              ),
            },
          ],
        }),
      ),
    );
    await render();
    const row = (await screen.findByRole('link', { name: 'shop' })).closest(
      'tr',
    )!;
    const cells = within(row).getAllByTestId(/^fleet-/);
    expect(cells.map(c => c.textContent)).toEqual([
      'No version yet',
      'No version yet',
      'No version yet',
    ]);
    for (const cell of cells) {
      expect(cell).toHaveStyle({ background: '#757575' });
    }
    expect(cells[0]).toHaveAttribute(
      'title',
      'Synced, Healthy, no version yet, waiting for the first build of main (Argo CD main)',
    );
    expect(cells[1].getAttribute('title')).toContain(
      'waiting for the first build of main, then a promotion',
    );
    // Not drift: the Drift filter leaves it out.
    await userEvent.click(screen.getByRole('checkbox', { name: 'Drift' }));
    expect(screen.getByText('0 of 1 services')).toBeInTheDocument();
  });
});
