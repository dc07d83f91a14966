/**
 * Where the enrolment actions are recorded for the audit trail (docs/agent-enrolment.md
 * "Audit"): the admin API's audit log — its row ({@link adminAuditRow}) is written by the store
 * call that makes the change, in the same transaction — and, once committed, a log line
 * (`component: 'audit'`, {@link loggingAuditSink}).
 * Entries carry ids, names and the actor, never a token or a code.
 */
import type { Logger } from 'pino';
import type { NewAuditEntry } from '../ports/admin.ts';

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

/** Where committed actions are told (a log, another trail). `record` resolves once the entry is kept; it may reject. */
export interface AuditSink {
  record(entry: AuditEntry): Promise<void>;
}

/**
 * The row of `entry` in the admin API's audit log (`admin_audit`, ../ports/admin.ts
 * `NewAuditEntry`), handed to the store call of the action so both commit together: action,
 * actor and target as they are, `reason` from `details.reason` (else empty), outcome `ok`.
 */
export function adminAuditRow(entry: AuditEntry): NewAuditEntry {
  return {
    actor: entry.actor.slice(0, 200),
    action: entry.action.slice(0, 64),
    target: entry.target.slice(0, 200),
    reason: typeof entry.details?.['reason'] === 'string' ? entry.details['reason'].slice(0, 500) : '',
    outcome: 'ok',
    at: entry.at,
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
