import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { EntityDeploymentStatus } from '@gitops-backstage/plugin-gitops-common';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { useState } from 'react';
import { gitopsApiRef } from '../../api';
import { entityStatus, environment } from '../../__testUtils__/fixtures';
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
// Clicking through dialogs in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const statusWith = (staging: string): EntityDeploymentStatus => ({
  ...entityStatus,
  environments: [
    environment('dev', '4c5d6e7'),
    environment('staging', staging),
    environment('prod', '1a2b3c4'),
  ],
});

/** The Deployments tab's part that matters here: a refresh loads the next status. */
function Pipeline(props: { after: EntityDeploymentStatus }) {
  const [status, setStatus] = useState(statusWith('1a2b3c4'));
  return (
    <StatusRefreshContext.Provider value={() => setStatus(props.after)}>
      <EnvironmentPipeline status={status} />
    </StatusRefreshContext.Provider>
  );
}

describe('EnvironmentPipeline, promoting', () => {
  it('keeps the dialog and its result open when the refresh after the promotion puts the two environments in step', async () => {
    server.use(
      ...deliveryHandlers(),
      http.get(
        `${BASE}/entities/component/default/service-a/environments/:env/revisions/:revision`,
        () => HttpResponse.json({ message: 'a commit' }),
      ),
      http.post(
        `${BASE}/entities/component/default/service-a/promotions`,
        async ({ request }) => {
          const body: any = await request.json();
          return HttpResponse.json(
            {
              id: body.dryRun ? '' : 'p1',
              kind: 'promotion',
              entityRef: 'component:default/service-a',
              from: 'dev',
              to: 'staging',
              version: '4c5d6e7',
              previousVersion: '1a2b3c4',
              method: 'commit',
              status: body.dryRun ? 'requested' : 'committed',
              ...(!body.dryRun && { commit: 'abcdef1234567' }),
              actor: 'user:default/guest',
              createdAt: '2026-11-22T10:00:00Z',
              updatedAt: '2026-11-22T10:00:00Z',
              diff: '',
              gates: [],
              dryRun: Boolean(body.dryRun),
            },
            { status: body.dryRun ? 200 : 201 },
          );
        },
      ),
    );
    await renderInTestApp(
      <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
        <Pipeline after={statusWith('4c5d6e7')} />
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
    const step = () => within(screen.getAllByTestId('promotion-step')[0]);
    expect(step().getByText('promote: 1a2b3c4 → 4c5d6e7')).toBeInTheDocument();
    await userEvent.click(step().getByRole('button', { name: 'Promote' }));
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote 4c5d6e7' }),
    );

    // The refresh has put dev and staging in step: no button on the step any more,
    // and the dialog still says what was done.
    expect(await step().findByText('in step')).toBeInTheDocument();
    expect(step().queryByRole('button', { name: 'Promote' })).toBeNull();
    expect(screen.getByTestId('promotion-result')).toHaveTextContent(
      'Committed abcdef1: staging now says 4c5d6e7',
    );
    await userEvent.click(screen.getByRole('button', { name: 'Close' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
  });
});
