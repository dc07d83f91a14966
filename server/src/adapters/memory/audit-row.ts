/**
 * The admin audit row in memory (`adminAudit`, ../../ports/admin.ts), appended inside the caller's
 * transaction: the memory adapters' port methods that make an audited change call it after the
 * change, so a refused row rolls the change back (./state.ts journal).
 */
import { auditRowProblem, clip, type NewAuditEntry } from '../../ports/admin.ts';
import { ConstraintError, type MemoryState } from './state.ts';

/**
 * Appends `entry` to the audit log (clipped like the SQL columns) inside the running transaction.
 * @throws ConstraintError `check` when {@link auditRowProblem} finds one (the caller's transaction rolls back).
 */
export function insertMemoryAudit(state: MemoryState, entry: NewAuditEntry): void {
  const problem = auditRowProblem(entry);
  if (problem !== null) throw new ConstraintError('check', problem);
  const seq = state.nextSeq('admin_audit');
  state.tables.adminAudit.set(seq, {
    seq,
    actor: clip(entry.actor, 200),
    action: clip(entry.action, 64),
    target: clip(entry.target, 200),
    reason: clip(entry.reason, 500),
    outcome: clip(entry.outcome, 64),
    at: entry.at,
  });
}
