// @ts-check

/**
 * Versions, branches and pull request URLs are not bounded by 255 characters: a values
 * file may hold any tag before a promotion replaces it, a branch any name, a GitLab
 * pull request URL any depth of groups. SQLite never enforced the bound; PostgreSQL
 * refused the record (and so the promotion, or the settling of every record after it).
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  if (enforcesNoLength(knex)) return;
  await knex.schema.alterTable('gitops_promotions', table => {
    table
      .text('version')
      .notNullable()
      .comment('The tag or digest moved')
      .alter();
    table.text('previous_version').nullable().alter();
    table.text('branch').nullable().alter();
    table.text('pr_url').nullable().alter();
  });
};

/**
 * Back to 255 characters: PostgreSQL cuts longer values short.
 *
 * @param {import('knex').Knex} knex
 */
exports.down = async function down(knex) {
  if (enforcesNoLength(knex)) return;
  await knex.schema.alterTable('gitops_promotions', table => {
    table
      .string('version')
      .notNullable()
      .comment('The tag or digest moved')
      .alter();
    table.string('previous_version').nullable().alter();
    table.string('branch').nullable().alter();
    table.string('pr_url').nullable().alter();
  });
};

/**
 * SQLite keeps any length in a varchar(255) column: nothing to change there, and
 * altering a column would rebuild its table (knex copies it, then recreates its
 * indexes, the idempotency key's unique one among them).
 *
 * @param {import('knex').Knex} knex
 */
function enforcesNoLength(knex) {
  return knex.client.dialect === 'sqlite3';
}
