import { createApp } from '@backstage/frontend-defaults';
import { navModule } from './modules/nav';

// Plugins listed in package.json (catalog, scaffolder, org, user settings, gitops) are
// discovered through `app.packages: all` in app-config.yaml.
export default createApp({
  features: [navModule],
});
