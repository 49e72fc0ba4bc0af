/**
 * The Backstage signals channel of one entity's GitOps status. A message on it means
 * "read the status again"; it carries nothing else, so it tells a subscriber nothing
 * its permissions would not.
 *
 * @public
 */
export function entitySignalChannel(entityRef: string): string {
  return `gitops:entity:${entityRef}`;
}

/**
 * The signals channel of the fleet page: some service's status changed.
 *
 * @public
 */
export const FLEET_SIGNAL_CHANNEL = 'gitops:fleet';

/**
 * What changed: what Argo CD runs (live) or what the config repository asks (desired).
 *
 * @public
 */
export interface GitopsStatusSignal {
  [key: string]: string;
  changed: 'live' | 'desired';
}
