import { DeploymentFact, doraBands, doraFigures } from './doraFigures';

const at = (iso: string) => new Date(iso);
const now = at('2024-03-31T00:00:00Z');
// 30 days: the window is [2024-03-01T00:00Z, 2024-03-31T00:00Z], 5 weeks.
const options = { environment: 'prod', windowDays: 30, now };

const fact = (
  deployedAt: string,
  more: { failedAt?: string; restoredAt?: string; commits?: string[] } = {},
): DeploymentFact => ({
  deployedAt: at(deployedAt),
  failedAt: more.failedAt ? at(more.failedAt) : undefined,
  restoredAt: more.restoredAt ? at(more.restoredAt) : undefined,
  commitTimes: (more.commits ?? []).map(at),
});

/**
 * Six deployments in March. Leads (hours): d1 2, 24; d2 1; d3 24, 168; d4 6, and -1
 * clamped to 0; d6 24, 696 → sorted [0, 1, 2, 6, 24, 24, 24, 168, 696]: median = rank
 * ceil(4.5) = 5 → 24, p90 = rank ceil(8.1) = 9 → 696. Failures: d2 rolled back 2 h
 * after it, healthy 3 h later; d3 Degraded for 30 min; d5 still failing.
 */
const history: DeploymentFact[] = [
  fact('2024-03-02T10:00:00Z', {
    commits: ['2024-03-02T08:00:00Z', '2024-03-01T10:00:00Z'],
  }),
  fact('2024-03-05T12:00:00Z', {
    commits: ['2024-03-05T11:00:00Z'],
    failedAt: '2024-03-05T14:00:00Z',
    restoredAt: '2024-03-05T17:00:00Z',
  }),
  fact('2024-03-10T09:00:00Z', {
    commits: ['2024-03-09T09:00:00Z', '2024-03-03T09:00:00Z'],
    failedAt: '2024-03-10T09:10:00Z',
    restoredAt: '2024-03-10T09:40:00Z',
  }),
  fact('2024-03-16T00:00:00Z', {
    commits: ['2024-03-15T18:00:00Z', '2024-03-16T01:00:00Z'],
  }),
  fact('2024-03-23T12:00:00Z', { failedAt: '2024-03-23T13:00:00Z' }),
  fact('2024-03-30T06:00:00Z', {
    commits: ['2024-03-29T06:00:00Z', '2024-03-01T06:00:00Z'],
  }),
];

/** Outside the window: every one of their fields must be ignored. */
const outside: DeploymentFact[] = [
  fact('2024-02-29T23:59:59.999Z', {
    commits: ['2024-01-01T00:00:00Z'],
    failedAt: '2024-03-01T01:00:00Z',
  }),
  fact('2024-03-31T00:00:00.001Z', {
    commits: ['2024-03-30T00:00:00Z'],
    failedAt: '2024-03-31T01:00:00Z',
    restoredAt: '2024-04-02T00:00:00Z',
  }),
];

const expected = {
  environment: 'prod',
  windowDays: 30,
  from: '2024-03-01T00:00:00.000Z',
  to: '2024-03-31T00:00:00.000Z',
  deployments: 6,
  deploymentFrequency: { perDay: 0.2, band: 'high' },
  leadTime: { commits: 9, medianHours: 24, p90Hours: 696, band: 'high' },
  changeFailureRate: { failed: 3, rate: 0.5, band: 'low' },
  // Restores [0.5, 3] h: the median is the lower middle, 0.5.
  timeToRestore: { restored: 2, open: 1, medianHours: 0.5, band: 'elite' },
  trend: [
    { weekStart: '2024-03-01T00:00:00.000Z', deployments: 2, failed: 1 },
    { weekStart: '2024-03-08T00:00:00.000Z', deployments: 1, failed: 1 },
    { weekStart: '2024-03-15T00:00:00.000Z', deployments: 1, failed: 0 },
    { weekStart: '2024-03-22T00:00:00.000Z', deployments: 1, failed: 1 },
    { weekStart: '2024-03-29T00:00:00.000Z', deployments: 1, failed: 0 },
  ],
};

describe('doraFigures', () => {
  it('computes the four figures of a scripted history', () => {
    expect(doraFigures(history, options)).toEqual(expected);
  });

  it('ignores deployments outside the window', () => {
    expect(doraFigures([...outside, ...history], options)).toEqual(expected);
  });

  it('mixes facts of several entities in any order', () => {
    const teamFacts = [...history.slice(3), ...outside, ...history.slice(0, 3)];
    expect(doraFigures(teamFacts.reverse(), options)).toEqual(expected);
  });

  it('counts deployments at both ends of the window', () => {
    const figures = doraFigures(
      [fact('2024-03-01T00:00:00Z'), fact('2024-03-31T00:00:00Z')],
      { environment: 'prod', windowDays: 28, now },
    );
    // 28 days from 2024-03-03: exactly 4 weeks, the deployment at `to` in the last.
    expect(figures.from).toBe('2024-03-03T00:00:00.000Z');
    expect(figures.deployments).toBe(1);
    expect(figures.trend).toEqual([
      { weekStart: '2024-03-03T00:00:00.000Z', deployments: 0, failed: 0 },
      { weekStart: '2024-03-10T00:00:00.000Z', deployments: 0, failed: 0 },
      { weekStart: '2024-03-17T00:00:00.000Z', deployments: 0, failed: 0 },
      { weekStart: '2024-03-24T00:00:00.000Z', deployments: 1, failed: 0 },
    ]);
    const first = doraFigures([fact('2024-03-01T00:00:00Z')], options);
    expect(first.trend[0].deployments).toBe(1);
  });

  it('has zero counts, no values and no bands without deployments', () => {
    expect(doraFigures([], options)).toEqual({
      environment: 'prod',
      windowDays: 30,
      from: '2024-03-01T00:00:00.000Z',
      to: '2024-03-31T00:00:00.000Z',
      deployments: 0,
      deploymentFrequency: { perDay: 0, band: undefined },
      leadTime: {
        commits: 0,
        medianHours: undefined,
        p90Hours: undefined,
        band: undefined,
      },
      changeFailureRate: { failed: 0, rate: undefined, band: undefined },
      timeToRestore: {
        restored: 0,
        open: 0,
        medianHours: undefined,
        band: undefined,
      },
      trend: expected.trend.map(week => ({
        ...week,
        deployments: 0,
        failed: 0,
      })),
    });
    expect(doraFigures(outside, options).deployments).toBe(0);
    expect(
      doraFigures([], { environment: 'prod', windowDays: 1, now }).trend,
    ).toHaveLength(1);
    expect(
      doraFigures([], { environment: 'prod', windowDays: 365, now }).trend,
    ).toHaveLength(53);
  });

  it('has no lead time when commit times are unknown, no restore when none restored', () => {
    const figures = doraFigures(
      [fact('2024-03-10T00:00:00Z', { failedAt: '2024-03-10T01:00:00Z' })],
      options,
    );
    expect(figures.leadTime).toEqual({ commits: 0 });
    expect(figures.changeFailureRate).toEqual({
      failed: 1,
      rate: 1,
      band: 'low',
    });
    expect(figures.timeToRestore).toEqual({ restored: 0, open: 1 });
  });

  it('clamps a commit after its deployment and a restore before its failure to 0', () => {
    const figures = doraFigures(
      [
        fact('2024-03-10T00:00:00Z', {
          commits: ['2024-03-10T00:05:00Z'],
          failedAt: '2024-03-10T02:00:00Z',
          restoredAt: '2024-03-10T01:00:00Z',
        }),
      ],
      options,
    );
    expect(figures.leadTime).toMatchObject({ medianHours: 0, p90Hours: 0 });
    expect(figures.timeToRestore).toMatchObject({
      restored: 1,
      medianHours: 0,
    });
  });

  it('ignores a restoredAt without a failedAt', () => {
    const figures = doraFigures(
      [fact('2024-03-10T00:00:00Z', { restoredAt: '2024-03-10T01:00:00Z' })],
      options,
    );
    expect(figures.changeFailureRate.failed).toBe(0);
    expect(figures.timeToRestore).toEqual({ restored: 0, open: 0 });
  });

  it('rounds hours and perDay to 2 decimals and rates to 4', () => {
    const figures = doraFigures(
      [
        fact('2024-03-30T00:20:00Z', {
          commits: ['2024-03-30T00:00:00Z'],
          failedAt: '2024-03-30T01:00:00Z',
          restoredAt: '2024-03-30T01:40:00Z',
        }),
        fact('2024-03-30T02:00:00Z'),
        fact('2024-03-30T03:00:00Z'),
      ],
      { environment: 'prod', windowDays: 7, now },
    );
    expect(figures.deploymentFrequency.perDay).toBe(0.43); // 3 / 7
    expect(figures.leadTime.medianHours).toBe(0.33); // 20 min
    expect(figures.changeFailureRate.rate).toBe(0.3333); // 1 / 3
    expect(figures.timeToRestore.medianHours).toBe(0.67); // 40 min
  });

  it('bands on the exact value, not the rounded one', () => {
    // 4 in 28 days is exactly once a week: high, though perDay shows 0.14 < 1/7.
    const weekly = ['03-04', '03-11', '03-18', '03-25'].map(day =>
      fact(`2024-${day}T00:00:00Z`),
    );
    const figures = doraFigures(weekly, {
      environment: 'prod',
      windowDays: 28,
      now,
    });
    expect(figures.deploymentFrequency).toEqual({ perDay: 0.14, band: 'high' });
  });

  it('rejects a window that is not positive', () => {
    expect(() =>
      doraFigures([], { environment: 'prod', windowDays: 0, now }),
    ).toThrow(RangeError);
    expect(() =>
      doraFigures([], { environment: 'prod', windowDays: NaN, now }),
    ).toThrow(RangeError);
  });
});

describe('doraBands', () => {
  it.each([
    [5, 'elite'],
    [1, 'elite'],
    [0.999, 'high'],
    [1 / 7, 'high'],
    [1 / 7 - 1e-9, 'medium'],
    [1 / 30, 'medium'],
    [1 / 30 - 1e-9, 'low'],
    [0, 'low'],
  ])('deployment frequency %d per day is %s', (perDay, band) => {
    expect(doraBands.deploymentFrequency(perDay)).toBe(band);
  });

  it.each([
    [0, 'elite'],
    [23.99, 'elite'],
    [24, 'high'],
    [167.99, 'high'],
    [168, 'medium'],
    [719.99, 'medium'],
    [720, 'low'],
    [10_000, 'low'],
  ])('lead time %d h is %s', (hours, band) => {
    expect(doraBands.leadTime(hours)).toBe(band);
  });

  it.each([
    [0, 'elite'],
    [0.0499, 'elite'],
    [0.05, 'elite'],
    [0.0501, 'high'],
    [0.1, 'high'],
    [0.1001, 'medium'],
    [0.15, 'medium'],
    [0.1501, 'low'],
    [1, 'low'],
  ])('change failure rate %d is %s', (rate, band) => {
    expect(doraBands.changeFailureRate(rate)).toBe(band);
  });

  it('bands failure rates computed by division exactly at the boundaries', () => {
    expect(doraBands.changeFailureRate(1 / 20)).toBe('elite');
    expect(doraBands.changeFailureRate(2 / 20)).toBe('high');
    expect(doraBands.changeFailureRate(3 / 20)).toBe('medium');
  });

  it.each([
    [0, 'elite'],
    [0.99, 'elite'],
    [1, 'high'],
    [23.99, 'high'],
    [24, 'medium'],
    [167.99, 'medium'],
    [168, 'low'],
    [5_000, 'low'],
  ])('time to restore %d h is %s', (hours, band) => {
    expect(doraBands.timeToRestore(hours)).toBe(band);
  });
});
