import { Knex } from 'knex';
import { parse } from 'yaml';
import {
  entity,
  environment,
  MemoryWriter,
  promotionsDb,
  promotionService,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';
import { GitopsSourceError } from '@gitops-backstage/plugin-gitops-node';

const REPOSITORY = 'registry.example.com/checkout/service-a';
const DIGEST_OLD = `sha256:${'a'.repeat(64)}`;
const DIGEST_NEW = `sha256:${'b'.repeat(64)}`;

const values = (image: string) =>
  `# service-a\nimage:\n  repository: ${REPOSITORY}\n${image}replicaCount: 1\n`;

/** dev runs 1.1.0, staging 1.0.0: a promotion moves 1.1.0 into staging's file. */
const devAheadOfStaging = () => [
  environment('dev', { repository: REPOSITORY, tag: '1.1.0' }),
  environment('staging', { repository: REPOSITORY, tag: '1.0.0' }),
];

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  const rows = () => db('gitops_promotions').select();

  describe('writing a promotion: the record says what Git says', () => {
    it('an error after the push (forgetting the cached view fails) does not turn the record failed', async () => {
      const writer = new MemoryWriter({
        'chart/values-staging.yaml': values("  tag: '1.0.0'\n"),
      });
      const service = promotionService({
        db,
        environments: devAheadOfStaging(),
        writers: [writer],
        forget: async () => {
          throw new Error('cache unreachable');
        },
      });

      const result = await service.promote({
        entity,
        from: 'dev',
        to: 'staging',
        actor: 'user:default/jane',
      });

      expect(writer.commits).toHaveLength(1);
      expect(result).toMatchObject({
        status: 'committed',
        commit: writer.commits[0],
        version: '1.1.0',
      });
      const [row] = await rows();
      expect(row).toMatchObject({
        status: 'committed',
        commit_sha: writer.commits[0],
      });
    });

    it('a database that cannot record the push leaves the record requested, never failed; settling finds the push in Git', async () => {
      // The database refuses to record the commit, as a full disk or a lost connection would.
      await refuseCommitted(db);
      const writer = new MemoryWriter({
        'chart/values-staging.yaml': values("  tag: '1.0.0'\n"),
      });
      const service = promotionService({
        db,
        environments: devAheadOfStaging(),
        writers: [writer],
      });

      const result = await service.promote({
        entity,
        from: 'dev',
        to: 'staging',
        actor: 'user:default/jane',
      });
      expect(result.status).toBe('committed');
      expect((await rows())[0].status).toBe('requested');

      // Later (a restart), with the database healthy again: Git decides.
      await acceptCommitted(db);
      const longAgo = new Date(Date.now() - 60 * 60_000);
      await db('gitops_promotions').update({
        created_at: longAgo,
        updated_at: longAgo,
      });
      await service.settleInterrupted();
      expect((await rows())[0]).toMatchObject({
        status: 'committed',
        message: expect.stringContaining('Interrupted after its push'),
      });
    });
    it('a write that timed out leaves the record requested, not failed (the push may still land); settling decides from Git', async () => {
      const writer = new MemoryWriter({
        'chart/values-staging.yaml': values("  tag: '1.0.0'\n"),
      });
      const commit = writer.commit.bind(writer);
      // The push lands, but its answer comes too late.
      writer.commit = async change => {
        await commit(change);
        throw new GitopsSourceError('timeout', 'config repository x timed out');
      };
      const service = promotionService({
        db,
        environments: devAheadOfStaging(),
        writers: [writer],
      });

      await expect(
        service.promote({
          entity,
          from: 'dev',
          to: 'staging',
          actor: 'user:default/jane',
        }),
      ).rejects.toMatchObject({
        code: 'timeout',
        message: expect.stringMatching(/is settled from Git/),
      });
      expect((await rows())[0].status).toBe('requested');

      const lapsed = new Date(Date.now() - 60 * 60_000);
      await db('gitops_promotions').update({ updated_at: lapsed });
      await service.settleAbandonedWrites();
      expect((await rows())[0]).toMatchObject({
        status: 'committed',
        message: expect.stringContaining('Interrupted after its push'),
      });
    });
  });

  describe('the lease on a record being written', () => {
    it('renews updated_at while the write runs, so no replica settles it meanwhile; a settling pass leaves it alone', async () => {
      const writer = new MemoryWriter({
        'chart/values-staging.yaml': values("  tag: '1.0.0'\n"),
      });
      let renewed: Date | undefined;
      const commit = writer.commit.bind(writer);
      const service = promotionService({
        db,
        environments: devAheadOfStaging(),
        writers: [writer],
      });
      // The push takes until the record's lease has been renewed once.
      writer.commit = async change => {
        const [row] = await rows();
        const created = new Date(row.created_at).getTime();
        for (;;) {
          const [now] = await rows();
          if (new Date(now.updated_at).getTime() > created) {
            renewed = new Date(now.updated_at);
            break;
          }
          await new Promise(r => setTimeout(r, 100));
        }
        await service.settleAbandonedWrites();
        expect((await rows())[0].status).toBe('requested');
        return commit(change);
      };

      const result = await service.promote({
        entity,
        from: 'dev',
        to: 'staging',
        actor: 'user:default/jane',
      });
      expect(result.status).toBe('committed');
      expect(renewed).toBeDefined();
      expect(writer.reads).toBe(0);
    }, 30_000);
  });

  describe('the file pins exactly the promoted version', () => {
    const promote = async (
      source: { tag?: string; digest?: string },
      target: { tag?: string; digest?: string },
      text: string,
    ) => {
      const writer = new MemoryWriter({ 'chart/values-staging.yaml': text });
      const service = promotionService({
        db,
        environments: [
          environment('dev', { repository: REPOSITORY, ...source }),
          environment('staging', { repository: REPOSITORY, ...target }),
        ],
        writers: [writer],
      });
      const outcome = await service
        .promote({
          entity,
          from: 'dev',
          to: 'staging',
          actor: 'user:default/j',
        })
        .then(
          result => ({ result, error: undefined }),
          error => ({ result: undefined, error }),
        );
      return {
        ...outcome,
        writer,
        image: parse(writer.files['chart/values-staging.yaml']).image,
      };
    };

    it('promoting a tag into a file that pins a digest empties the digest, so the file pins the tag', async () => {
      const { result, image } = await promote(
        { tag: '1.1.0' },
        { tag: '1.0.0', digest: DIGEST_OLD },
        values(`  tag: '1.0.0'\n  digest: '${DIGEST_OLD}'\n`),
      );
      expect(result).toMatchObject({ status: 'committed', version: '1.1.0' });
      expect(image).toEqual({
        repository: REPOSITORY,
        tag: '1.1.0',
        digest: '',
      });
    });

    it('promoting a digest into a file that pins a tag writes both from the source', async () => {
      const { result, image } = await promote(
        { tag: '1.1.0', digest: DIGEST_NEW },
        { tag: '1.0.0' },
        values("  tag: '1.0.0'\n"),
      );
      expect(result).toMatchObject({
        status: 'committed',
        version: DIGEST_NEW,
      });
      expect(image).toEqual({
        repository: REPOSITORY,
        tag: '1.1.0',
        digest: DIGEST_NEW,
      });
    });

    it('refuses (409) a file the edit cannot make pin the version (an alias for the image map), writing nothing', async () => {
      const text = `base: &base\n  repository: ${REPOSITORY}\n  tag: '1.0.0'\nimage: *base\n`;
      const { error, writer } = await promote(
        { tag: '1.1.0' },
        { tag: '1.0.0' },
        text,
      );
      expect(error).toMatchObject({
        name: 'ConflictError',
        message: expect.stringMatching(
          /^staging's chart\/values-staging\.yaml cannot take 1\.1\.0: .*"image" is a scalar, not a map; nothing was written$/,
        ),
      });
      expect(writer.commits).toEqual([]);
      expect(writer.files['chart/values-staging.yaml']).toBe(text);
      expect((await rows())[0]).toMatchObject({
        status: 'failed',
        message: error.message,
      });
    });
  });
});

/** A trigger that fails every update making a record committed. */
async function refuseCommitted(db: Knex) {
  if (db.client.dialect === 'postgresql') {
    await db.raw(`CREATE FUNCTION no_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status = 'committed' THEN RAISE EXCEPTION 'disk I/O error'; END IF;
        RETURN NEW;
      END $$`);
    await db.raw(`CREATE TRIGGER no_commit BEFORE UPDATE ON gitops_promotions
      FOR EACH ROW EXECUTE FUNCTION no_commit()`);
  } else {
    await db.raw(`CREATE TRIGGER no_commit BEFORE UPDATE ON gitops_promotions
      WHEN NEW.status = 'committed' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`);
  }
}

async function acceptCommitted(db: Knex) {
  await db.raw(
    db.client.dialect === 'postgresql'
      ? 'DROP TRIGGER no_commit ON gitops_promotions'
      : 'DROP TRIGGER no_commit',
  );
}
