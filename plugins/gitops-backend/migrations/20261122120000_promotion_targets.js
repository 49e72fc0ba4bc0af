// @ts-check

/**
 * Rollbacks share the trail (kind), and each row names the file it writes, so a
 * promotion cut short by a restart can be settled from Git afterwards.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('gitops_promotions', table => {
    table
      .string('kind')
      .notNullable()
      .defaultTo('promotion')
      .comment('promotion or rollback');
    table.text('repo_url').nullable();
    table.string('branch').nullable();
    table.text('values_file').nullable();
    table.string('value_key').nullable().comment('e.g. image.tag');
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('gitops_promotions', table => {
    table.dropColumn('kind');
    table.dropColumn('repo_url');
    table.dropColumn('branch');
    table.dropColumn('values_file');
    table.dropColumn('value_key');
  });
};
