// @ts-check

/**
 * Deployments as they happen, per entity and environment, for the DORA figures: Argo
 * CD keeps only the last few history entries (10 by default), so the plugin records
 * each one it sees, and what followed it (a failure, the restore).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gitops_deployments', table => {
    table.increments('id').primary();
    table.string('entity_ref').notNullable();
    table.string('environment').notNullable();
    table
      .string('source_id')
      .notNullable()
      .comment('The Argo CD instance (or cluster) of the Application');
    table.string('application').notNullable().comment('namespace/name');
    table.integer('history_id').notNullable().comment("Argo CD's history id");
    table
      .string('revision')
      .notNullable()
      .comment('The config commit deployed');
    table.string('version').nullable().comment('The image version it ran');
    table.timestamp('deployed_at', { useTz: true }).notNullable();
    table.timestamp('failed_at', { useTz: true }).nullable();
    table
      .string('failure_kind')
      .nullable()
      .comment('degraded, sync-failed or rollback');
    table.timestamp('restored_at', { useTz: true }).nullable();
    table
      .text('commit_times')
      .nullable()
      .comment(
        'JSON array of the commit times it shipped first; null: not read yet',
      );
    table.unique(['source_id', 'application', 'history_id'], {
      indexName: 'gitops_deployments_history_uniq',
    });
    table.index(['environment', 'deployed_at'], 'gitops_deployments_env_idx');
    table.index(
      ['entity_ref', 'environment', 'deployed_at'],
      'gitops_deployments_entity_idx',
    );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gitops_deployments');
};
