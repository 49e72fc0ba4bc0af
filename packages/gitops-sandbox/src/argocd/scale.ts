import { createHash } from 'node:crypto';

type Json = any;

const sha = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * Scale mode: `services` generated services, one Application per environment, with a
 * plausible fixed status (a few OutOfSync, Degraded or drifting), not rendered. Their
 * config repositories are named on the sandbox's Git server (`gitUrl`) but not created.
 */
export function generateFleet(
  services: number,
  environments: string[],
  gitUrl: string,
): Array<{ manifest: Json; status: Json }> {
  const fleet: Array<{ manifest: Json; status: Json }> = [];
  const deployedAt = '2026-11-01T12:00:00Z';
  for (let i = 0; i < services; i++) {
    const service = `fleet-${String(i).padStart(4, '0')}`;
    for (const env of environments) {
      const revision = sha(`${service}/${env}`);
      const tag = sha(`${service}/${env}/image`).slice(0, 7);
      const source = {
        repoURL: `${gitUrl}/git/${service}-config.git`,
        targetRevision: 'main',
        path: 'chart',
        helm: { releaseName: service, valueFiles: [`values-${env}.yaml`] },
      };
      fleet.push({
        manifest: {
          metadata: {
            name: `${service}-${env}`,
            namespace: 'argocd',
            labels: {
              'app.kubernetes.io/name': service,
              'gitops/environment': env,
            },
          },
          spec: {
            project: 'fleet',
            source,
            destination: {
              server: 'https://kubernetes.default.svc',
              namespace: `fleet-${env}`,
            },
          },
        },
        status: {
          sync: {
            status: i % 20 === 7 ? 'OutOfSync' : 'Synced',
            revision,
            comparedTo: {
              source,
              destination: {
                server: 'https://kubernetes.default.svc',
                namespace: `fleet-${env}`,
              },
            },
          },
          health: {
            status: i % 50 === 13 ? 'Degraded' : 'Healthy',
            lastTransitionTime: deployedAt,
          },
          summary: { images: [`registry.example.com/fleet/${service}:${tag}`] },
          history: [
            {
              id: 0,
              revision,
              source,
              deployedAt,
              deployStartedAt: deployedAt,
              initiatedBy: { automated: true },
            },
          ],
          reconciledAt: deployedAt,
          sourceType: 'Helm',
        },
      });
    }
  }
  return fleet;
}
