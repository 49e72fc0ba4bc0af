import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { PromotionRecord } from '@gitops-backstage/plugin-gitops-common';
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
import { PromotionHistory } from './PromotionHistory';

registerMswServer();
// Clicking in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const SERVICE_A = `${BASE}/entities/component/default/service-a`;

const record = (overrides: Partial<PromotionRecord>): PromotionRecord => ({
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
  ...overrides,
});

async function render(items: PromotionRecord[]) {
  server.use(
    http.get(`${SERVICE_A}/promotions`, () => HttpResponse.json({ items })),
  );
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <PromotionHistory
        entityRef="component:default/service-a"
        environment="staging"
        version={1}
      />
    </TestApiProvider>,
  );
}

describe('PromotionHistory', () => {
  it('opens a promotion onto the app commits it shipped, asked only then', async () => {
    const asked: string[] = [];
    server.use(
      http.get(`${SERVICE_A}/changelog`, ({ request }) => {
        asked.push(new URL(request.url).searchParams.toString());
        return HttpResponse.json(changeLog());
      }),
    );
    await render([
      record({}),
      // The environment's first version: nothing to compare with.
      record({ id: 'p0', version: '1a2b3c4', previousVersion: undefined }),
    ]);
    const rows = await screen.findAllByTestId('promotion-row');
    expect(rows).toHaveLength(2);
    expect(within(rows[1]).queryByRole('button')).toBeNull();
    expect(asked).toEqual([]);

    const toggle = within(rows[0]).getByRole('button', {
      name: 'changes from 1a2b3c4 to 4c5d6e7',
    });
    expect(toggle).toHaveAttribute('aria-expanded', 'false');
    await userEvent.click(toggle);
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
    const changes = await screen.findByTestId('change-log');
    expect(changes).toHaveTextContent('staging gets these 2 changes');
    expect(
      within(changes)
        .getAllByTestId('change-log-commit')
        .map(c => c.textContent),
    ).toEqual([
      expect.stringContaining('feat: pay by invoice'),
      expect.stringContaining('fix: round totals'),
    ]);
    expect(asked).toEqual(['environment=staging&from=1a2b3c4&to=4c5d6e7']);

    await userEvent.click(toggle);
    expect(screen.queryByTestId('change-log')).toBeNull();
  });

  it('says why the changes of a rollback could not be listed', async () => {
    server.use(
      http.get(`${SERVICE_A}/changelog`, () =>
        HttpResponse.json(
          {
            error: { name: 'Error', message: 'GitHub did not answer' },
            response: { statusCode: 502 },
          },
          { status: 502 },
        ),
      ),
    );
    await render([
      record({
        kind: 'rollback',
        from: 'staging',
        version: '1a2b3c4',
        previousVersion: '4c5d6e7',
      }),
    ]);
    await userEvent.click(
      await screen.findByRole('button', {
        name: 'changes from 4c5d6e7 to 1a2b3c4',
      }),
    );
    expect(await screen.findByTestId('change-log-error')).toHaveTextContent(
      'Could not list the changes: GitHub did not answer',
    );
  });
});
