import { parseEntityRef } from '@backstage/catalog-model';
import { PromotionRecord } from '@gitops-backstage/plugin-gitops-common';

/** The audit trail of promotions and rollbacks (see the package's migrations). */
export const TABLE = 'gitops_promotions';

/**
 * While a write runs, the replica writing it renews its `requested` record's
 * `updated_at` this often: a lease, so the other replicas can tell a write under way
 * from one whose replica stopped or was killed.
 */
export const WRITE_HEARTBEAT_MS = 5_000;
/** A `requested` record not renewed for this long has lost its writer: settle it from Git. */
export const WRITE_LEASE_MS = 30_000;

export type Row = {
  id: string;
  kind: string;
  idempotency_key: string | null;
  entity_ref: string;
  from_environment: string;
  to_environment: string;
  version: string;
  previous_version: string | null;
  method: string;
  status: string;
  commit_sha: string | null;
  pr_url: string | null;
  message: string | null;
  actor: string;
  repo_url: string | null;
  branch: string | null;
  values_file: string | null;
  value_key: string | null;
  created_at: string | Date;
  updated_at: string | Date;
};

export function toRecord(row: Row): PromotionRecord {
  return {
    id: row.id,
    kind: row.kind as PromotionRecord['kind'],
    entityRef: row.entity_ref,
    from: row.from_environment,
    to: row.to_environment,
    version: row.version,
    ...(row.previous_version && { previousVersion: row.previous_version }),
    method: row.method as PromotionRecord['method'],
    status: row.status as PromotionRecord['status'],
    ...(row.commit_sha && { commit: row.commit_sha }),
    ...(row.pr_url && { pullRequestUrl: row.pr_url }),
    ...(row.message && { message: row.message }),
    actor: row.actor,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/**
 * The branch a promotion's pull request comes from: derived from its record alone, so
 * the pull request can be found again after a restart, even one that cut the record
 * short before it named the pull request.
 */
export function pullRequestBranch(
  row: Pick<Row, 'id' | 'entity_ref' | 'to_environment' | 'version'>,
) {
  const { name } = parseEntityRef(row.entity_ref);
  const version = row.version.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 60);
  return `gitops/${name}-${row.to_environment}-${version}-${row.id.slice(
    0,
    8,
  )}`;
}
