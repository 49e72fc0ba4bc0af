// @ts-check

/**
 * The audit trail of promotions: who moved which version from where to where, how, and
 * what became of it.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.createTable('gitops_promotions', table => {
    table.string('id').primary();
    table.string('idempotency_key').nullable().unique();
    table.string('entity_ref').notNullable().index();
    table.string('from_environment').notNullable();
    table.string('to_environment').notNullable();
    table.string('version').notNullable().comment('The tag or digest moved');
    table.string('previous_version').nullable();
    table.string('method').notNullable().comment('commit or pull-request');
    table
      .string('status')
      .notNullable()
      .comment('requested, committed, pr-opened, deployed or failed');
    table.string('commit_sha').nullable();
    table.string('pr_url').nullable();
    table
      .text('message')
      .nullable()
      .comment('Why it failed, or the commit message');
    table.string('actor').notNullable();
    table.timestamp('created_at').notNullable();
    table.timestamp('updated_at').notNullable();
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.dropTable('gitops_promotions');
};
