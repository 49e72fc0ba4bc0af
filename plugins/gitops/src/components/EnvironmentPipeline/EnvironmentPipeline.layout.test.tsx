import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
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

const SERVICE_A = `${BASE}/entities/component/default/service-a`;

// jsdom lays nothing out: the pipeline's width is what the test says, and a resize is
// the test calling the observer back.
let pipelineWidth = 0;
let resized = () => {};
beforeAll(() => {
  jest
    .spyOn(HTMLElement.prototype, 'getBoundingClientRect')
    .mockImplementation(function rect(this: HTMLElement) {
      const width = this.dataset.testid === 'pipeline' ? pipelineWidth : 0;
      return { width, height: 0, x: 0, y: 0 } as DOMRect;
    });
  (globalThis as any).ResizeObserver = class {
    constructor(callback: () => void) {
      resized = callback;
    }
    observe() {}
    disconnect() {}
  };
});
afterAll(() => {
  jest.restoreAllMocks();
  delete (globalThis as any).ResizeObserver;
});

async function render(environments: EnvironmentStatus[]) {
  server.use(
    ...deliveryHandlers(),
    http.get(`${SERVICE_A}/environments/:env/revisions/:revision`, () =>
      HttpResponse.json({ message: 'a commit' }),
    ),
  );
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <StatusRefreshContext.Provider value={jest.fn()}>
        <EnvironmentPipeline status={{ ...entityStatus, environments }} />
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
}

const order = (pipeline: HTMLElement) =>
  [...pipeline.children].map(
    child =>
      (child as HTMLElement).dataset.testid ??
      child
        .querySelector('[data-testid^="lane-"]')
        ?.getAttribute('data-testid'),
  );

describe('EnvironmentPipeline, laid out', () => {
  it('puts lanes of equal width side by side where there is room, and stacks them, the promotions between, where there is not', async () => {
    pipelineWidth = 1100;
    await render(entityStatus.environments);
    const pipeline = screen.getByTestId('pipeline');
    expect(pipeline).toHaveAttribute('data-layout', 'row');
    // Every lane one fraction of what the fixed-width steps leave.
    expect(pipeline.style.gridTemplateColumns).toBe(
      'minmax(0, 1fr) 136px minmax(0, 1fr) 136px minmax(0, 1fr)',
    );

    pipelineWidth = 700;
    act(() => resized());
    expect(pipeline).toHaveAttribute('data-layout', 'stacked');
    expect(pipeline.style.gridTemplateColumns).toBe('minmax(0, 1fr)');
    expect(order(pipeline)).toEqual([
      'lane-dev',
      'promotion-step',
      'lane-staging',
      'promotion-step',
      'lane-prod',
    ]);
  });

  it('asks explicitly before writes to the last configured environment, naming it and the version', async () => {
    pipelineWidth = 1400;
    server.use(
      http.post(`${SERVICE_A}/promotions`, () =>
        HttpResponse.json({
          id: '',
          kind: 'promotion',
          entityRef: 'component:default/service-a',
          from: 'staging',
          to: 'prod',
          version: '1a2b3c4',
          previousVersion: 'v1.4.0',
          method: 'commit',
          status: 'requested',
          actor: 'user:default/guest',
          createdAt: '2026-11-22T10:00:00Z',
          updatedAt: '2026-11-22T10:00:00Z',
          diff: '',
          gates: [],
          dryRun: true,
        }),
      ),
    );
    // An environment beyond the configured order follows prod: prod stays the last.
    await render([
      ...entityStatus.environments,
      environment('preview', '7a7a7a7'),
    ]);
    const lane = (env: string) => within(screen.getByTestId(`lane-${env}`));
    await waitFor(() =>
      expect(lane('prod').getByRole('button', { name: 'Sync' })).toBeEnabled(),
    );

    await userEvent.click(lane('prod').getByRole('button', { name: 'Sync' }));
    let dialog = within(screen.getByRole('dialog'));
    expect(
      dialog.getByRole('button', { name: 'Sync prod to v1.4.0' }),
    ).toBeInTheDocument();
    await userEvent.click(dialog.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    await userEvent.click(
      lane('preview').getByRole('button', { name: 'Sync' }),
    );
    dialog = within(screen.getByRole('dialog'));
    expect(dialog.getByRole('button', { name: 'Sync' })).toBeInTheDocument();
    expect(dialog.queryByTestId('last-environment-warning')).toBeNull();
    await userEvent.click(dialog.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());

    const [, stagingToProd] = screen.getAllByTestId('promotion-step');
    await userEvent.click(
      within(stagingToProd).getByRole('button', { name: 'Promote' }),
    );
    expect(
      await screen.findByRole('button', { name: 'Promote 1a2b3c4 to prod' }),
    ).toBeEnabled();
  });
});
