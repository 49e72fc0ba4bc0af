import { Entity } from '@backstage/catalog-model';
import { InputError } from '@backstage/errors';
import {
  EnvironmentStatus,
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

/** The promotion policy, as `gitops.promotion` in app-config or the entity annotation. */
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
 * The entity's policy: its annotation over app-config. Freeze windows add up: an
 * entity cannot lift an organisation's freeze. A malformed annotation is the user's
 * input error, named.
 */
export function entityPolicy(
  configured: PromotionPolicy,
  entity: Entity,
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

/** Forward along the order: one step, or more where the policy allows skipping. */
export function checkDirection(
  policy: PromotionPolicy,
  order: string[],
  from: string,
  to: string,
) {
  const step = order.indexOf(to) - order.indexOf(from);
  if (order.indexOf(from) < 0 || step < 1 || (step > 1 && !policy.allowSkip)) {
    throw new InputError(
      `Promotions go ${
        policy.allowSkip ? 'forward' : 'one step forward'
      } along ${order.join(' → ')}: ${from} → ${to} is not one`,
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
  const freeze = (policy.freezeWindows ?? []).find(
    w =>
      (!w.environments || w.environments.includes(to)) &&
      Date.parse(w.start) <= now.getTime() &&
      now.getTime() < Date.parse(w.end),
  );
  gates.push(
    gate(
      'no freeze window',
      !freeze,
      freeze
        ? `${to} is frozen until ${freeze.end}${
            freeze.reason ? `: ${freeze.reason}` : ''
          }`
        : `${to} is not frozen`,
    ),
  );
  return gates;
}
