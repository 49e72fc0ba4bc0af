import {
  ApplicationLocator,
  compileLabelSelector,
  labelSelectorEqualities,
} from '@gitops-backstage/plugin-gitops-common';
import { ListedApplication } from '../applicationSchema';

/**
 * One instance's Applications indexed by name and by `label=value`, so matching every
 * entity of a fleet against thousands of Applications stays cheap.
 */
export class ApplicationIndex {
  private readonly byName = new Map<string, ListedApplication[]>();
  private readonly byLabel = new Map<string, ListedApplication[]>();

  constructor(
    private readonly apps: ListedApplication[],
    /** Where names without an app namespace live (the source's lookup namespace). */
    private readonly namesNamespace?: string,
  ) {
    const add = (
      map: Map<string, ListedApplication[]>,
      key: string,
      app: ListedApplication,
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
  find(locator: ApplicationLocator): ListedApplication[] {
    if (locator.kind === 'names') {
      return locator.names
        .flatMap(name => this.byName.get(name) ?? [])
        .filter(app =>
          inNamespace(
            locator.appNamespace || !this.namesNamespace
              ? locator
              : { ...locator, appNamespace: this.namesNamespace },
            app,
          ),
        );
    }
    const [first] = labelSelectorEqualities(locator.selector);
    const candidates = first
      ? this.byLabel.get(`${first[0]}=${first[1]}`) ?? []
      : this.apps;
    const matches = locatorMatcher(locator);
    return candidates.filter(matches);
  }
}

/** Whether an Application is one the locator finds (its instance aside). */
export function locatorMatcher(
  locator: ApplicationLocator,
): (app: ListedApplication) => boolean {
  if (locator.kind === 'names') {
    return app =>
      locator.names.includes(app.metadata.name) && inNamespace(locator, app);
  }
  const selects = compileLabelSelector(locator.selector);
  return app =>
    selects(app.metadata.labels) &&
    (locator.projects.length === 0 ||
      locator.projects.includes(app.spec.project)) &&
    inNamespace(locator, app);
}

function inNamespace(locator: ApplicationLocator, app: ListedApplication) {
  return (
    !locator.appNamespace ||
    (app.metadata.namespace ?? 'argocd') === locator.appNamespace
  );
}
