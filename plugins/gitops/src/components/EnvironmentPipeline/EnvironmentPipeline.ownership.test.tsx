import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { screen, waitFor, within } from '@testing-library/react';
import { gitopsApiRef } from '../../api';
import { environment, entityStatus } from '../../__testUtils__/fixtures';
import { deliveryHandlers } from '../../__testUtils__/delivery';
import { http, HttpResponse } from 'msw';
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

const NOT_OWNED =
  'Application service-a-prod names component:default/payments, not component:default/service-a (annotation gitops.backstage.io/entity-ref) and its project checkout is not handed to group:default/team-checkout in gitops.projects';

describe('EnvironmentPipeline, for Applications the entity may not write', () => {
  it('disables sync, refresh and the promotion into an Application it does not own, naming why, though the permission allows', async () => {
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
          <EnvironmentPipeline
            status={{
              ...entityStatus,
              environments: [
                entityStatus.environments[0],
                environment('staging', '1a2b3c4', {
                  error: {
                    code: 'invalid-response',
                    message:
                      'Instance "main" answered Application service-a-staging with an unexpected shape: status: Required',
                  },
                }),
                environment('prod', 'v1.4.0', {
                  writable: false,
                  notWritableReason: NOT_OWNED,
                }),
              ],
            }}
          />
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

    // The permission allows: once it has answered, dev's buttons are enabled.
    const dev = within(screen.getByTestId('lane-dev'));
    await waitFor(() =>
      expect(dev.getByRole('button', { name: 'Sync' })).toBeEnabled(),
    );
    const prod = within(screen.getByTestId('lane-prod'));
    for (const name of ['Sync', 'Refresh']) {
      const button = prod.getByRole('button', { name });
      expect(button).toBeDisabled();
      expect(prod.getAllByTitle(NOT_OWNED).some(t => t.contains(button))).toBe(
        true,
      );
    }
    const promote = screen.getAllByRole('button', { name: 'Promote' }).at(-1)!;
    expect(promote).toBeDisabled();
    expect(screen.getAllByTitle(NOT_OWNED).some(t => t.contains(promote))).toBe(
      true,
    );

    // The Application that could not be read says why; the others still show.
    expect(
      within(screen.getByTestId('lane-staging')).getByTestId(
        'application-error',
      ),
    ).toHaveTextContent('status: Required');
  });
});
