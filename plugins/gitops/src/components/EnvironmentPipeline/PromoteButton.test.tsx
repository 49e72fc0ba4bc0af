import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { PromotionResult } from '@gitops-backstage/plugin-gitops-common';
import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { changeLog } from '../../__testUtils__/delivery';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { StatusRefreshContext } from '../DeploymentsContent/StatusRefreshContext';
import { PromoteButton } from './PromoteButton';

registerMswServer();
// Clicking through dialogs in jsdom is slow on a loaded 2-core machine.
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const PROMOTIONS = `${BASE}/entities/component/default/service-a/promotions`;

const result = (overrides: Partial<PromotionResult>): PromotionResult => ({
  id: '',
  kind: 'promotion',
  entityRef: 'component:default/service-a',
  from: 'dev',
  to: 'staging',
  version: '4c5d6e7',
  previousVersion: '1a2b3c4',
  method: 'commit',
  status: 'requested',
  actor: 'user:default/guest',
  createdAt: '2026-11-22T10:00:00Z',
  updatedAt: '2026-11-22T10:00:00Z',
  diff: "-  tag: '1a2b3c4'\n+  tag: '4c5d6e7'\n",
  renderedDiff:
    '-        image: service-a:1a2b3c4\n+        image: service-a:4c5d6e7\n',
  gates: [
    { name: 'source synced', passed: true, message: 'dev is Synced' },
    { name: 'source healthy', passed: true, message: 'dev is Healthy' },
  ],
  dryRun: true,
  ...overrides,
});

async function render(
  entityRef = 'component:default/service-a',
  refresh = jest.fn(),
  props: { from?: string; to?: string; last?: boolean } = {},
) {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <StatusRefreshContext.Provider value={refresh}>
        <PromoteButton
          entityRef={entityRef}
          from="dev"
          to="staging"
          {...props}
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
  return refresh;
}

describe('PromoteButton', () => {
  it('says when the chart and the image move together, and where each is written', async () => {
    server.use(
      http.post(PROMOTIONS, () =>
        HttpResponse.json(
          result({
            version: '1.2.0',
            previousVersion: '1.1.0',
            moves: [
              {
                what: 'chart',
                from: '1.1.0',
                to: '1.2.0',
                file: 'argocd/staging.yaml',
                key: 'spec.sources.0.targetRevision',
              },
              {
                what: 'image',
                from: '1a2b3c4',
                to: '4c5d6e7',
                file: 'envs/values-staging.yaml',
                key: 'image.tag',
              },
            ],
          }),
        ),
      ),
    );
    await render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(await screen.findByTestId('promotion-summary')).toHaveTextContent(
      'staging moves its chart and its image together, by a commit',
    );
    const moves = screen.getByTestId('promotion-moves');
    expect(moves).toHaveTextContent(
      'Chart 1.1.0 → 1.2.0spec.sources.0.targetRevision in argocd/staging.yaml',
    );
    expect(moves).toHaveTextContent(
      'Image 1a2b3c4 → 4c5d6e7image.tag in envs/values-staging.yaml',
    );
  });

  it('previews what moves and the diff, then commits once with an idempotency key', async () => {
    const bodies: any[] = [];
    server.use(
      http.post(PROMOTIONS, async ({ request }) => {
        const body: any = await request.json();
        bodies.push(body);
        return body.dryRun
          ? HttpResponse.json(result({}))
          : HttpResponse.json(
              result({
                id: 'p1',
                status: 'committed',
                dryRun: false,
                commit: 'abcdef1234567',
              }),
              {
                status: 201,
              },
            );
      }),
    );
    const refresh = await render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(await screen.findByTestId('promotion-summary')).toHaveTextContent(
      'staging moves from 1a2b3c4 to 4c5d6e7, by a commit to its config repository',
    );
    expect(screen.getByTestId('promotion-diff')).toHaveTextContent(
      "+ tag: '4c5d6e7'",
    );
    expect(screen.getByTestId('promotion-rendered-diff')).toHaveTextContent(
      '+ image: service-a:4c5d6e7',
    );
    // Coloured as GitHub shows diffs: each line marked added or removed.
    const diff = screen.getByTestId('promotion-diff');
    expect(diff.querySelector('[data-diff="added"]')).toHaveTextContent(
      "+ tag: '4c5d6e7'",
    );
    expect(diff.querySelector('[data-diff="removed"]')).toHaveTextContent(
      "- tag: '1a2b3c4'",
    );
    // No change log in the answer: nothing about app commits.
    expect(screen.queryByTestId('change-log')).toBeNull();
    // Only the last environment gets the explicit warning.
    expect(screen.queryByTestId('last-environment-warning')).toBeNull();
    expect(screen.getByTestId('promotion-gates')).toHaveTextContent(
      'source healthydev is Healthy',
    );
    await userEvent.click(
      screen.getByRole('button', { name: 'Promote 4c5d6e7' }),
    );
    expect(await screen.findByTestId('promotion-result')).toHaveTextContent(
      'Committed abcdef1: staging now says 4c5d6e7',
    );
    expect(bodies).toEqual([
      { from: 'dev', to: 'staging', dryRun: true },
      {
        from: 'dev',
        to: 'staging',
        idempotencyKey: expect.stringMatching(/^[0-9a-f-]{36}$/),
      },
    ]);
    expect(refresh).toHaveBeenCalled();
  });

  it('lists the app commits the promotion ships, above the diffs', async () => {
    server.use(
      http.post(PROMOTIONS, () =>
        HttpResponse.json(result({ changeLog: changeLog({ total: 5 }) })),
      ),
    );
    await render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    const log = await screen.findByTestId('change-log');
    expect(log).toHaveTextContent('staging gets these 5 changes');
    expect(
      within(log)
        .getAllByTestId('change-log-commit')
        .map(c => c.textContent),
    ).toEqual([
      expect.stringContaining('feat: pay by invoice PAY-12'),
      expect.stringContaining('fix: round totals'),
    ]);
    expect(within(log).getByTestId('change-log-more')).toHaveTextContent(
      'and 3 more',
    );
    // What ships comes before how the config changes.
    expect(
      log.compareDocumentPosition(screen.getByTestId('promotion-diff')) &
        Node.DOCUMENT_POSITION_FOLLOWING,
    ).toBeTruthy();
  });

  it('names the gate that refuses, and offers no confirmation', async () => {
    server.use(
      http.post(`${BASE}/entities/component/default/service-b/promotions`, () =>
        HttpResponse.json(
          {
            error: {
              name: 'ConflictError',
              message: 'Gate "source healthy" refused: dev is Degraded',
            },
            response: { statusCode: 409 },
          },
          { status: 409 },
        ),
      ),
    );
    await render('component:default/service-b');
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(await screen.findByTestId('promotion-error')).toHaveTextContent(
      'Gate "source healthy" refused: dev is Degraded',
    );
    // The opener is hidden behind the dialog; the dialog's own button stays disabled.
    expect(screen.getByRole('button', { name: 'Promote' })).toBeDisabled();
  });

  it('shows a failing gate in the preview and offers no confirmation; a pull request is linked', async () => {
    let gatePasses = false;
    server.use(
      http.post(PROMOTIONS, async ({ request }) => {
        const body: any = await request.json();
        if (body.dryRun) {
          return HttpResponse.json(
            result({
              method: 'pull-request',
              renderedDiff: undefined,
              renderedDiffNote: 'The backend has no helm',
              gates: [
                {
                  name: 'soak time',
                  passed: gatePasses,
                  message:
                    'dev has run its version for 5 min; the policy asks 60 min',
                },
              ],
            }),
          );
        }
        return HttpResponse.json(
          result({
            id: 'p2',
            method: 'pull-request',
            status: 'pr-opened',
            dryRun: false,
            commit: 'abcdef1234567',
            pullRequestUrl: 'https://github.com/acme/service-a-config/pull/7',
          }),
          { status: 201 },
        );
      }),
    );
    await render();
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(await screen.findByTestId('promotion-gates')).toHaveTextContent(
      'the policy asks 60 min',
    );
    expect(screen.getByText('The backend has no helm')).toBeInTheDocument();
    expect(
      screen.getByRole('button', { name: 'Promote 4c5d6e7' }),
    ).toBeDisabled();

    gatePasses = true;
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(await screen.findByTestId('promotion-summary')).toHaveTextContent(
      'by a pull request',
    );
    await userEvent.click(
      screen.getByRole('button', { name: 'Promote 4c5d6e7' }),
    );
    const done = await screen.findByTestId('promotion-result');
    expect(done).toHaveTextContent('Opened a pull request');
    expect(
      screen.getByRole('link', { name: /^a pull request/ }),
    ).toHaveAttribute(
      'href',
      'https://github.com/acme/service-a-config/pull/7',
    );
  });

  it('into the last environment, warns and names the environment and the version on its button', async () => {
    const bodies: any[] = [];
    server.use(
      http.post(PROMOTIONS, async ({ request }) => {
        const body: any = await request.json();
        bodies.push(body);
        return HttpResponse.json(
          result({
            from: 'staging',
            to: 'prod',
            version: '9f8e7d6',
            previousVersion: 'v1.4.0',
            ...(!body.dryRun && {
              id: 'p3',
              status: 'committed',
              dryRun: false,
              commit: 'fedcba9876543',
            }),
          }),
          { status: body.dryRun ? 200 : 201 },
        );
      }),
    );
    await render('component:default/service-a', jest.fn(), {
      from: 'staging',
      to: 'prod',
      last: true,
    });
    await userEvent.click(
      await screen.findByRole('button', { name: 'Promote' }),
    );
    expect(
      await screen.findByTestId('last-environment-warning'),
    ).toHaveTextContent(
      'prod is the last environment: confirming makes it run 9f8e7d6',
    );
    expect(
      screen.queryByRole('button', { name: 'Promote 9f8e7d6' }),
    ).toBeNull();
    await userEvent.click(
      screen.getByRole('button', { name: 'Promote 9f8e7d6 to prod' }),
    );
    expect(await screen.findByTestId('promotion-result')).toHaveTextContent(
      'Committed fedcba9: prod now says 9f8e7d6',
    );
    expect(bodies.map(b => Boolean(b.dryRun))).toEqual([true, false]);
  });
});
