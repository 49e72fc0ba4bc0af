import { Entity } from '@backstage/catalog-model';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import {
  checkDirection,
  entityPolicy,
  evaluateGates,
  methodFor,
  PromotionPolicy,
} from './policy';

const staging = (live: Partial<EnvironmentStatus['live']> = {}) =>
  ({
    environment: 'staging',
    instance: 'main',
    application: { name: 'a-staging', namespace: 'argocd', project: 'p' },
    drift: false,
    live: {
      syncStatus: 'Synced',
      health: { status: 'Healthy' },
      images: ['r/a:1'],
      automatedSync: true,
      deployed: { id: 3, revision: 'abc', deployedAt: '2026-11-22T10:00:00Z' },
      history: [],
      ...live,
    },
  } as EnvironmentStatus);

const entity = (policy?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'a',
    ...(policy && { annotations: { 'gitops/promotion-policy': policy } }),
  },
});

const verdicts = (
  policy: PromotionPolicy,
  now: string,
  live?: Partial<EnvironmentStatus['live']>,
) =>
  evaluateGates({
    policy,
    source: staging(live),
    to: 'prod',
    now: new Date(now),
  })
    .filter(g => !g.passed)
    .map(g => `${g.name}: ${g.message}`);

describe('promotion policy', () => {
  it('passes a synced, healthy, soaked source outside freeze windows', () => {
    expect(
      verdicts(
        {
          soakMinutes: { staging: 60 },
          freezeWindows: [
            {
              environments: ['prod'],
              start: '2026-12-20T00:00:00Z',
              end: '2027-01-04T00:00:00Z',
            },
          ],
        },
        '2026-11-22T11:00:00Z',
      ),
    ).toEqual([]);
  });

  it('refuses with the gate and why: soak time, freeze, sync, health, rollout', () => {
    expect(
      verdicts({ soakMinutes: { staging: 60 } }, '2026-11-22T10:59:59Z'),
    ).toEqual([
      'soak time: staging has run its version for 59 min; the policy asks 60 min',
    ]);
    expect(
      verdicts(
        {
          freezeWindows: [
            {
              start: '2026-11-22T00:00:00Z',
              end: '2026-11-23T00:00:00Z',
              reason: 'Black Friday',
            },
          ],
        },
        '2026-11-22T12:00:00Z',
      ),
    ).toEqual([
      'no freeze window: prod is frozen until 2026-11-23T00:00:00Z: Black Friday',
    ]);
    // A window for other environments does not freeze prod.
    expect(
      verdicts(
        {
          freezeWindows: [
            {
              environments: ['staging'],
              start: '2026-11-22T00:00:00Z',
              end: '2026-11-23T00:00:00Z',
            },
          ],
        },
        '2026-11-22T12:00:00Z',
      ),
    ).toEqual([]);
    expect(
      verdicts({}, '2026-11-22T12:00:00Z', {
        syncStatus: 'OutOfSync',
        health: { status: 'Degraded', message: 'CrashLoopBackOff' },
        rollout: {
          name: 'a',
          phase: 'Paused',
          strategy: 'canary',
          stepCount: 3,
        },
      }),
    ).toEqual([
      'source synced: staging is OutOfSync; promote what runs there once it is synced',
      'source healthy: staging is Degraded (CrashLoopBackOff)',
      "rollout completed: staging's Rollout is Paused",
    ]);
  });

  it('goes forward one step unless skipping is allowed; pull request for the last by default', () => {
    const order = ['dev', 'staging', 'prod'];
    expect(() => checkDirection({}, order, 'dev', 'staging')).not.toThrow();
    expect(() => checkDirection({}, order, 'dev', 'prod')).toThrow(
      'Promotions go one step forward along dev → staging → prod: dev → prod is not one',
    );
    expect(() =>
      checkDirection({ allowSkip: true }, order, 'dev', 'prod'),
    ).not.toThrow();
    expect(() =>
      checkDirection({ allowSkip: true }, order, 'prod', 'dev'),
    ).toThrow('Promotions go forward along');
    expect(methodFor({}, order, 'staging')).toBe('commit');
    expect(methodFor({}, order, 'prod')).toBe('pull-request');
    expect(methodFor({ methods: { prod: 'commit' } }, order, 'prod')).toBe(
      'commit',
    );
  });

  it("lays the entity's annotation over app-config, adding freeze windows", () => {
    const configured: PromotionPolicy = {
      methods: { prod: 'pull-request' },
      soakMinutes: { staging: 60 },
      freezeWindows: [
        { start: '2026-12-20T00:00:00Z', end: '2027-01-04T00:00:00Z' },
      ],
    };
    expect(
      entityPolicy(
        configured,
        entity(
          '{ soakMinutes: { staging: 0 }, allowSkip: true, freezeWindows: [{ start: "2026-11-27T00:00:00Z", end: "2026-11-28T00:00:00Z" }] }',
        ),
      ),
    ).toEqual({
      methods: { prod: 'pull-request' },
      allowSkip: true,
      soakMinutes: { staging: 0 },
      freezeWindows: [
        { start: '2026-12-20T00:00:00Z', end: '2027-01-04T00:00:00Z' },
        { start: '2026-11-27T00:00:00Z', end: '2026-11-28T00:00:00Z' },
      ],
    });
    expect(entityPolicy(configured, entity())).toBe(configured);
    expect(() => entityPolicy(configured, entity('{ methods: [}'))).toThrow(
      /^Annotation gitops\/promotion-policy is not YAML or JSON/,
    );
    expect(() => entityPolicy(configured, entity('{ soak: 5 }'))).toThrow(
      "Annotation gitops/promotion-policy is invalid: gitops/promotion-policy: Unrecognized key(s) in object: 'soak'",
    );
  });
});
