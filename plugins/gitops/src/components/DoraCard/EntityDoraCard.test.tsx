import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { EntityDora } from '@gitops-backstage/plugin-gitops-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { entityStatus } from '../../__testUtils__/fixtures';
import { entityDora } from '../../__testUtils__/delivery';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { EntityDoraCard } from './EntityDoraCard';

registerMswServer();
// Clicking through MUI menus in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const SERVICE_A = `${BASE}/entities/component/default/service-a`;

/** Answers the status and DORA routes; returns each DORA query asked. */
function answer(dora: (query: URLSearchParams) => EntityDora | Response) {
  const asked: string[] = [];
  server.use(
    http.get(`${SERVICE_A}/status`, () => HttpResponse.json(entityStatus)),
    http.get(`${SERVICE_A}/dora`, ({ request }) => {
      const query = new URL(request.url).searchParams;
      asked.push(query.toString());
      const answered = dora(query);
      return answered instanceof Response
        ? answered
        : HttpResponse.json(answered);
    }),
  );
  return asked;
}

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
        <EntityDoraCard />
      </EntityProvider>
    </TestApiProvider>,
  );
}

const figure = (key: string) => screen.getByTestId(`dora-${key}`);

describe('EntityDoraCard', () => {
  it('shows the four figures in human units, each with its band, and the weekly trend', async () => {
    const asked = answer(() => entityDora());
    await render();
    await screen.findByTestId('dora-deploymentFrequency');
    // Under one a day: per week.
    expect(figure('deploymentFrequency')).toHaveTextContent(
      'Deployment frequency5.6/week24 deployments in 30 daysHigh',
    );
    expect(figure('leadTime')).toHaveTextContent(
      'Lead time for changes5.5 hoursmedian; p90 1.3 days, 40 commitsElite',
    );
    expect(figure('changeFailureRate')).toHaveTextContent(
      'Change failure rate12.5%3 of 24 deployments failedMedium',
    );
    expect(figure('timeToRestore')).toHaveTextContent(
      'Time to restore30 minutesmedian; 2 restored, 1 openLow',
    );
    expect(
      within(figure('timeToRestore')).getByText('Low').closest('[data-band]'),
    ).toHaveAttribute('data-band', 'low');
    expect(
      screen.getByRole('img', {
        name: 'Deployments per week over 5 weeks, oldest first: 4, 6 (1 failed), 5, 7 (2 failed), 2. 24 in all, 3 failed.',
      }),
    ).toBeInTheDocument();
    expect(
      screen.getByTestId('dora-trend').querySelectorAll('[data-failed]'),
    ).toHaveLength(2);
    expect(
      screen.getByText('DORA figures of prod over 30 days'),
    ).toBeInTheDocument();
    // The backend chose the environment: the selector says which.
    expect(screen.getByLabelText('DORA environment')).toHaveValue('prod');
    expect(asked).toEqual(['days=30']);
  });

  it('says "No data" for figures without any, and none for no deployments', async () => {
    answer(() =>
      entityDora({
        deployments: 0,
        deploymentFrequency: { perDay: 0 },
        leadTime: { commits: 0 },
        changeFailureRate: { failed: 0 },
        timeToRestore: { restored: 0, open: 0 },
        trend: [],
      }),
    );
    await render();
    await screen.findByTestId('dora-deploymentFrequency');
    expect(figure('deploymentFrequency')).toHaveTextContent(
      'none0 deployments in 30 daysNo data',
    );
    expect(figure('leadTime')).toHaveTextContent('—no commits shippedNo data');
    expect(figure('changeFailureRate')).toHaveTextContent(
      '—0 of 0 deployments failedNo data',
    );
    expect(figure('timeToRestore')).toHaveTextContent('—');
    expect(screen.getAllByText('No data')).toHaveLength(4);
    expect(screen.getByText('No weeks to show.')).toBeInTheDocument();
  });

  it('asks again for the window and the environment picked', async () => {
    const asked = answer(query =>
      entityDora({
        environment: query.get('environment') ?? 'prod',
        windowDays: Number(query.get('days')),
      }),
    );
    await render();
    await screen.findByText('DORA figures of prod over 30 days');

    await userEvent.click(screen.getByRole('button', { name: '90 days' }));
    expect(
      await screen.findByText('DORA figures of prod over 90 days'),
    ).toBeInTheDocument();
    expect(screen.getByRole('button', { name: '90 days' })).toHaveAttribute(
      'aria-pressed',
      'true',
    );

    // The entity's environments, in pipeline order.
    expect(screen.getAllByRole('option').map(o => o.textContent)).toEqual([
      'dev',
      'staging',
      'prod',
    ]);
    await userEvent.selectOptions(
      screen.getByLabelText('DORA environment'),
      'staging',
    );
    expect(
      await screen.findByText('DORA figures of staging over 90 days'),
    ).toBeInTheDocument();
    expect(asked).toEqual([
      'days=30',
      'days=90',
      'environment=staging&days=90',
    ]);
  });

  it('says why the figures could not be loaded', async () => {
    answer(() =>
      HttpResponse.json(
        {
          error: { name: 'Error', message: 'The database did not answer' },
          response: { statusCode: 503 },
        },
        { status: 503 },
      ),
    );
    await render();
    expect(await screen.findByTestId('dora-error')).toHaveTextContent(
      'Could not load the DORA figures: The database did not answer',
    );
    await waitFor(() =>
      expect(screen.queryByTestId('dora-deploymentFrequency')).toBeNull(),
    );
  });
});
