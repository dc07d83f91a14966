/**
 * The admin audit row on SQLite (`admin_audit`, migration 11 in ./migrations.ts), inserted on the
 * caller's connection: the SQLite port methods that make an audited change call it inside their
 * transaction, after the change, so a refused row rolls the change back.
 */
import { auditRowProblem, type NewAuditEntry } from '../../ports/admin.ts';
import { auditValues } from './admin.ts';
import type { SqliteDb } from './sqlite-db.ts';

/**
 * Inserts `entry` (clipped to the columns' bounds).
 * @throws Error when {@link auditRowProblem} finds one, or the insert fails (the caller's transaction rolls back).
 */
export async function insertSqliteAudit(db: SqliteDb, entry: NewAuditEntry): Promise<void> {
  const problem = auditRowProblem(entry);
  if (problem !== null) throw new Error(problem);
  await db.cachedRun('INSERT INTO admin_audit (actor, action, target, reason, outcome, at) VALUES (?, ?, ?, ?, ?, ?)', [...auditValues(entry), entry.at]);
}
