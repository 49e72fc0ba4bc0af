import { ConfigReader } from '@backstage/config';
import { destinationAllowed, readProjectOwnership } from './projectOwnership';

const IN_CLUSTER = 'https://kubernetes.default.svc';

const [checkout] = readProjectOwnership(
  new ConfigReader({
    gitops: {
      projects: [
        {
          name: 'checkout',
          owners: ['group:default/team-checkout'],
          destinations: [
            { server: IN_CLUSTER, namespace: 'checkout-*' },
            { name: 'prod-eu', namespace: 'checkout' },
          ],
        },
      ],
    },
  }),
);

describe('destinationAllowed: where an Application of a project may deploy', () => {
  it.each([
    [{ server: IN_CLUSTER, namespace: 'checkout-dev' }, true],
    [{ server: IN_CLUSTER, namespace: 'checkout-' }, true],
    [{ name: 'prod-eu', namespace: 'checkout' }, true],
    [{ server: IN_CLUSTER, namespace: 'checkout' }, false],
    [{ server: IN_CLUSTER, namespace: 'kube-system' }, false],
    [{ server: `${IN_CLUSTER}/`, namespace: 'checkout-dev' }, false],
    [{ server: 'https://prod.example.com', namespace: 'checkout-dev' }, false],
    [{ name: 'prod-eu', namespace: 'checkout-dev' }, false],
    [{ name: 'prod-us', namespace: 'checkout' }, false],
    [{ server: IN_CLUSTER, name: 'prod-eu', namespace: 'checkout' }, false],
    [{ server: IN_CLUSTER }, false],
  ])('%j: %s', (destination, allowed) => {
    expect(destinationAllowed(checkout, destination)).toBe(allowed);
  });

  it('a project without destinations allows none', () => {
    expect(
      destinationAllowed(
        { name: 'x', owners: [], destinations: [], sourceRepos: [] },
        { server: IN_CLUSTER, namespace: 'x' },
      ),
    ).toBe(false);
  });

  it('refuses a destination entry naming no cluster (or both), naming the key', () => {
    const read = (destination: object) =>
      readProjectOwnership(
        new ConfigReader({
          gitops: {
            projects: [{ name: 'a', owners: [], destinations: [destination] }],
          },
        }),
      );
    expect(() => read({ namespace: '*' })).toThrow(
      'gitops.projects[0].destinations[0]: give the cluster as server or as name (one of them)',
    );
    expect(() =>
      read({ server: IN_CLUSTER, name: 'in-cluster', namespace: '*' }),
    ).toThrow('gitops.projects[0].destinations[0]');
  });
});
