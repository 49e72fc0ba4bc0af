import {
  TestCaches,
  TestDatabases,
  TestCacheId,
  TestDatabaseId,
} from '@backstage/backend-test-utils';

/**
 * The databases and caches the plugin's tests run on: what the local default runs
 * (SQLite in memory, the memory cache) and what production runs (PostgreSQL 15 and
 * Redis 7, shared by several backend replicas). The real servers come from
 * scripts/test-services.sh (`.ci/run` starts them), found by the variables
 * @backstage/backend-test-utils reads; never from Docker.
 */
const SERVICES = {
  POSTGRES_15: {
    name: 'PostgreSQL 15',
    env: 'BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING',
  },
  REDIS_7: {
    name: 'Redis 7',
    env: 'BACKSTAGE_TEST_CACHE_REDIS7_CONNECTION_STRING',
  },
};

const underCi = () => Boolean(process.env.CI) && process.env.CI !== 'false';

/**
 * Whether the server is there. Under CI its absence fails the test file; elsewhere its
 * runs are skipped with a notice saying how to have them.
 */
function available(service: keyof typeof SERVICES): boolean {
  const { name, env } = SERVICES[service];
  if (process.env[env]) return true;
  const how = `scripts/test-services.sh starts one and sets it (e.g. \`scripts/test-services.sh run ./portal test\`)`;
  if (underCi()) {
    throw new Error(
      `${name} is required under CI, but ${env} is not set: ${how}`,
    );
  }
  // eslint-disable-next-line no-console
  console.warn(
    `Skipping the ${name} runs of this file: ${env} is not set; ${how}`,
  );
  return false;
}

/** SQLite in memory, and PostgreSQL 15 when available (always under CI). */
export function testDatabases(): TestDatabases {
  available('POSTGRES_15');
  const ids: TestDatabaseId[] = ['SQLITE_3', 'POSTGRES_15'];
  return TestDatabases.create({ ids, disableDocker: true });
}

/** The memory cache, and Redis 7 when available (always under CI). */
export function testCaches(): TestCaches {
  available('REDIS_7');
  const ids: TestCacheId[] = ['MEMORY', 'REDIS_7'];
  return TestCaches.create({ ids, disableDocker: true });
}

/**
 * The connection strings of PostgreSQL 15 and Redis 7, for tests that start whole
 * backends on them (replicas); undefined, with a notice, when either is missing outside
 * CI (the file's tests are then skipped); under CI their absence fails the file.
 */
export function productionServices():
  | { postgres: string; redis: string }
  | undefined {
  const postgres = available('POSTGRES_15');
  const redis = available('REDIS_7');
  if (!postgres || !redis) return undefined;
  return {
    postgres: process.env[SERVICES.POSTGRES_15.env]!,
    redis: process.env[SERVICES.REDIS_7.env]!,
  };
}
