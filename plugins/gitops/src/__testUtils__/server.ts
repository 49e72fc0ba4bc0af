import { GitopsClient } from '@gitops-backstage/plugin-gitops-common';
import { setupServer } from 'msw/node';

export const BASE = 'http://backstage.test/api/gitops';

/** The backend's answers come from msw handlers the test sets. */
export const server = setupServer();

/** Starts msw for the test file; unhandled requests fail the test. */
export function registerMswServer() {
  beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
  afterEach(() => server.resetHandlers());
  afterAll(() => server.close());
}

/** The real client, talking to msw. */
export const testClient = new GitopsClient({
  discoveryApi: { getBaseUrl: async () => BASE },
  fetchApi: { fetch: (...args) => fetch(...args) },
});
