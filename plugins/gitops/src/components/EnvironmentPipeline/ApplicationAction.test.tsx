import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { StatusRefreshContext } from '../DeploymentsContent/StatusRefreshContext';
import { ApplicationAction } from './ApplicationAction';

registerMswServer();
// Clicking through MUI menus in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const ACTION = `${BASE}/entities/component/default/service-a/environments/prod`;

async function render(
  authorize: AuthorizeResult.ALLOW | AuthorizeResult.DENY,
  props: Partial<Parameters<typeof ApplicationAction>[0]> = {},
  refresh = jest.fn(),
) {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <StatusRefreshContext.Provider value={refresh}>
        <ApplicationAction
          entityRef="component:default/service-a"
          environment="prod"
          application="service-a-prod"
          action="sync"
          {...props}
        />
      </StatusRefreshContext.Provider>
    </TestApiProvider>,
    { apis: [[permissionApiRef, mockApis.permission({ authorize })]] },
  );
  return refresh;
}

describe('ApplicationAction', () => {
  it('asks, syncs, shows what Argo CD answered and reloads the status', async () => {
    let body: unknown;
    server.use(
      http.post(`${ACTION}/sync`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json({
          application: { name: 'service-a-prod', namespace: 'argocd' },
          instance: 'prod',
          result: {
            syncStatus: 'OutOfSync',
            health: 'Healthy',
            operation: { phase: 'Running' },
          },
        });
      }),
    );
    const refresh = await render(AuthorizeResult.ALLOW);
    await userEvent.click(await screen.findByRole('button', { name: 'Sync' }));
    expect(
      screen.getByText(
        /Sync service-a-prod to what its config repository says now/,
      ),
    ).toBeInTheDocument();
    await userEvent.click(
      screen.getAllByRole('button', { name: 'Sync' }).at(-1)!,
    );
    expect(await screen.findByTestId('action-outcome')).toHaveTextContent(
      'Sync: operation Running (OutOfSync, Healthy)',
    );
    expect(body).toEqual({});
    expect(refresh).toHaveBeenCalled();
  });

  it('rolls back to a history id, and shows why Argo CD refused', async () => {
    let body: unknown;
    server.use(
      http.post(`${ACTION}/rollback`, async ({ request }) => {
        body = await request.json();
        return HttpResponse.json(
          {
            error: {
              name: 'ConflictError',
              message:
                'Argo CD instance "prod" answered 400: rollback cannot be initiated when auto-sync is enabled',
            },
            response: { statusCode: 409 },
          },
          { status: 409 },
        );
      }),
    );
    await render(AuthorizeResult.ALLOW, { action: 'rollback', historyId: 3 });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back' }),
    );
    await userEvent.click(
      screen.getAllByRole('button', { name: 'Roll back' }).at(-1)!,
    );
    expect(await screen.findByTestId('action-outcome')).toHaveTextContent(
      'rollback cannot be initiated when auto-sync is enabled',
    );
    expect(body).toEqual({ id: 3 });
  });

  it('rolls back through Git by pull request where the policy asks for one, and says so', async () => {
    server.use(
      http.post(`${ACTION}/rollback`, () =>
        HttpResponse.json({
          application: { name: 'service-a-prod', namespace: 'argocd' },
          instance: 'prod',
          result: { syncStatus: 'Synced', health: 'Healthy' },
          promotion: {
            id: 'r1',
            kind: 'rollback',
            status: 'pr-opened',
            version: '1a2b3c4',
            pullRequestUrl: 'https://github.example.com/o/r/pull/7',
          },
        }),
      ),
    );
    await render(AuthorizeResult.ALLOW, {
      action: 'rollback',
      historyId: 2,
      automatedSync: true,
    });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Roll back' }),
    );
    expect(
      screen.getByText(/the rollback goes through Git/),
    ).toBeInTheDocument();
    await userEvent.click(
      screen.getAllByRole('button', { name: 'Roll back' }).at(-1)!,
    );
    expect(await screen.findByTestId('action-outcome')).toHaveTextContent(
      'pull request opened (https://github.example.com/o/r/pull/7); merging it makes prod say 1a2b3c4 again',
    );
  });

  it('is disabled, with the reason, without the permission', async () => {
    // Another entity: permission answers are cached per entity across tests.
    await render(AuthorizeResult.DENY, {
      entityRef: 'component:default/service-b',
    });
    const sync = () => screen.getByRole('button', { name: 'Sync' });
    await waitFor(() => expect(sync()).toBeDisabled());
    expect(
      screen.getByTitle(
        'You may not sync component:default/service-b (gitops.application.sync)',
      ),
    ).toContainElement(sync());
  });

  it('in the last environment, warns and names the environment and the version it will run', async () => {
    let synced = false;
    server.use(
      http.post(`${ACTION}/sync`, () => {
        synced = true;
        return HttpResponse.json({
          application: { name: 'service-a-prod', namespace: 'argocd' },
          instance: 'prod',
          result: { syncStatus: 'Synced', health: 'Healthy' },
        });
      }),
    );
    await render(AuthorizeResult.ALLOW, { version: '9f8e7d6', last: true });
    await userEvent.click(await screen.findByRole('button', { name: 'Sync' }));
    const dialog = within(screen.getByRole('dialog'));
    expect(dialog.getByTestId('last-environment-warning')).toHaveTextContent(
      'prod is the last environment: prod then runs 9f8e7d6.',
    );
    expect(dialog.queryByRole('button', { name: 'Sync' })).toBeNull();
    await userEvent.click(
      dialog.getByRole('button', { name: 'Sync prod to 9f8e7d6' }),
    );
    expect(await screen.findByTestId('action-outcome')).toHaveTextContent(
      'Sync: done (Synced, Healthy)',
    );
    expect(synced).toBe(true);
  });

  it.each([
    [
      'rollback',
      'Roll back prod to commit 1a2b3c4',
      'prod then runs what config commit 1a2b3c4 deployed.',
    ],
    [
      'abort',
      'Abort 1a2b3c4 in prod',
      'prod then runs its stable version only; 1a2b3c4 is scaled down.',
    ],
    [
      'promote-full',
      'Promote 1a2b3c4 fully in prod',
      "1a2b3c4 takes all of prod's traffic.",
    ],
  ] as const)(
    'in the last environment, confirms %s by its environment and version',
    async (action, confirm, runs) => {
      await render(AuthorizeResult.ALLOW, {
        action,
        historyId: 2,
        version: '1a2b3c4',
        last: true,
      });
      await userEvent.click(await screen.findByRole('button'));
      const dialog = within(screen.getByRole('dialog'));
      expect(dialog.getByTestId('last-environment-warning')).toHaveTextContent(
        `prod is the last environment: ${runs}`,
      );
      expect(dialog.getByRole('button', { name: confirm })).toBeEnabled();
    },
  );

  it('elsewhere, names the version and keeps its plain confirmation; a refresh names none', async () => {
    await render(AuthorizeResult.ALLOW, {
      environment: 'staging',
      version: '4c5d6e7',
    });
    await userEvent.click(await screen.findByRole('button', { name: 'Sync' }));
    const dialog = within(screen.getByRole('dialog'));
    expect(dialog.getByText('staging then runs 4c5d6e7.')).toBeInTheDocument();
    expect(dialog.queryByTestId('last-environment-warning')).toBeNull();
    expect(dialog.getByRole('button', { name: 'Sync' })).toBeEnabled();
  });

  it('asks nothing more for a refresh in the last environment: it writes nothing', async () => {
    await render(AuthorizeResult.ALLOW, {
      action: 'refresh',
      version: '9f8e7d6',
      last: true,
    });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Refresh' }),
    );
    const dialog = within(screen.getByRole('dialog'));
    expect(dialog.queryByTestId('last-environment-warning')).toBeNull();
    expect(dialog.getByRole('button', { name: 'Refresh' })).toBeEnabled();
  });
});
