import { Entity } from '@backstage/catalog-model';
import {
  renderInTestApp,
  TestApiProvider,
} from '@backstage/frontend-test-utils';
import { http, HttpResponse } from 'msw';
import { gitopsApiRef } from '../../api';
import { entityStatus } from '../../__testUtils__/fixtures';
import { deliveryHandlers } from '../../__testUtils__/delivery';
import {
  BASE,
  server,
  testClient,
  registerMswServer,
} from '../../__testUtils__/server';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { screen, waitFor, within } from '@testing-library/react';
import { DeploymentsContent } from './DeploymentsContent';

function component(annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'service-a', annotations },
    spec: { type: 'service', owner: 'team-checkout', lifecycle: 'production' },
  };
}

registerMswServer();
// Clicking through MUI menus in jsdom is slow on a loaded 2-core machine.
// Rendering in jsdom is slow on a loaded 2-core machine.
jest.setTimeout(60_000);
beforeEach(() =>
  server.use(
    ...deliveryHandlers(),
    http.get(`${BASE}/entities/component/default/service-a/status`, () =>
      HttpResponse.json(entityStatus),
    ),
    http.get(`${BASE}/entities/component/default/service-a/promotions`, () =>
      HttpResponse.json({ items: [] }),
    ),
    http.get(
      `${BASE}/entities/component/default/service-a/environments/:env/revisions/:rev`,
      () => HttpResponse.json({}),
    ),
  ),
);

async function renderContent(entity: Entity) {
  await renderInTestApp(
    <TestApiProvider apis={[[gitopsApiRef, testClient]]}>
      <EntityProvider entity={entity}>
        <DeploymentsContent />
      </EntityProvider>
    </TestApiProvider>,
  );
}

describe('DeploymentsContent', () => {
  it('explains which annotations to add when there are none', async () => {
    await renderContent(component());

    expect(
      await screen.findByText('No Argo CD Applications linked to this entity'),
    ).toBeInTheDocument();
    // The snippet loads lazily and is split into highlighted tokens: wait for it
    // and compare the page's text.
    await waitFor(() =>
      expect(document.body).toHaveTextContent(
        'argocd/app-selector: app.kubernetes.io/name=service-a',
      ),
    );
    expect(document.body).toHaveTextContent(
      '# or: argocd/app-name: service-a-dev,service-a-staging,service-a-prod',
    );
    expect(
      screen.getByRole('button', { name: 'Copy text' }),
    ).toBeInTheDocument();
    expect(screen.queryByText('Argo CD Applications')).not.toBeInTheDocument();
  });

  it('names the malformed annotation and the problem', async () => {
    await renderContent(component({ 'argocd/app-name': 'Service_A' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Invalid Argo CD annotation');
    expect(alert).toHaveTextContent(
      'Invalid annotation argocd/app-name: "Service_A" is not a valid Application name',
    );
    expect(within(alert).getByText('Service_A')).toBeInTheDocument();
    expect(screen.queryByText('Argo CD Applications')).not.toBeInTheDocument();
  });

  it('rejects an entity with both a name list and a selector', async () => {
    await renderContent(
      component({
        'argocd/app-name': 'service-a-dev',
        'argocd/app-selector': 'app.kubernetes.io/name=service-a',
      }),
    );

    expect(await screen.findByRole('alert')).toHaveTextContent(
      'use either argocd/app-name or argocd/app-selector, not both',
    );
  });

  it('lists the application names and the pinned instance', async () => {
    await renderContent(
      component({
        'argocd/app-name': 'service-a-dev, service-a-prod',
        'argocd/instance-name': 'main',
      }),
    );

    expect(await screen.findByText('Argo CD Applications')).toBeInTheDocument();
    expect(screen.getByText('Applications (by name)')).toBeInTheDocument();
    expect(screen.getByText('service-a-dev')).toBeInTheDocument();
    expect(screen.getByText('service-a-prod')).toBeInTheDocument();
    expect(screen.getByText('main')).toBeInTheDocument();
    expect(
      screen.queryByText('all configured instances'),
    ).not.toBeInTheDocument();
    expect(screen.queryByText('Label selector')).not.toBeInTheDocument();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows the selector, projects and that every instance is searched', async () => {
    await renderContent(
      component({
        'argocd/app-selector': 'app.kubernetes.io/name=service-a',
        'argocd/project-name': 'checkout,platform',
        'argocd/app-namespace': 'argocd-apps',
      }),
    );

    expect(await screen.findByText('Argo CD Applications')).toBeInTheDocument();
    expect(screen.getByText('Label selector')).toBeInTheDocument();
    expect(
      screen.getByText('app.kubernetes.io/name=service-a'),
    ).toBeInTheDocument();
    expect(screen.getByText('checkout')).toBeInTheDocument();
    expect(screen.getByText('platform')).toBeInTheDocument();
    expect(screen.getByText('all configured instances')).toBeInTheDocument();
    expect(screen.getByText('argocd-apps')).toBeInTheDocument();
    expect(
      screen.queryByText('Applications (by name)'),
    ).not.toBeInTheDocument();
  });

  it('says any project when the selector is not narrowed by project', async () => {
    await renderContent(
      component({ 'argocd/app-selector': 'app.kubernetes.io/name=service-a' }),
    );

    expect(await screen.findByText('any project')).toBeInTheDocument();
    expect(screen.queryByText('Application namespace')).not.toBeInTheDocument();
  });
});
