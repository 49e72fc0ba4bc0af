/**
 * The four DORA figures computed from recorded deployments: pure, no I/O, so the same
 * function serves an entity, a team (the facts of all its entities, mixed) and the
 * fleet. Every figure counts per fact, so facts of several entities need no merging.
 */
import type {
  DoraBand,
  DoraFigures,
} from '@gitops-backstage/plugin-gitops-common';

/** One deployment of one entity into one environment, as the database records it. */
export interface DeploymentFact {
  deployedAt: Date;
  /** When a rollback, a failed sync or a Degraded state followed it (within the failure window); undefined when none did. */
  failedAt?: Date;
  /** When the environment was Healthy again after that failure. */
  restoredAt?: Date;
  /** Commit times of the app-repository commits this deployment shipped first into this environment (lead time = deployedAt - commit time, per commit). Empty when unknown. */
  commitTimes: Date[];
}

export interface DoraFiguresOptions {
  environment: string;
  /** Length of the window ending at `now`; must be positive. */
  windowDays: number;
  now: Date;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;

/**
 * Bands from the 2023 Accelerate State of DevOps report (DORA), "Software delivery
 * performance" clusters; its "failed deployment recovery time" is our time to restore.
 * Each classifier takes the exact (unrounded) value, so e.g. one deployment a week is
 * `high` although its rounded `perDay` shows 0.14.
 */
export const doraBands = {
  /** elite: on demand (≥ 1/day); high: ≥ 1/week; medium: ≥ 1/month (30 days). */
  deploymentFrequency(perDay: number): DoraBand {
    if (perDay >= 1) return 'elite';
    if (perDay >= 1 / 7) return 'high';
    return perDay >= 1 / 30 ? 'medium' : 'low';
  },
  /** elite: < 1 day; high: < 1 week; medium: < 1 month (30 days). */
  leadTime(hours: number): DoraBand {
    if (hours < 24) return 'elite';
    if (hours < 168) return 'high';
    return hours < 720 ? 'medium' : 'low';
  },
  /** elite: ≤ 5 %; high: ≤ 10 %; medium: ≤ 15 %. */
  changeFailureRate(rate: number): DoraBand {
    if (rate <= 0.05) return 'elite';
    if (rate <= 0.1) return 'high';
    return rate <= 0.15 ? 'medium' : 'low';
  },
  /** elite: < 1 hour; high: < 1 day; medium: < 1 week. */
  timeToRestore(hours: number): DoraBand {
    if (hours < 1) return 'elite';
    if (hours < 24) return 'high';
    return hours < 168 ? 'medium' : 'low';
  },
};

/** Displayed values are rounded: hours and per-day to 2 decimals, rates to 4. */
const round = (value: number, decimals: number) => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** Epoch milliseconds, or undefined for a missing or invalid date (treated as absent). */
const timeOf = (date?: Date): number | undefined => {
  const time = date?.getTime();
  return time !== undefined && Number.isFinite(time) ? time : undefined;
};

/**
 * Nearest-rank percentile: the value at 1-based rank ceil(percent/100 · n) of the
 * ascending values, so always one of them. The median is the 50th percentile by this
 * rule, i.e. the lower middle value when n is even (no averaging). Integer `percent`
 * keeps the rank exact (0.9 · n may not be in floating point).
 */
function nearestRank(sorted: number[], percent: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1];
}

const ascending = (values: number[]) => [...values].sort((a, b) => a - b);

/** Hours between two times, clamped at 0: clock skew must not make a figure negative. */
const hoursBetween = (start: number, end: number) =>
  Math.max(0, end - start) / HOUR_MS;

export function doraFigures(
  facts: DeploymentFact[],
  options: DoraFiguresOptions,
): DoraFigures {
  const { environment, windowDays, now } = options;
  const to = now.getTime();
  if (!(windowDays > 0) || !Number.isFinite(windowDays) || Number.isNaN(to)) {
    throw new RangeError(
      `DORA window needs a positive windowDays and a valid now, got ${windowDays} and ${now}`,
    );
  }
  const from = to - windowDays * DAY_MS;

  // The window is closed at both ends: [now - windowDays days, now].
  const inWindow = facts.flatMap(fact => {
    const deployedAt = timeOf(fact.deployedAt);
    return deployedAt !== undefined && deployedAt >= from && deployedAt <= to
      ? [{ fact, deployedAt, failedAt: timeOf(fact.failedAt) }]
      : [];
  });
  const deployments = inWindow.length;
  const failures = inWindow.flatMap(({ fact, failedAt }) =>
    failedAt === undefined ? [] : [{ fact, failedAt }],
  );

  // Lead time counts every shipped commit, so a deployment of many commits weighs more.
  const leads = ascending(
    inWindow.flatMap(d =>
      d.fact.commitTimes
        .map(timeOf)
        .filter((t): t is number => t !== undefined)
        .map(commitTime => hoursBetween(commitTime, d.deployedAt)),
    ),
  );
  const leadMedian = nearestRank(leads, 50);
  const leadP90 = nearestRank(leads, 90);

  // A restoredAt without a failedAt means nothing and is ignored.
  const restoreHours = ascending(
    failures.flatMap(d => {
      const restoredAt = timeOf(d.fact.restoredAt);
      return restoredAt === undefined
        ? []
        : [hoursBetween(d.failedAt, restoredAt)];
    }),
  );
  const restoreMedian = nearestRank(restoreHours, 50);

  const perDay = deployments / windowDays;
  const rate = deployments > 0 ? failures.length / deployments : undefined;

  // Weeks from `from`, the last one clipped to `to` (and holding a deployment at `to`).
  const weeks = Math.ceil(windowDays / 7);
  const trend = Array.from({ length: weeks }, (_, i) => ({
    weekStart: new Date(from + i * WEEK_MS).toISOString(),
    deployments: 0,
    failed: 0,
  }));
  for (const d of inWindow) {
    const week =
      trend[Math.min(weeks - 1, Math.floor((d.deployedAt - from) / WEEK_MS))];
    week.deployments += 1;
    if (d.failedAt !== undefined) week.failed += 1;
  }

  return {
    environment,
    windowDays,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    deployments,
    deploymentFrequency: {
      perDay: round(perDay, 2),
      band: deployments > 0 ? doraBands.deploymentFrequency(perDay) : undefined,
    },
    leadTime: {
      commits: leads.length,
      medianHours: leadMedian === undefined ? undefined : round(leadMedian, 2),
      p90Hours: leadP90 === undefined ? undefined : round(leadP90, 2),
      band:
        leadMedian === undefined ? undefined : doraBands.leadTime(leadMedian),
    },
    changeFailureRate: {
      failed: failures.length,
      rate: rate === undefined ? undefined : round(rate, 4),
      band: rate === undefined ? undefined : doraBands.changeFailureRate(rate),
    },
    timeToRestore: {
      restored: restoreHours.length,
      open: failures.length - restoreHours.length,
      medianHours:
        restoreMedian === undefined ? undefined : round(restoreMedian, 2),
      band:
        restoreMedian === undefined
          ? undefined
          : doraBands.timeToRestore(restoreMedian),
    },
    trend,
  };
}
