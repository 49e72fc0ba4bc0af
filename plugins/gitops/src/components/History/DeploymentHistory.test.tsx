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
import { entityStatus, environment } from '../../__testUtils__/fixtures';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { DeploymentHistory } from './DeploymentHistory';

registerMswServer();
// Clicking through dialogs in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const SERVICE_A = `${BASE}/entities/component/default/service-a`;

/** An environment deployed twice: the older deployment may be rolled back to. */
const deployedTwice = (name: string) => {
  const older = {
    id: 1,
    revision: 'b'.repeat(40),
    deployedAt: '2026-11-21T10:00:00Z',
  };
  const newer = {
    id: 2,
    revision: 'c'.repeat(40),
    deployedAt: '2026-11-22T10:00:00Z',
  };
  return environment(name, '9f8e7d6', {
    live: { deployed: newer, history: [newer, older] },
  });
};

it('asks explicitly before rolling the last environment back, naming it and the commit', async () => {
  server.use(
    http.get(`${SERVICE_A}/promotions`, () => HttpResponse.json({ items: [] })),
    http.get(`${SERVICE_A}/environments/:env/revisions/:revision`, () =>
      HttpResponse.json({ message: 'a commit' }),
    ),
  );
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <DeploymentHistory
        status={{
          ...entityStatus,
          environments: ['dev', 'staging', 'prod'].map(deployedTwice),
        }}
      />
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
  const rollBack = () => screen.getByRole('button', { name: 'Roll back' });
  const confirmIn = async (env: string) => {
    await userEvent.click(screen.getByRole('tab', { name: env }));
    await waitFor(() => expect(rollBack()).toBeEnabled());
    await userEvent.click(rollBack());
    const dialog = within(screen.getByRole('dialog'));
    const confirm = dialog.getAllByRole('button').at(-1)!;
    await userEvent.click(dialog.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    return confirm.textContent;
  };

  expect(await confirmIn('staging')).toBe('Roll back');
  expect(await confirmIn('prod')).toBe('Roll back prod to commit bbbbbbb');
});
