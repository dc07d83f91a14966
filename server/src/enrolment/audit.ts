/**
 * Where the enrolment actions are recorded for the audit trail (docs/agent-enrolment.md
 * "Audit"). The server's audit log (the admin API's table) implements {@link AuditSink}; until
 * it is wired, and always in addition, every entry is a log line (`component: 'audit'`).
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
