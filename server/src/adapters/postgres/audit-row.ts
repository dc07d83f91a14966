/**
 * The admin audit row on PostgreSQL (`admin_audit`, ./schema-admin.ts), inserted on the caller's
 * client: the PostgreSQL port methods that make an audited change call it inside their
 * transaction, after the change, so a refused row rolls the change back.
 */
import { auditRowProblem, type NewAuditEntry } from '../../ports/admin.ts';
import { auditValues } from '../sqlite/admin.ts';
import type { PgQueryable } from './pg-db.ts';

/**
 * Inserts `entry` (clipped to the columns' bounds) on `q` (a transaction's client, or the pool for a row on its own).
 * @throws Error when {@link auditRowProblem} finds one, or the insert fails (the caller's transaction rolls back).
 */
export async function insertPgAudit(q: PgQueryable, entry: NewAuditEntry): Promise<void> {
  const problem = auditRowProblem(entry);
  if (problem !== null) throw new Error(problem);
  await q.run('INSERT INTO admin_audit (actor, action, target, reason, outcome, at) VALUES ($1, $2, $3, $4, $5, $6)', [...auditValues(entry), new Date(entry.at)]);
}
