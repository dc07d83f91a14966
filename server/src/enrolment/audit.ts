/**
 * Where the enrolment actions are recorded for the audit trail (docs/agent-enrolment.md
 * "Audit"): the admin API's audit log ({@link storeAuditSink}) and, always in addition, a log
 * line (`component: 'audit'`, {@link loggingAuditSink}).
 * Entries carry ids, names and the actor, never a token or a code.
 */
import type { Logger } from 'pino';

/** What is recorded of one action. */
export interface AuditEntry {
  /** e.g. `agent.pair_code.created`, `agent.paired`, `agent.token.rotated`, `agent.revoked`. */
  readonly action: string;
  /** Who: `cli:<os user>`, `admin:<account>`, or `agent:<agentId>` for a pairing. */
  readonly actor: string;
  /** What it was done to: `agent:<id>` or `store:<id>`. */
  readonly target: string;
  /** ms since epoch. */
  readonly at: number;
  /** Merchant the action belongs to (merchant-scoped audit views), when known. */
  readonly merchantId?: string;
  /** Ids and names only: no secrets. */
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

/** The audit log. `record` resolves once the entry is stored; it may reject with `STORE_FAILED`. */
export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * The admin API's audit log (`admin_audit`, ../ports/admin.ts `appendAudit`) as an
 * {@link AuditSink}: action, actor and target as they are, `reason` from `details.reason`,
 * outcome `ok` (only committed actions are recorded).
 */
export function storeAuditSink(store: { appendAudit(entry: { actor: string; action: string; target: string; reason: string; outcome: string; at: number }): Promise<void> }): AuditSink {
  return {
    record: (entry) =>
      store.appendAudit({
        actor: entry.actor.slice(0, 200),
        action: entry.action.slice(0, 64),
        target: entry.target.slice(0, 200),
        reason: typeof entry.details?.['reason'] === 'string' ? entry.details['reason'].slice(0, 500) : '',
        outcome: 'ok',
        at: entry.at,
      }),
  };
}

/**
 * An {@link AuditSink} that writes each entry as an `info` line of component `audit`, then to
 * `next` when given. It never rejects: the action it records has committed already (a pairing's
 * token or a rotation's new token must still reach the caller), so a `next` that fails is logged
 * at `error` (`audit entry not stored; this log line keeps it`) with the entry.
 */
export function loggingAuditSink(logger: Logger, next?: AuditSink): AuditSink {
  const log = logger.child({ component: 'audit' });
  return {
    async record(entry) {
      const line = { ...entry, at: new Date(entry.at).toISOString() };
      log.info(line, entry.action);
      try {
        await next?.record(entry);
      } catch (err) {
        log.error({ ...line, err }, 'audit entry not stored; this log line keeps it');
      }
    },
  };
}
