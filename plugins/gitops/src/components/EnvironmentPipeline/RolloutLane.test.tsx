import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { RolloutProgress } from '@gitops-backstage/plugin-gitops-common';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { environment } from '../../__testUtils__/fixtures';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { StatusRefreshContext } from '../DeploymentsContent/StatusRefreshContext';
import { RolloutLane } from './RolloutLane';

registerMswServer();
// Clicking through MUI dialogs in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const paused: RolloutProgress = {
  name: 'service-a',
  namespace: 'checkout-staging',
  phase: 'Paused',
  strategy: 'canary',
  currentStepIndex: 1,
  stepCount: 4,
  canaryWeight: 50,
  stableWeight: 50,
  actions: ['resume', 'promote-full', 'abort'],
};

async function render(
  rollout: RolloutProgress,
  authorize:
    | AuthorizeResult.ALLOW
    | AuthorizeResult.DENY = AuthorizeResult.ALLOW,
  entityRef = 'component:default/service-a',
) {
  const refresh = jest.fn();
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <StatusRefreshContext.Provider value={refresh}>
        <RolloutLane
          entityRef={entityRef}
          env={environment('staging', '1a2b3c4', { live: { rollout } })}
          rollout={rollout}
        />
      </StatusRefreshContext.Provider>
    </TestApiProvider>,
    { apis: [[permissionApiRef, mockApis.permission({ authorize })]] },
  );
  return refresh;
}

describe('RolloutLane', () => {
  it("offers the actions Argo CD offers now, asks, and aborts through the backend's rollout route", async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post(
        `${BASE}/entities/component/default/service-a/environments/staging/rollout`,
        async ({ request }) => {
          bodies.push(await request.json());
          return HttpResponse.json({
            application: { name: 'service-a-staging', namespace: 'argocd' },
            instance: 'main',
            result: { syncStatus: 'Synced', health: 'Suspended' },
          });
        },
      ),
    );
    const refresh = await render(paused);
    expect(screen.getByText(/Canary Paused: step 1 of 4/)).toBeInTheDocument();
    const actions = within(screen.getByTestId('rollout-actions'));
    expect(actions.getAllByRole('button').map(b => b.textContent)).toEqual([
      'Promote',
      'Promote full',
      'Abort',
    ]);
    await userEvent.click(actions.getByRole('button', { name: 'Abort' }));
    const dialog = within(await screen.findByRole('dialog'));
    expect(
      dialog.getByText('Abort service-a-staging (staging)'),
    ).toBeInTheDocument();
    expect(
      dialog.getByText(/All traffic goes back to the stable version/),
    ).toBeInTheDocument();
    await userEvent.click(dialog.getByRole('button', { name: 'Abort' }));
    expect(await screen.findByTestId('action-outcome')).toHaveTextContent(
      'Abort: done (Synced, Suspended)',
    );
    expect(bodies).toEqual([{ action: 'abort' }]);
    expect(refresh).toHaveBeenCalled();
  });

  it('shows an aborted update with Retry, and disables the controls without the permission', async () => {
    await render(
      {
        ...paused,
        phase: 'Degraded',
        aborted: true,
        canaryWeight: 0,
        stableWeight: 100,
        actions: ['promote-full', 'retry'],
      },
      AuthorizeResult.DENY,
      // Another entity: permission answers are cached per entity across tests.
      'component:default/service-b',
    );
    expect(screen.getByTestId('rollout-aborted')).toHaveTextContent(
      'Update aborted: traffic is back on the stable version',
    );
    // Once the permission answers: the button is then wrapped for its tooltip.
    await waitFor(() =>
      expect(screen.getByRole('button', { name: 'Retry' })).toBeDisabled(),
    );
    expect(screen.getByRole('button', { name: 'Promote full' })).toBeDisabled();
    expect(
      screen.getByTitle(
        'You may not retry component:default/service-b (gitops.rollout.control)',
      ),
    ).toBeInTheDocument();
  });

  it('shows no controls for a Rollout that is done', async () => {
    await render({ ...paused, phase: 'Healthy', actions: [] });
    expect(screen.queryByTestId('rollout-actions')).not.toBeInTheDocument();
  });

  it('shows a paused blue/green preview: its version, where it answers, the active version', async () => {
    await render({
      name: 'shop',
      phase: 'Paused',
      strategy: 'blueGreen',
      activeSelector: 'aaa',
      previewSelector: 'bbb',
      previewImages: ['registry.example.com/shop:2b2b2b2'],
      activeImages: ['registry.example.com/shop:1a1a1a1'],
      previewUrl: 'https://shop-preview.staging.example.com',
      pauseReasons: ['BlueGreenPause'],
      actions: ['resume', 'promote-full', 'abort'],
    });
    expect(
      screen.getByText(/Blue\/green Paused \(paused: BlueGreenPause\)/),
    ).toBeInTheDocument();
    const preview = within(screen.getByTestId('rollout-preview'));
    expect(preview.getByText(/Preview \(bbb\)/)).toBeInTheDocument();
    expect(preview.getByText('2b2b2b2')).toBeInTheDocument();
    expect(
      preview.getByRole('link', {
        name: /^https:\/\/shop-preview.staging.example.com/,
      }),
    ).toHaveAttribute('href', 'https://shop-preview.staging.example.com');
    const active = within(screen.getByTestId('rollout-active'));
    expect(active.getByText(/Active \(aaa\)/)).toBeInTheDocument();
    expect(active.getByText('1a1a1a1')).toBeInTheDocument();
  });

  it('says a blue/green Rollout has no preview once the active ReplicaSet runs the current version', async () => {
    await render({
      name: 'shop',
      phase: 'Healthy',
      strategy: 'blueGreen',
      activeSelector: 'bbb',
      previewSelector: 'bbb',
      actions: [],
    });
    expect(screen.queryByTestId('rollout-preview')).not.toBeInTheDocument();
    expect(
      screen.getByText(/No preview: the active ReplicaSet \(bbb\)/),
    ).toBeInTheDocument();
  });
});
