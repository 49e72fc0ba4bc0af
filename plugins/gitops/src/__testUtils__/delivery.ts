import {
  ChangeLog,
  ChangeLogCommit,
  DoraFigures,
  EntityDora,
  FleetDora,
} from '@gitops-backstage/plugin-gitops-common';
import { http, HttpResponse } from 'msw';
import { BASE } from './server';

const REPO = 'https://github.com/acme/service-a';

/** The n-th commit of service-a's app repository, newest first. */
export function commit(
  n: number,
  overrides: Partial<ChangeLogCommit> = {},
): ChangeLogCommit {
  const sha = `${n}`.padStart(2, '0').repeat(20);
  return {
    sha,
    subject: `change number ${n}`,
    author: 'Ana',
    date: '2026-11-21T10:00:00Z',
    url: `${REPO}/commit/${sha}`,
    issueKeys: [],
    ...overrides,
  };
}

/** Two commits staging lacks, from a pull request, one naming an issue. */
export function changeLog(overrides: Partial<ChangeLog> = {}): ChangeLog {
  return {
    repository: REPO,
    from: { version: '1a2b3c4', sha: '1a2b3c4'.padEnd(40, '0') },
    to: { version: '4c5d6e7', sha: '4c5d6e7'.padEnd(40, '0') },
    direction: 'ahead',
    commits: [
      commit(2, { subject: 'feat: pay by invoice', issueKeys: ['PAY-12'] }),
      commit(1, { subject: 'fix: round totals', pullRequest: 41 }),
    ],
    total: 2,
    pullRequests: [
      {
        number: 41,
        title: 'Round totals half up',
        author: 'bo',
        url: `${REPO}/pull/41`,
      },
    ],
    issueKeys: ['PAY-12'],
    compareUrl: `${REPO}/compare/1a2b3c4...4c5d6e7`,
    ...overrides,
  };
}

/** Figures of a service deploying most days, every band present unless overridden. */
export function doraFigures(overrides: Partial<DoraFigures> = {}): DoraFigures {
  return {
    environment: 'prod',
    windowDays: 30,
    from: '2026-10-23T00:00:00Z',
    to: '2026-11-22T00:00:00Z',
    deployments: 24,
    deploymentFrequency: { perDay: 0.8, band: 'high' },
    leadTime: { commits: 40, medianHours: 5.5, p90Hours: 30, band: 'elite' },
    changeFailureRate: { failed: 3, rate: 0.125, band: 'medium' },
    timeToRestore: { restored: 2, open: 1, medianHours: 0.5, band: 'low' },
    trend: [
      { weekStart: '2026-10-19T00:00:00Z', deployments: 4, failed: 0 },
      { weekStart: '2026-10-26T00:00:00Z', deployments: 6, failed: 1 },
      { weekStart: '2026-11-02T00:00:00Z', deployments: 5, failed: 0 },
      { weekStart: '2026-11-09T00:00:00Z', deployments: 7, failed: 2 },
      { weekStart: '2026-11-16T00:00:00Z', deployments: 2, failed: 0 },
    ],
    ...overrides,
  };
}

export function entityDora(overrides: Partial<EntityDora> = {}): EntityDora {
  return {
    entityRef: 'component:default/service-a',
    ...doraFigures(),
    ...overrides,
  };
}

/** The fleet of fixtures.ts: service-a with figures, billing without deployments. */
export const fleetDora: FleetDora = {
  environment: 'prod',
  windowDays: 30,
  entities: [
    {
      entityRef: 'component:default/service-a',
      owner: 'team-checkout',
      figures: doraFigures(),
    },
    {
      entityRef: 'component:default/billing',
      owner: 'team-platform',
      figures: doraFigures({
        deployments: 0,
        deploymentFrequency: { perDay: 0 },
        leadTime: { commits: 0 },
        changeFailureRate: { failed: 0 },
        timeToRestore: { restored: 0, open: 0 },
        trend: [],
      }),
    },
  ],
  teams: [
    {
      owner: 'team-checkout',
      entities: 2,
      figures: doraFigures({
        deploymentFrequency: { perDay: 2.5, band: 'elite' },
      }),
    },
  ],
};

/**
 * Answers for the change-log and DORA routes of any entity, for tests about something
 * else: the lanes and the DORA card ask them on their own.
 */
export function deliveryHandlers(answers: { changeLog?: ChangeLog } = {}) {
  return [
    http.get(`${BASE}/entities/:kind/:namespace/:name/changelog`, () =>
      HttpResponse.json(answers.changeLog ?? changeLog()),
    ),
    http.get(`${BASE}/entities/:kind/:namespace/:name/dora`, () =>
      HttpResponse.json(entityDora()),
    ),
    http.get(`${BASE}/dora`, () => HttpResponse.json(fleetDora)),
  ];
}
