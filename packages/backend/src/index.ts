import { createBackend } from '@backstage/backend-defaults';
import { permissionPolicyModule } from './permissionPolicy';

const backend = createBackend();

// Serves the built frontend (packages/app) when it is not run by its own dev server.
backend.add(import('@backstage/plugin-app-backend'));

// Sign-in: the guest provider for the local portal (app-config.yaml); add a real
// provider for production (see https://backstage.io/docs/auth/).
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

backend.add(import('@backstage/plugin-permission-backend'));
backend.add(permissionPolicyModule);

backend.add(import('@backstage/plugin-scaffolder-backend'));
// publish:github, publish:gitlab and their pull/merge request actions, for templates
// that create repositories there (credentials from `integrations`).
backend.add(import('@backstage/plugin-scaffolder-backend-module-github'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-gitlab'));
// The GitOps template actions: plan, chart validation, Git publishing, Argo CD
// Applications, values files.
backend.add(
  import('@gitops-backstage/plugin-scaffolder-backend-module-gitops'),
);

backend.add(import('@gitops-backstage/plugin-gitops-backend'));

// Live updates: the events bus (shared by replicas through the database), push
// webhooks from GitHub and GitLab on it, and signals to the browser over it.
backend.add(import('@backstage/plugin-events-backend'));
backend.add(import('@backstage/plugin-events-backend-module-github'));
backend.add(import('@backstage/plugin-events-backend-module-gitlab'));
backend.add(import('@backstage/plugin-signals-backend'));

backend.start();
