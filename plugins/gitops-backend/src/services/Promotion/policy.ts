import { Entity } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import {
  EnvironmentStatus,
  ENVIRONMENTS_ANNOTATION,
  PROMOTION_POLICY_ANNOTATION,
  PromotionGate,
} from '@gitops-backstage/plugin-gitops-common';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const freezeWindow = z
  .object({
    /** Environments frozen; all when absent. */
    environments: z.array(z.string().min(1)).optional(),
    start: z.string().datetime({ offset: true }),
    end: z.string().datetime({ offset: true }),
    reason: z.string().optional(),
  })
  .strict()
  .refine(w => Date.parse(w.start) < Date.parse(w.end), {
    message: 'a freeze window must end after it starts',
  });

/** The promotion policy, as `gitops.promotion` in app-config or the entity annotation (which may only tighten it). */
export const promotionPolicySchema = z
  .object({
    /** How a promotion reaches each environment; default commit, pull request for the last. */
    methods: z.record(z.enum(['commit', 'pull-request'])).optional(),
    /** Whether a promotion may skip environments (still forward only). */
    allowSkip: z.boolean().optional(),
    /** How long a source environment must have run its version before it moves on. */
    soakMinutes: z.record(z.number().nonnegative()).optional(),
    freezeWindows: z.array(freezeWindow).optional(),
  })
  .strict();

export type PromotionPolicy = z.infer<typeof promotionPolicySchema>;

/** Zod issues as one line naming where they are. */
export function describeIssues(error: z.ZodError, where: string) {
  return error.issues
    .map(i => `${[where, ...i.path].join('.')}: ${i.message}`)
    .join('; ');
}

/**
 * The entity's policy: app-config's, with the gates its annotation adds. An entity may
 * tighten the organisation's policy (a pull request where app-config commits, a longer
 * soak, no skipping, more freeze windows), never loosen it: a looser value is refused
 * (400) naming the app-config rule it would loosen. A malformed annotation is the
 * user's input error, named. `order` is app-config's pipeline (`gitops.environments`),
 * whose last environment is promoted to by pull request unless app-config says otherwise.
 */
export function entityPolicy(
  configured: PromotionPolicy,
  entity: Entity,
  order: string[],
): PromotionPolicy {
  const raw = entity.metadata.annotations?.[PROMOTION_POLICY_ANNOTATION];
  if (!raw) return configured;
  let value: unknown;
  try {
    value = parseYaml(raw);
  } catch (error) {
    throw new InputError(
      `Annotation ${PROMOTION_POLICY_ANNOTATION} is not YAML or JSON: ${
        (error as Error).message
      }`,
    );
  }
  const parsed = promotionPolicySchema.safeParse(value);
  if (!parsed.success) {
    throw new InputError(
      `Annotation ${PROMOTION_POLICY_ANNOTATION} is invalid: ${describeIssues(
        parsed.error,
        PROMOTION_POLICY_ANNOTATION,
      )}`,
    );
  }
  const own = parsed.data;
  const looser: string[] = [];
  const asks = `${PROMOTION_POLICY_ANNOTATION} asks`;
  for (const [env, method] of Object.entries(own.methods ?? {})) {
    const rule = methodFor(configured, order, env);
    if (method === 'commit' && rule === 'pull-request') {
      looser.push(
        `${asks} methods.${env}: commit, but ${
          configured.methods?.[env]
            ? `app-config gitops.promotion.methods.${env} is pull-request`
            : `app-config's default for ${env}, the last environment of gitops.environments, is pull-request (gitops.promotion.methods.${env})`
        }`,
      );
    }
  }
  for (const [env, minutes] of Object.entries(own.soakMinutes ?? {})) {
    const rule = configured.soakMinutes?.[env] ?? 0;
    if (minutes < rule) {
      looser.push(
        `${asks} soakMinutes.${env}: ${minutes}, but app-config gitops.promotion.soakMinutes.${env} is ${rule}`,
      );
    }
  }
  if (own.allowSkip && !configured.allowSkip) {
    looser.push(
      `${asks} allowSkip: true, but app-config gitops.promotion.allowSkip is ${
        configured.allowSkip === false ? 'false' : 'not set (false)'
      }`,
    );
  }
  if (looser.length > 0) {
    throw new InputError(
      `${looser.join('; ')}; an entity may only tighten the policy`,
    );
  }
  // Every value left is as tight as app-config's or tighter.
  return {
    methods: { ...configured.methods, ...own.methods },
    allowSkip: own.allowSkip ?? configured.allowSkip,
    soakMinutes: { ...configured.soakMinutes, ...own.soakMinutes },
    freezeWindows: [
      ...(configured.freezeWindows ?? []),
      ...(own.freezeWindows ?? []),
    ],
  };
}

/**
 * The environments the entity may promote between, in app-config's order. The entity's
 * `gitops/environments` may leave configured environments out (a shorter pipeline),
 * never reorder them; skipping is still counted along app-config's order, so leaving
 * staging out does not make dev → prod one step.
 */
export function entityPipeline(configured: string[], entity: Entity) {
  const listed = entity.metadata.annotations?.[ENVIRONMENTS_ANNOTATION]?.split(
    ',',
  )
    .map(e => e.trim())
    .filter(Boolean);
  if (!listed?.length) return { order: configured, environments: configured };
  const known = listed.filter(e => configured.includes(e));
  const reordered = known.findIndex(
    (e, i) => i > 0 && configured.indexOf(e) < configured.indexOf(known[i - 1]),
  );
  if (reordered > 0) {
    throw new InputError(
      `${ENVIRONMENTS_ANNOTATION} lists ${known[reordered]} after ${
        known[reordered - 1]
      }, but app-config gitops.environments orders ${configured.join(
        ' → ',
      )}; an entity may only tighten the policy (leave environments out, not reorder them)`,
    );
  }
  return { order: configured, environments: known };
}

/**
 * Forward along app-config's order: one step, or more where the policy allows
 * skipping; both environments in the entity's pipeline.
 */
export function checkDirection(
  policy: PromotionPolicy,
  pipeline: { order: string[]; environments: string[] },
  from: string,
  to: string,
) {
  const { order, environments } = pipeline;
  for (const env of [from, to]) {
    if (!order.includes(env)) {
      throw new InputError(
        `${env} is not in the promotion pipeline of app-config gitops.environments (${order.join(
          ' → ',
        )})`,
      );
    }
    if (!environments.includes(env)) {
      throw new InputError(
        `${env} is not in this entity's pipeline (${ENVIRONMENTS_ANNOTATION}: ${environments.join(
          ',',
        )})`,
      );
    }
  }
  const step = order.indexOf(to) - order.indexOf(from);
  if (step < 1 || (step > 1 && !policy.allowSkip)) {
    const skipped = order.slice(order.indexOf(from) + 1, order.indexOf(to));
    throw new InputError(
      `Promotions go ${
        policy.allowSkip ? 'forward' : 'one step forward'
      } along ${order.join(' → ')}: ${from} → ${to} is not one${
        step > 1 ? ` (it skips ${skipped.join(', ')})` : ''
      }`,
    );
  }
}

export function methodFor(
  policy: PromotionPolicy,
  order: string[],
  to: string,
): 'commit' | 'pull-request' {
  return (
    policy.methods?.[to] ??
    (to === order[order.length - 1] ? 'pull-request' : 'commit')
  );
}

/** Whether a freeze window holds `environment` now: for promotions and rollbacks alike. */
export function freezeGate(
  policy: PromotionPolicy,
  environment: string,
  now: Date,
): PromotionGate {
  const freeze = (policy.freezeWindows ?? []).find(
    w =>
      (!w.environments || w.environments.includes(environment)) &&
      Date.parse(w.start) <= now.getTime() &&
      now.getTime() < Date.parse(w.end),
  );
  return {
    name: 'no freeze window',
    passed: !freeze,
    message: freeze
      ? `${environment} is frozen until ${freeze.end}${
          freeze.reason ? `: ${freeze.reason}` : ''
        }`
      : `${environment} is not frozen`,
  };
}

/**
 * Every gate with its verdict, checked against the source's live state now: synced,
 * healthy, running its config, Rollout completed, soaked long enough, and the target
 * not frozen.
 */
export function evaluateGates(options: {
  policy: PromotionPolicy;
  source: EnvironmentStatus;
  to: string;
  now: Date;
}): PromotionGate[] {
  const { policy, source, to, now } = options;
  const { live } = source;
  const env = source.environment;
  const gate = (name: string, passed: boolean, message: string) => ({
    name,
    passed,
    message,
  });
  const gates = [
    gate(
      'source synced',
      live.syncStatus === 'Synced',
      live.syncStatus === 'Synced'
        ? `${env} is Synced`
        : `${env} is ${live.syncStatus}; promote what runs there once it is synced`,
    ),
    gate(
      'source healthy',
      live.health.status === 'Healthy',
      `${env} is ${live.health.status}${
        live.health.message ? ` (${live.health.message})` : ''
      }`,
    ),
    gate(
      'source runs its config',
      source.drift === false,
      source.drift === false
        ? `${env} runs the version its config names`
        : `${env} does not run the version its config names${
            source.drift === undefined ? ' (unknown)' : ' yet'
          }`,
    ),
  ];
  if (live.rollout) {
    gates.push(
      gate(
        'rollout completed',
        live.rollout.phase === 'Healthy',
        `${env}'s Rollout is ${live.rollout.phase}`,
      ),
    );
  }
  const soak = policy.soakMinutes?.[env] ?? 0;
  if (soak > 0) {
    const since = live.deployed?.deployedAt;
    const minutes = since
      ? Math.floor((now.getTime() - Date.parse(since)) / 60_000)
      : undefined;
    gates.push(
      gate(
        'soak time',
        minutes !== undefined && minutes >= soak,
        minutes === undefined
          ? `${env} has no deployment on record; the policy asks ${soak} min`
          : `${env} has run its version for ${minutes} min; the policy asks ${soak} min`,
      ),
    );
  }
  gates.push(freezeGate(policy, to, now));
  return gates;
}
