import {
  ApplicationLocator,
  compileLabelSelector,
  labelSelectorEqualities,
} from '@gitops-backstage/plugin-gitops-common';
import { ArgoApplication } from '@gitops-backstage/plugin-gitops-node';

/**
 * One instance's Applications indexed by name and by `label=value`, so matching every
 * entity of a fleet against thousands of Applications stays cheap.
 */
export class ApplicationIndex {
  private readonly byName = new Map<string, ArgoApplication[]>();
  private readonly byLabel = new Map<string, ArgoApplication[]>();

  constructor(private readonly apps: ArgoApplication[]) {
    const add = (
      map: Map<string, ArgoApplication[]>,
      key: string,
      app: ArgoApplication,
    ) => {
      const list = map.get(key);
      if (list) list.push(app);
      else map.set(key, [app]);
    };
    for (const app of apps) {
      add(this.byName, app.metadata.name, app);
      for (const [key, value] of Object.entries(app.metadata.labels ?? {})) {
        add(this.byLabel, `${key}=${value}`, app);
      }
    }
  }

  /** The Applications the locator finds, as a List with its query would answer. */
  find(locator: ApplicationLocator): ArgoApplication[] {
    const inNamespace = (app: ArgoApplication) =>
      !locator.appNamespace ||
      (app.metadata.namespace ?? 'argocd') === locator.appNamespace;
    if (locator.kind === 'names') {
      return locator.names
        .flatMap(name => this.byName.get(name) ?? [])
        .filter(inNamespace);
    }
    const [first] = labelSelectorEqualities(locator.selector);
    const candidates = first
      ? this.byLabel.get(`${first[0]}=${first[1]}`) ?? []
      : this.apps;
    const selects = compileLabelSelector(locator.selector);
    return candidates.filter(
      app =>
        selects(app.metadata.labels) &&
        (locator.projects.length === 0 ||
          locator.projects.includes(app.spec.project)) &&
        inNamespace(app),
    );
  }
}
