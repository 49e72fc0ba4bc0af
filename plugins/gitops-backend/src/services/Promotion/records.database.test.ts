import knexFactory, { Knex } from 'knex';
import {
  entity,
  environment,
  MemoryWriter,
  MIGRATIONS,
  promotionsDb,
  promotionService,
  REPO_URL,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';
import { TABLE } from './records';

const REPOSITORY = 'registry.example.com/checkout/service-a';
const values = (tag: string) =>
  `image:\n  repository: ${REPOSITORY}\n  tag: '${tag}'\n`;

/** A record as the writer inserts it. */
const row = (id: string, fields: Record<string, unknown> = {}) => ({
  id,
  kind: 'promotion',
  idempotency_key: null,
  entity_ref: 'component:default/service-a',
  from_environment: 'dev',
  to_environment: 'staging',
  version: '1.1.0',
  previous_version: '1.0.0',
  method: 'commit',
  status: 'requested',
  actor: 'user:default/jane',
  repo_url: REPO_URL,
  branch: 'main',
  values_file: 'chart/values-staging.yaml',
  value_key: 'image.tag',
  created_at: new Date('2026-11-30T10:00:00.123Z'),
  updated_at: new Date('2026-11-30T10:00:00.123Z'),
  ...fields,
});

/** Resolves for everyone once `n` callers wait on it. */
function barrier(n: number) {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>(resolve => (open = resolve));
  return async () => {
    if (++arrived === n) open();
    await opened;
  };
}

const databases = testDatabases();

describe.each(databases.eachSupportedId())(
  'the promotions trail on %s',
  databaseId => {
    describe('migrations', () => {
      let db: Knex;
      beforeEach(async () => {
        db = await databases.init(databaseId);
      });
      afterEach(async () => {
        await db.destroy();
      });

      it('up creates the table, keeping the rows of each earlier step; down removes it; up again restores it', async () => {
        // The first migration alone, and a record as it wrote them.
        await db.migrate.up({ directory: MIGRATIONS });
        const {
          kind: _kind,
          repo_url: _repo,
          branch: _branch,
          values_file: _file,
          value_key: _key,
          ...first
        } = row('first', {
          status: 'committed',
          previous_version: 'x'.repeat(255),
        });
        await db(TABLE).insert(first);

        await db.migrate.latest({ directory: MIGRATIONS });
        expect(Object.keys(await db(TABLE).columnInfo()).sort()).toEqual(
          Object.keys(
            row('x', { commit_sha: null, pr_url: null, message: null }),
          ).sort(),
        );
        // Rows from before the kinds were promotions; their values are kept.
        expect(await db(TABLE).where({ id: 'first' }).first()).toMatchObject({
          ...first,
          created_at: expect.anything(),
          updated_at: expect.anything(),
          kind: 'promotion',
          repo_url: null,
        });
        await db(TABLE).insert(
          row('latest', { previous_version: 'y'.repeat(300) }),
        );
        expect(
          (await db(TABLE).select('id', 'previous_version')).map(r => [
            r.id,
            r.previous_version.length,
          ]),
        ).toEqual([
          ['first', 255],
          ['latest', 300],
        ]);

        await db.migrate.rollback({ directory: MIGRATIONS }, true);
        expect(await db.schema.hasTable(TABLE)).toBe(false);

        await db.migrate.latest({ directory: MIGRATIONS });
        expect(await db.schema.hasTable(TABLE)).toBe(true);
        expect(await db(TABLE).select()).toEqual([]);
      });
    });

    describe('records', () => {
      let db: Knex;
      beforeEach(async () => {
        db = await promotionsDb(databases, databaseId);
      });
      afterEach(async () => {
        await db.destroy();
      });

      it('an idempotency key names one record; records without a key are many', async () => {
        await db(TABLE).insert([row('a'), row('b')]);
        await db(TABLE).insert(row('c', { idempotency_key: 'key-12345' }));
        // Matched by message, not toThrow: better-sqlite3 builds its errors with the
        // constructor of the first test file that loaded it in this jest worker, so
        // they may be another realm's Error, which toThrow does not count as thrown.
        await expect(
          db(TABLE).insert(row('d', { idempotency_key: 'key-12345' })),
        ).rejects.toMatchObject({ message: expect.stringMatching(/unique/i) });
        expect((await db(TABLE).select('id')).map(r => r.id).sort()).toEqual([
          'a',
          'b',
          'c',
        ]);
      });

      it('keeps every field as written: long URLs, branches and versions whole, times to the millisecond', async () => {
        // Nothing bounds these to 255 characters: a pull request URL of a deeply nested
        // GitLab group, a branch name, whatever tag a values file held before.
        const long = {
          version: `sha256:${'b'.repeat(300)}`,
          previous_version: 'x'.repeat(300),
          branch: `release/${'y'.repeat(300)}`,
          pr_url: `https://gitlab.example.test/${'group/'.repeat(
            60,
          )}service-a-config/-/merge_requests/1`,
          repo_url: `https://gitlab.example.test/${'group/'.repeat(
            60,
          )}service-a-config.git`,
          values_file: `${'dir/'.repeat(70)}values-staging.yaml`,
          message: 'm'.repeat(5000),
          idempotency_key: 'k'.repeat(200),
        };
        await db(TABLE).insert(row('long', long));
        const stored = await db(TABLE).where({ id: 'long' }).first();
        expect(stored).toMatchObject(long);
        expect(new Date(stored.created_at).toISOString()).toBe(
          '2026-11-30T10:00:00.123Z',
        );
      });
    });

    describe('promotions through it', () => {
      let db: Knex;
      const others: Knex[] = [];
      beforeEach(async () => {
        db = await promotionsDb(databases, databaseId);
      });
      afterEach(async () => {
        await Promise.all(others.splice(0).map(o => o.destroy()));
        await db.destroy();
      });

      /**
       * A second backend replica's own connection pool to the same database. SQLite in
       * memory is one process's alone: there the two "replicas" share the client.
       */
      const secondReplica = () => {
        if (databaseId === 'SQLITE_3') return db;
        const other = knexFactory(db.client.config);
        others.push(other);
        return other;
      };

      it('two replicas given one idempotency key at the same moment: one commit, one record, both answer it', async () => {
        const writer = new MemoryWriter({
          'chart/values-staging.yaml': values('1.0.0'),
        });
        // Both have looked for an earlier request with the key, found none, and read
        // the entity's view before either records anything: a real race to insert.
        const bothPlanning = barrier(2);
        const replica = (replicaDb: Knex) =>
          promotionService({
            db: replicaDb,
            environments: [
              environment('dev', { repository: REPOSITORY, tag: '1.1.0' }),
              environment('staging', { repository: REPOSITORY, tag: '1.0.0' }),
            ],
            writers: [writer],
            beforeView: bothPlanning,
          });
        const request = {
          entity,
          from: 'dev',
          to: 'staging',
          actor: 'user:default/jane',
          idempotencyKey: 'promote-service-a-1',
        };

        const answers = await Promise.all([
          replica(db).promote(request),
          replica(secondReplica()).promote(request),
        ]);

        expect(writer.commits).toHaveLength(1);
        expect(writer.files['chart/values-staging.yaml']).toBe(values('1.1.0'));
        const created = answers.find(a => !a.replayed);
        const replayed = answers.find(a => a.replayed);
        expect(created).toMatchObject({
          status: 'committed',
          commit: writer.commits[0],
        });
        expect(replayed).toMatchObject({
          id: created!.id,
          status: 'committed',
          commit: writer.commits[0],
          replayed: true,
        });
        expect(await db(TABLE).select('id', 'status')).toEqual([
          { id: created!.id, status: 'committed' },
        ]);
      });

      it('promotes into an environment whose values file holds an over-long tag, recording it as the previous version', async () => {
        const garbage = `v${'0'.repeat(299)}`;
        const writer = new MemoryWriter({
          'chart/values-staging.yaml': values(garbage),
        });
        const service = promotionService({
          db,
          environments: [
            environment('dev', { repository: REPOSITORY, tag: '1.1.0' }),
            environment('staging', { repository: REPOSITORY, tag: garbage }),
          ],
          writers: [writer],
        });

        const result = await service.promote({
          entity,
          from: 'dev',
          to: 'staging',
          actor: 'user:default/jane',
        });

        expect(result).toMatchObject({
          status: 'committed',
          previousVersion: garbage,
        });
        expect(writer.files['chart/values-staging.yaml']).toBe(values('1.1.0'));
        expect(await db(TABLE).first()).toMatchObject({
          previous_version: garbage,
          status: 'committed',
        });
      });
    });
  },
);
