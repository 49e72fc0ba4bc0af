import fc from 'fast-check';
import { DeploymentFact, doraFigures } from './doraFigures';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BANDS = ['elite', 'high', 'medium', 'low'];
const NOW = Date.UTC(2024, 5, 1);

/** Offsets relative to a base time, so facts land before, in and after the window. */
const offset = (min: number, max: number) => fc.integer({ min, max });

const factArb = (windowDays: number): fc.Arbitrary<DeploymentFact> =>
  fc
    .record({
      deployed: offset(-(windowDays + 10) * DAY, 3 * DAY),
      // Up to an hour before the deployment: failures timed by skewed clocks.
      failed: fc.option(offset(-HOUR, 48 * HOUR), { nil: undefined }),
      // Negative: a restore recorded before its failure (clamped).
      restored: fc.option(offset(-2 * HOUR, 72 * HOUR), { nil: undefined }),
      // Mostly before the deployment, some after it (clock skew, clamped).
      commits: fc.array(offset(-60 * DAY, HOUR), { maxLength: 5 }),
    })
    .map(({ deployed, failed, restored, commits }) => {
      const deployedAt = NOW + deployed;
      const failedAt = failed === undefined ? undefined : deployedAt + failed;
      // A restoredAt may come without a failedAt: it must be ignored.
      const restoredAt =
        restored === undefined
          ? undefined
          : (failedAt ?? deployedAt) + restored;
      return {
        deployedAt: new Date(deployedAt),
        failedAt: failedAt === undefined ? undefined : new Date(failedAt),
        restoredAt: restoredAt === undefined ? undefined : new Date(restoredAt),
        commitTimes: commits.map(c => new Date(deployedAt + c)),
      };
    });

const caseArb = fc.integer({ min: 1, max: 365 }).chain(windowDays =>
  fc.record({
    windowDays: fc.constant(windowDays),
    facts: fc.array(factArb(windowDays), { maxLength: 40 }),
  }),
);

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** A band is one of the four exactly when its figure has a value. */
const expectBand = (band: string | undefined, hasValue: boolean) => {
  if (hasValue) expect(BANDS).toContain(band);
  else expect(band).toBeUndefined();
};

describe('doraFigures (property test)', () => {
  it('keeps the figures consistent for arbitrary facts', () => {
    fc.assert(
      fc.property(caseArb, ({ windowDays, facts }) => {
        const f = doraFigures(facts, {
          environment: 'prod',
          windowDays,
          now: new Date(NOW),
        });
        const { leadTime, changeFailureRate, timeToRestore } = f;

        const from = NOW - windowDays * DAY;
        const inWindow = facts.filter(
          x => x.deployedAt.getTime() >= from && x.deployedAt.getTime() <= NOW,
        );
        expect(f.deployments).toBe(inWindow.length);

        for (const value of [
          f.deploymentFrequency.perDay,
          leadTime.commits,
          leadTime.medianHours ?? 0,
          leadTime.p90Hours ?? 0,
          changeFailureRate.failed,
          changeFailureRate.rate ?? 0,
          timeToRestore.restored,
          timeToRestore.open,
          timeToRestore.medianHours ?? 0,
          ...f.trend.flatMap(week => [week.deployments, week.failed]),
        ]) {
          expect(value).toBeGreaterThanOrEqual(0);
        }
        expect(changeFailureRate.rate ?? 0).toBeLessThanOrEqual(1);
        expect(changeFailureRate.failed).toBeLessThanOrEqual(f.deployments);
        expect(timeToRestore.restored + timeToRestore.open).toBe(
          changeFailureRate.failed,
        );
        expect(leadTime.p90Hours ?? 0).toBeGreaterThanOrEqual(
          leadTime.medianHours ?? 0,
        );

        expect(f.trend).toHaveLength(Math.ceil(windowDays / 7));
        expect(sum(f.trend.map(w => w.deployments))).toBe(f.deployments);
        expect(sum(f.trend.map(w => w.failed))).toBe(changeFailureRate.failed);

        // Values exist exactly when there is data; bands exactly when values do.
        expect(leadTime.medianHours !== undefined).toBe(leadTime.commits > 0);
        expect(leadTime.p90Hours !== undefined).toBe(leadTime.commits > 0);
        expect(changeFailureRate.rate !== undefined).toBe(f.deployments > 0);
        expect(timeToRestore.medianHours !== undefined).toBe(
          timeToRestore.restored > 0,
        );
        expectBand(f.deploymentFrequency.band, f.deployments > 0);
        expectBand(leadTime.band, leadTime.medianHours !== undefined);
        expectBand(
          changeFailureRate.band,
          changeFailureRate.rate !== undefined,
        );
        expectBand(timeToRestore.band, timeToRestore.medianHours !== undefined);

        // A team's facts are its entities' facts mixed: order must not matter.
        expect(
          doraFigures([...facts].reverse(), {
            environment: 'prod',
            windowDays,
            now: new Date(NOW),
          }),
        ).toEqual(f);
      }),
      { numRuns: 200 },
    );
  });
});
