import { canaryReplicaCounts, maxSurgeOf } from './replicaCounts';

// Argo Rollouts' own table (utils/replicaset/canary_test.go,
// TestApproximateWeightedNewStableReplicaCounts): replicas, weight, maxSurge → canary, stable.
const TABLE: Array<[number, number, number, number, number]> = [
  [0, 50, 0, 0, 0],
  [0, 100, 1, 0, 0],
  [1, 0, 0, 0, 1],
  [1, 1, 0, 0, 1],
  [1, 49, 0, 0, 1],
  [1, 50, 0, 1, 0],
  [1, 99, 0, 1, 0],
  [1, 100, 0, 1, 0],
  [1, 0, 1, 0, 1],
  [1, 1, 1, 1, 1],
  [1, 50, 1, 1, 1],
  [1, 99, 1, 1, 1],
  [1, 100, 1, 1, 0],
  [2, 0, 0, 0, 2],
  [2, 1, 0, 1, 1],
  [2, 50, 0, 1, 1],
  [2, 99, 0, 1, 1],
  [2, 100, 0, 2, 0],
  [2, 1, 1, 1, 2],
  [2, 50, 1, 1, 1],
  [2, 99, 1, 2, 1],
  [3, 10, 0, 1, 2],
  [3, 49, 0, 1, 2],
  [3, 50, 0, 2, 1],
  [3, 10, 1, 1, 3],
  [3, 25, 1, 1, 3],
  [3, 33, 1, 1, 2],
  [3, 49, 1, 2, 2],
  [3, 50, 1, 2, 2],
  [10, 1, 0, 1, 9],
  [10, 14, 0, 1, 9],
  [10, 15, 0, 2, 8],
  [10, 99, 0, 9, 1],
  [10, 1, 1, 1, 10],
  [10, 18, 1, 2, 9],
  [10, 23, 1, 2, 8],
  [10, 24, 1, 3, 8],
  [10, 99, 1, 10, 1],
  [10, 100, 1, 10, 0],
];

describe('canaryReplicaCounts', () => {
  it.each(TABLE)(
    '%i replicas at weight %i with maxSurge %i: %i canary, %i stable',
    (replicas, weight, maxSurge, canary, stable) => {
      expect(canaryReplicaCounts(replicas, weight, maxSurge)).toEqual({
        canary,
        stable,
      });
    },
  );

  it('resolves maxSurge as the controller does: 25% by default, percentages rounded up', () => {
    expect(maxSurgeOf({}, 3)).toBe(1);
    expect(maxSurgeOf({}, 8)).toBe(2);
    expect(maxSurgeOf({ maxSurge: 0 }, 8)).toBe(0);
    expect(maxSurgeOf({ maxSurge: '10%' }, 3)).toBe(1);
    expect(maxSurgeOf({ maxSurge: 'one' }, 8)).toBe(2);
  });
});
