import {
  mockApis,
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { entityStatus, environment } from '../../__testUtils__/fixtures';
import { changeLog } from '../../__testUtils__/delivery';
import {
  BASE,
  registerMswServer,
  server,
  testClient,
} from '../../__testUtils__/server';
import { EnvironmentPipeline } from './EnvironmentPipeline';

registerMswServer();
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);

const SERVICE_A = `${BASE}/entities/component/default/service-a`;

/** Answers the change log of staging with 7 commits; prod's fails. Returns the asks. */
function answerChangeLogs() {
  const asked: string[] = [];
  server.use(
    http.get(`${SERVICE_A}/environments/:env/revisions/:revision`, () =>
      HttpResponse.json({ message: 'a commit' }),
    ),
    http.get(`${SERVICE_A}/changelog`, ({ request }) => {
      const query = new URL(request.url).searchParams;
      asked.push(query.toString());
      if (query.get('environment') === 'prod') {
        return HttpResponse.json(
          {
            error: { name: 'Error', message: 'GitHub did not answer' },
            response: { statusCode: 502 },
          },
          { status: 502 },
        );
      }
      return HttpResponse.json(changeLog({ total: 7 }));
    }),
  );
  return asked;
}

async function render(environments: EnvironmentStatus[]) {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <EnvironmentPipeline status={{ ...entityStatus, environments }} />
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

const lane = (env: string) => within(screen.getByTestId(`lane-${env}`));

describe('EnvironmentPipeline, commits ahead', () => {
  it('says how many commits a lane is ahead of the next, once per pair; a failed change log shows nothing', async () => {
    const asked = answerChangeLogs();
    await render(entityStatus.environments);
    expect(await lane('dev').findByTestId('commits-ahead')).toHaveTextContent(
      '7 commits ahead of staging',
    );
    expect(
      lane('dev').getByRole('link', { name: /^7 commits ahead of staging/ }),
    ).toHaveAttribute(
      'href',
      'https://github.com/acme/service-a/compare/1a2b3c4...4c5d6e7',
    );
    await waitFor(() => expect(asked).toHaveLength(2));
    expect(asked.sort()).toEqual([
      'environment=prod&to=1a2b3c4',
      'environment=staging&to=4c5d6e7',
    ]);
    // staging → prod failed: its lane is whole, without the line.
    expect(lane('staging').getByTestId('desired-version')).toHaveTextContent(
      '1a2b3c4',
    );
    expect(lane('staging').queryByTestId('commits-ahead')).toBeNull();
    expect(lane('prod').queryByTestId('commits-ahead')).toBeNull();
  });

  it('asks nothing for two environments on one version', async () => {
    const asked = answerChangeLogs();
    await render([
      environment('dev', '1a2b3c4'),
      environment('staging', '1a2b3c4'),
      environment('prod', '1a2b3c4'),
    ]);
    expect(await lane('dev').findByText(/a commit/)).toBeInTheDocument();
    expect(screen.queryByTestId('commits-ahead')).toBeNull();
    expect(asked).toEqual([]);
  });

  it('says nothing when the next environment is ahead instead', async () => {
    answerChangeLogs();
    let answered = false;
    server.use(
      http.get(`${SERVICE_A}/changelog`, () => {
        answered = true;
        return HttpResponse.json(changeLog({ direction: 'behind', total: 4 }));
      }),
    );
    await render(entityStatus.environments.slice(0, 2));
    await waitFor(() => expect(answered).toBe(true));
    expect(await lane('dev').findByText(/a commit/)).toBeInTheDocument();
    // The answer has had time to render: it added nothing.
    await new Promise(resolve => setTimeout(resolve, 100));
    expect(screen.queryByTestId('commits-ahead')).toBeNull();
  });
});
