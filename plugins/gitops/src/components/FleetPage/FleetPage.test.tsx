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
import { deliveryHandlers, fleetDora } from '../../__testUtils__/delivery';
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
    server.use(
      ...deliveryHandlers(),
      http.get(`${BASE}/fleet`, () => HttpResponse.json(fleetStatus)),
    ),
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

  it("shows each service's DORA figures in the last environment, with bands, and each team's", async () => {
    const asked: string[] = [];
    server.use(
      http.get(`${BASE}/dora`, ({ request }) => {
        asked.push(new URL(request.url).searchParams.toString());
        return HttpResponse.json(fleetDora);
      }),
    );
    await render();
    expect(
      await screen.findByRole('columnheader', { name: 'Deploys/day' }),
    ).toBeInTheDocument();
    for (const name of ['Lead time', 'Failure rate', 'Restore']) {
      expect(screen.getByRole('columnheader', { name })).toBeInTheDocument();
    }
    const cells = (service: string) =>
      within(screen.getByRole('link', { name: service }).closest('tr')!)
        .getAllByRole('cell')
        .slice(-4)
        .map(c => c.textContent);
    expect(cells('service-a')).toEqual([
      '5.6/weekHigh',
      '5.5 hoursElite',
      '12.5%Medium',
      '30 minutesLow',
    ]);
    expect(cells('billing')).toEqual([
      'noneNo data',
      '—No data',
      '—No data',
      '—No data',
    ]);
    // No figures for it in the answer.
    expect(cells('service-b')).toEqual(['—', '—', '—', '—']);
    expect(asked).toEqual(['environment=prod&days=30']);

    await userEvent.click(screen.getByRole('tab', { name: 'Teams' }));
    expect(
      await screen.findByText('1 team in prod over 30 days'),
    ).toBeInTheDocument();
    const team = screen.getByText('team-checkout').closest('tr')!;
    expect(
      within(team)
        .getAllByRole('cell')
        .map(c => c.textContent),
    ).toEqual([
      'team-checkout',
      '2',
      '2.5/dayElite',
      '5.5 hoursElite',
      '12.5%Medium',
      '30 minutesLow',
    ]);
    expect(screen.queryByText('3 of 3 services')).toBeNull();
  });

  it('asks the DORA figures of the environment and window picked', async () => {
    const asked: string[] = [];
    server.use(
      http.get(`${BASE}/dora`, ({ request }) => {
        asked.push(new URL(request.url).searchParams.toString());
        return HttpResponse.json(fleetDora);
      }),
    );
    await render();
    await screen.findByRole('columnheader', { name: 'Deploys/day' });
    await userEvent.click(screen.getByRole('button', { name: '7 days' }));
    await userEvent.selectOptions(
      screen.getByLabelText('DORA environment'),
      'staging',
    );
    await waitFor(() =>
      expect(asked).toEqual([
        'environment=prod&days=30',
        'environment=prod&days=7',
        'environment=staging&days=7',
      ]),
    );
  });

  it('still shows the fleet when the DORA figures fail, and says why', async () => {
    server.use(
      http.get(`${BASE}/dora`, () =>
        HttpResponse.json(
          {
            error: { name: 'Error', message: 'The database did not answer' },
            response: { statusCode: 503 },
          },
          { status: 503 },
        ),
      ),
    );
    await render();
    expect(await screen.findByTestId('dora-error')).toHaveTextContent(
      'Could not load the DORA figures: The database did not answer',
    );
    expect(screen.getByText('3 of 3 services')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'service-a' })).toBeInTheDocument();
    expect(
      screen.queryByRole('columnheader', { name: 'Deploys/day' }),
    ).toBeNull();
  });
});
