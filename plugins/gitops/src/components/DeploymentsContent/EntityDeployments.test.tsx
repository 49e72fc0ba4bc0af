import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { entityStatus, environment } from '../../__testUtils__/fixtures';
import { deliveryHandlers } from '../../__testUtils__/delivery';
import {
  BASE,
  server,
  testClient,
  registerMswServer,
} from '../../__testUtils__/server';
import { EntityDeployments } from './EntityDeployments';

registerMswServer();
// Clicking through MUI menus in jsdom is slow on a loaded 2-core machine.
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const STATUS = `${BASE}/entities/component/default/service-a/status`;

function answer(status: EntityDeploymentStatus, promotions: object[] = []) {
  server.use(
    ...deliveryHandlers(),
    http.get(STATUS, () => HttpResponse.json(status)),
    http.get(`${BASE}/entities/component/default/service-a/promotions`, () =>
      HttpResponse.json({ items: promotions }),
    ),
    http.get(
      `${BASE}/entities/component/default/service-a/environments/:env/revisions/:rev`,
      () =>
        HttpResponse.json({
          author: 'Ana <ana@example.com>',
          message: 'ci: bump service-a\n\nbody',
          date: '2026-11-22T10:00:00Z',
        }),
    ),
  );
}

async function render() {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <EntityDeployments entityRef="component:default/service-a" />
    </TestApiProvider>,
  );
}

describe('EntityDeployments', () => {
  it('shows a skeleton while loading, then one lane per environment in pipeline order', async () => {
    answer(entityStatus);
    await render();
    expect(screen.getByTestId('loading')).toBeInTheDocument();

    const lanes = await screen.findAllByTestId(/^lane-/);
    expect(lanes.map(l => l.getAttribute('data-testid'))).toEqual([
      'lane-dev',
      'lane-staging',
      'lane-prod',
    ]);
    const dev = within(screen.getByTestId('lane-dev'));
    expect(dev.getByTestId('running-version')).toHaveTextContent('4c5d6e7');
    expect(dev.getByTestId('desired-version')).toHaveTextContent('4c5d6e7');
    expect(dev.getByTestId('sync-status')).toHaveTextContent('Synced');
    expect(dev.getByTestId('health-status')).toHaveTextContent('Healthy');
    expect(dev.getByText('service-a-dev · Argo CD main')).toBeInTheDocument();
    expect(
      dev.getByRole('link', { name: /^service-a-dev in Argo CD/ }),
    ).toHaveAttribute(
      'href',
      'https://argocd.example.com/applications/argocd/service-a-dev',
    );
    // The deployed commit, linked on GitHub, with its message and author.
    expect(await dev.findByText(/ci: bump service-a/)).toBeInTheDocument();
    expect(dev.getByRole('link', { name: /^aaaaaaa/ })).toHaveAttribute(
      'href',
      `https://github.com/acme/service-a-config/commit/${'a'.repeat(40)}`,
    );
    // Between lanes: what a promotion would change.
    expect(
      screen
        .getAllByTestId('promotion-step')
        .map(s => within(s).getByText(/^promote: /).textContent),
    ).toEqual(['promote: 1a2b3c4 → 4c5d6e7', 'promote: v1.4.0 → 1a2b3c4']);
  });

  it('shows the DORA figures under the pipeline, in the environments of the pipeline', async () => {
    answer(entityStatus);
    await render();
    const card = await screen.findByTestId('gitops-dora-card');
    expect(
      await within(card).findByTestId('dora-changeFailureRate'),
    ).toHaveTextContent('12.5%');
    expect(
      screen.getByTestId('pipeline').compareDocumentPosition(card) &
        Node.DOCUMENT_POSITION_FOLLOWING,
    ).toBeTruthy();
    expect(
      within(card)
        .getAllByRole('option')
        .map(o => o.textContent),
    ).toEqual(['dev', 'staging', 'prod']);
  });

  it('marks drift, a failed operation, a degraded app and Rollout progress', async () => {
    answer({
      ...entityStatus,
      environments: [
        environment('dev', 'feedbee', {
          drift: true,
          live: {
            images: ['registry.example.com/checkout/service-a:4c5d6e7'],
            syncStatus: 'OutOfSync',
            operation: {
              phase: 'Failed',
              message: 'one or more objects failed to apply',
            },
          },
        }),
        environment('staging', '1a2b3c4', {
          live: {
            health: { status: 'Suspended', message: 'Rollout is paused' },
            rollout: {
              name: 'service-a',
              strategy: 'canary',
              phase: 'Paused',
              currentStepIndex: 1,
              stepCount: 4,
              canaryWeight: 20,
              stableWeight: 80,
              actions: ['resume', 'promote-full', 'abort'],
            },
          },
        }),
        environment('prod', 'v1.4.0', {
          live: {
            health: {
              status: 'Degraded',
              message: 'Deployment exceeded its progress deadline',
            },
          },
        }),
      ],
    });
    await render();
    const dev = within(await screen.findByTestId('lane-dev'));
    expect(
      dev.getByText('Drift: Git differs from what runs'),
    ).toBeInTheDocument();
    expect(dev.getByTestId('running-version')).toHaveTextContent('4c5d6e7');
    expect(dev.getByTestId('desired-version')).toHaveTextContent('feedbee');
    expect(dev.getByTestId('sync-status')).toHaveTextContent('Out of sync');
    expect(dev.getByRole('alert')).toHaveTextContent(
      'Operation Failed: one or more objects failed to apply',
    );
    const staging = within(screen.getByTestId('lane-staging'));
    expect(staging.getByTestId('rollout')).toHaveTextContent(
      'Canary Paused: step 1 of 4, 20% canary / 80% stable',
    );
    expect(
      within(screen.getByTestId('lane-prod')).getByRole('alert'),
    ).toHaveTextContent('Deployment exceeded its progress deadline');
  });

  it('keeps the answered environments when an instance fails, and names the instance and code', async () => {
    answer({
      ...entityStatus,
      environments: entityStatus.environments.filter(
        e => e.instance !== 'prod',
      ),
      errors: [
        {
          instance: 'prod',
          code: 'unauthorized',
          message: 'Argo CD instance "prod" refused the credentials (401)',
        },
      ],
    });
    await render();
    expect(await screen.findByTestId('lane-dev')).toBeInTheDocument();
    expect(screen.getByTestId('lane-staging')).toBeInTheDocument();
    const prod = within(screen.getByTestId('lane-prod'));
    expect(prod.getByTestId('instance-error')).toHaveTextContent(
      'Argo CD instance prod: unauthorized — Argo CD instance "prod" refused the credentials (401)',
    );
  });

  it('shows the error when the request fails', async () => {
    server.use(
      http.get(STATUS, () =>
        HttpResponse.json(
          {
            error: {
              name: 'InputError',
              message:
                'Invalid annotation argocd/app-selector: "x y" is not a valid label selector term',
            },
            response: { statusCode: 400 },
          },
          { status: 400 },
        ),
      ),
    );
    await render();
    expect(
      await screen.findByText(/is not a valid label selector term/),
    ).toBeInTheDocument();
  });

  it('pages through the history of the selected environment, newest first', async () => {
    const history = Array.from({ length: 7 }, (_, i) => ({
      id: 6 - i,
      revision: String(6 - i).repeat(40),
      deployedAt: `2026-11-2${2 - Math.floor(i / 3)}T0${i}:00:00Z`,
      initiatedBy: { username: 'admin' },
    }));
    answer({
      ...entityStatus,
      environments: [
        environment('dev', '4c5d6e7'),
        environment('prod', 'v1.4.0', {
          live: { history, deployed: history[0] },
        }),
      ],
    });
    await render();
    const prodTab = await screen.findByRole('tab', { name: 'prod' });
    await userEvent.click(prodTab);
    const table = screen.getByRole('table', {
      name: 'deployment history of prod',
    });
    await waitFor(() =>
      expect(within(table).getAllByTestId('history-row')).toHaveLength(5),
    );
    expect(within(table).getAllByTestId('history-row')[0]).toHaveTextContent(
      '6',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Next page' }));
    expect(
      within(table)
        .getAllByTestId('history-row')
        .map(r => r.firstChild?.textContent),
    ).toEqual(['1', '0']);
  });

  it('lists the promotions and rollbacks of the selected environment', async () => {
    answer(entityStatus, [
      {
        id: 'r1',
        kind: 'rollback',
        entityRef: 'component:default/service-a',
        from: 'staging',
        to: 'staging',
        version: '1a2b3c4',
        previousVersion: '4c5d6e7',
        method: 'commit',
        status: 'committed',
        commit: 'e'.repeat(40),
        actor: 'user:default/guest',
        createdAt: '2026-11-22T11:00:00Z',
        updatedAt: '2026-11-22T11:00:00Z',
      },
      {
        id: 'p1',
        kind: 'promotion',
        entityRef: 'component:default/service-a',
        from: 'dev',
        to: 'staging',
        version: '4c5d6e7',
        previousVersion: '1a2b3c4',
        method: 'commit',
        status: 'committed',
        commit: 'f'.repeat(40),
        actor: 'user:default/guest',
        createdAt: '2026-11-22T10:00:00Z',
        updatedAt: '2026-11-22T10:00:00Z',
      },
    ]);
    await render();
    await userEvent.click(await screen.findByRole('tab', { name: 'staging' }));
    const table = await screen.findByRole('table', {
      name: 'promotions and rollbacks of staging',
    });
    expect(
      within(table)
        .getAllByTestId('promotion-row')
        .map(row => row.textContent),
    ).toEqual([
      expect.stringMatching(
        /agouser:default\/guest4c5d6e7 → 1a2b3c4 \(rollback\)committed · eeeeeee$/,
      ),
      expect.stringMatching(
        /agouser:default\/guest1a2b3c4 → 4c5d6e7 \(from dev\)committed · fffffff$/,
      ),
    ]);
    await userEvent.click(screen.getByRole('tab', { name: 'dev' }));
    expect(
      screen.queryByRole('table', { name: /promotions and rollbacks of/ }),
    ).not.toBeInTheDocument();
  });
});
