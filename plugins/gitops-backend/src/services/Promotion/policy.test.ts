import { Entity } from '@backstage/catalog-model';
import { EnvironmentStatus } from '@gitops-backstage/plugin-gitops-common';
import { InputError } from '@backstage/errors';
import {
  checkDirection,
  entityPipeline,
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
          actions: ['resume', 'promote-full', 'abort'],
        },
      }),
    ).toEqual([
      'source synced: staging is OutOfSync; promote what runs there once it is synced',
      'source healthy: staging is Degraded (CrashLoopBackOff)',
      "rollout completed: staging's Rollout is Paused",
    ]);
  });

  it("goes forward one step along app-config's order unless skipping is allowed; pull request for the last by default", () => {
    const order = ['dev', 'staging', 'prod'];
    const pipeline = { order, environments: order };
    expect(() => checkDirection({}, pipeline, 'dev', 'staging')).not.toThrow();
    expect(() => checkDirection({}, pipeline, 'dev', 'prod')).toThrow(
      'Promotions go one step forward along dev → staging → prod: dev → prod is not one (it skips staging)',
    );
    expect(() =>
      checkDirection({ allowSkip: true }, pipeline, 'dev', 'prod'),
    ).not.toThrow();
    expect(() =>
      checkDirection({ allowSkip: true }, pipeline, 'prod', 'dev'),
    ).toThrow('Promotions go forward along');
    expect(() => checkDirection({}, pipeline, 'dev', 'qa')).toThrow(
      'qa is not in the promotion pipeline of app-config gitops.environments (dev → staging → prod)',
    );
    expect(methodFor({}, order, 'staging')).toBe('commit');
    expect(methodFor({}, order, 'prod')).toBe('pull-request');
    expect(methodFor({ methods: { prod: 'commit' } }, order, 'prod')).toBe(
      'commit',
    );
  });

  describe('an entity may only tighten the policy of app-config', () => {
    const order = ['dev', 'staging', 'prod'];
    const configured: PromotionPolicy = {
      methods: { staging: 'pull-request' },
      soakMinutes: { staging: 60 },
      freezeWindows: [
        { start: '2026-12-20T00:00:00Z', end: '2027-01-04T00:00:00Z' },
      ],
    };
    const tightened = (policy: string) =>
      entityPolicy(configured, entity(policy), order);

    it('adds gates: pull requests, longer soak, no skipping, more freeze windows', () => {
      expect(
        tightened(
          '{ methods: { dev: pull-request }, soakMinutes: { staging: 120, dev: 5 }, allowSkip: false, freezeWindows: [{ start: "2026-11-27T00:00:00Z", end: "2026-11-28T00:00:00Z" }] }',
        ),
      ).toEqual({
        methods: { staging: 'pull-request', dev: 'pull-request' },
        allowSkip: false,
        soakMinutes: { staging: 120, dev: 5 },
        freezeWindows: [
          { start: '2026-12-20T00:00:00Z', end: '2027-01-04T00:00:00Z' },
          { start: '2026-11-27T00:00:00Z', end: '2026-11-28T00:00:00Z' },
        ],
      });
      // Saying what app-config says already is no loosening.
      expect(
        tightened(
          '{ methods: { staging: pull-request, prod: pull-request, dev: commit }, soakMinutes: { staging: 60 } }',
        ).soakMinutes,
      ).toEqual({ staging: 60 });
      expect(entityPolicy(configured, entity(), order)).toBe(configured);
    });

    it('refuses a commit where app-config asks a pull request, naming the rule', () => {
      expect(() => tightened('{ methods: { staging: commit } }')).toThrow(
        new InputError(
          'gitops/promotion-policy asks methods.staging: commit, but app-config gitops.promotion.methods.staging is pull-request; an entity may only tighten the policy',
        ),
      );
    });

    it("refuses a commit into the last environment, whose pull request is app-config's default", () => {
      expect(() => tightened('{ methods: { prod: commit } }')).toThrow(
        "gitops/promotion-policy asks methods.prod: commit, but app-config's default for prod, the last environment of gitops.environments, is pull-request (gitops.promotion.methods.prod); an entity may only tighten the policy",
      );
      // Where app-config commits to prod, the entity may commit too.
      expect(
        entityPolicy(
          { methods: { prod: 'commit' } },
          entity('{ methods: { prod: commit } }'),
          order,
        ).methods,
      ).toEqual({ prod: 'commit' });
    });

    it('refuses a shorter soak, skipping, and names every loosening at once', () => {
      expect(() => tightened('{ soakMinutes: { staging: 0 } }')).toThrow(
        'gitops/promotion-policy asks soakMinutes.staging: 0, but app-config gitops.promotion.soakMinutes.staging is 60; an entity may only tighten the policy',
      );
      expect(() => tightened('{ allowSkip: true }')).toThrow(
        'gitops/promotion-policy asks allowSkip: true, but app-config gitops.promotion.allowSkip is not set (false); an entity may only tighten the policy',
      );
      expect(() =>
        tightened(
          '{ methods: { staging: commit }, soakMinutes: { staging: 59 }, allowSkip: true }',
        ),
      ).toThrow(
        /methods\.staging: commit.*; .*soakMinutes\.staging: 59.*; .*allowSkip: true.*; an entity may only tighten the policy$/,
      );
    });

    it('refuses a malformed annotation as input, named', () => {
      expect(() => tightened('{ methods: [}')).toThrow(
        /^Annotation gitops\/promotion-policy is not YAML or JSON/,
      );
      expect(() => tightened('{ soak: 5 }')).toThrow(
        "Annotation gitops/promotion-policy is invalid: gitops/promotion-policy: Unrecognized key(s) in object: 'soak'",
      );
    });
  });

  describe("the entity's gitops/environments: a shorter pipeline, never another order", () => {
    const order = ['dev', 'staging', 'prod'];
    const withEnvironments = (environments: string) => ({
      ...entity(),
      metadata: {
        name: 'a',
        annotations: { 'gitops/environments': environments },
      },
    });

    it("keeps app-config's order for promotions: leaving staging out does not make dev → prod one step", () => {
      const pipeline = entityPipeline(order, withEnvironments('dev,prod'));
      expect(pipeline).toEqual({ order, environments: ['dev', 'prod'] });
      expect(() => checkDirection({}, pipeline, 'dev', 'prod')).toThrow(
        'dev → prod is not one (it skips staging)',
      );
      expect(() => checkDirection({}, pipeline, 'dev', 'staging')).toThrow(
        "staging is not in this entity's pipeline (gitops/environments: dev,prod)",
      );
      expect(entityPipeline(order, entity())).toEqual({
        order,
        environments: order,
      });
    });

    it('refuses an order that differs from app-config, naming it', () => {
      expect(() =>
        entityPipeline(order, withEnvironments('prod, staging,dev')),
      ).toThrow(
        'gitops/environments lists staging after prod, but app-config gitops.environments orders dev → staging → prod; an entity may only tighten the policy (leave environments out, not reorder them)',
      );
      // Environments app-config does not know are for display only.
      expect(
        entityPipeline(order, withEnvironments('dev,qa,staging')).environments,
      ).toEqual(['dev', 'staging']);
    });
  });
});
