import { ConflictError } from '@backstage/errors';
import { Knex } from 'knex';
import { parse } from 'yaml';
import {
  entity,
  environment,
  environmentWithoutVersion,
  MemoryWriter,
  promotionsDb,
  promotionService,
} from '../../__testUtils__/promotionFixtures';
import { testDatabases } from '../../__testUtils__/testServices';

const REPOSITORY = 'registry.example.com/checkout/service-a';

/** A values file as the templates write it for a new service. */
const NEW_VALUES =
  "# service-a in staging.\nimage:\n  # Empty until a promotion sets it.\n  tag: ''\nreplicaCount: 1\n";

const databases = testDatabases();

describe.each(databases.eachSupportedId())('on %s', databaseId => {
  let db: Knex;
  beforeEach(async () => {
    db = await promotionsDb(databases, databaseId);
  });
  afterEach(async () => {
    await db.destroy();
  });

  describe('promotion and an environment with no version yet', () => {
    it.each([false, true])(
      'from it (dry run %s): refused with 409 naming the environment; nothing read, written or recorded',
      async dryRun => {
        const writer = new MemoryWriter({
          'chart/values-dev.yaml': NEW_VALUES,
          'chart/values-staging.yaml': NEW_VALUES,
        });
        const files = { ...writer.files };
        const service = promotionService({
          db,
          environments: [
            environmentWithoutVersion('dev', REPOSITORY),
            environmentWithoutVersion('staging', REPOSITORY),
          ],
          writers: [writer],
        });

        const promotion = service.promote({
          entity,
          from: 'dev',
          to: 'staging',
          actor: 'user:default/jane',
          dryRun,
        });

        await expect(promotion).rejects.toThrow(ConflictError);
        await expect(promotion).rejects.toThrow(
          /^dev has no version yet, so there is nothing to promote: chart\/values-dev\.yaml names no image tag or digest/,
        );
        expect(writer.commits).toEqual([]);
        expect(writer.reads).toBe(0);
        expect(writer.files).toEqual(files);
        expect(await db('gitops_promotions').select()).toEqual([]);
      },
    );

    it("into it: the first version is written into its own file's empty tag, comments kept, nothing else added", async () => {
      const writer = new MemoryWriter({
        'chart/values-staging.yaml': NEW_VALUES,
      });
      const service = promotionService({
        db,
        environments: [
          environment('dev', { repository: REPOSITORY, tag: 'abc1234' }),
          environmentWithoutVersion('staging', REPOSITORY),
        ],
        writers: [writer],
      });

      const preview = await service.promote({
        entity,
        from: 'dev',
        to: 'staging',
        actor: 'user:default/jane',
        dryRun: true,
      });
      expect(preview).toMatchObject({ version: 'abc1234', dryRun: true });
      expect(preview.previousVersion).toBeUndefined();
      expect(preview.gates.find(g => g.name === 'version changes')).toEqual({
        name: 'version changes',
        passed: true,
        message: 'staging moves from nothing to abc1234',
      });
      expect(writer.commits).toEqual([]);

      const result = await service.promote({
        entity,
        from: 'dev',
        to: 'staging',
        actor: 'user:default/jane',
      });

      expect(result).toMatchObject({
        status: 'committed',
        version: 'abc1234',
        commit: writer.commits[0],
      });
      expect(writer.commits).toHaveLength(1);
      // The repository stays the chart's: only the tag line changes.
      expect(writer.files['chart/values-staging.yaml']).toBe(
        NEW_VALUES.replace("tag: ''", "tag: 'abc1234'"),
      );
      expect(parse(writer.files['chart/values-staging.yaml']).image).toEqual({
        tag: 'abc1234',
      });
      const [row] = await db('gitops_promotions').select();
      expect(row).toMatchObject({
        from_environment: 'dev',
        to_environment: 'staging',
        version: 'abc1234',
        previous_version: null,
        status: 'committed',
      });
    });
  });
});
