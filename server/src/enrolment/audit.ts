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

/** An {@link AuditSink} that writes each entry as an `info` line of component `audit`, then to `next` when given. */
export function loggingAuditSink(logger: Logger, next?: AuditSink): AuditSink {
  const log = logger.child({ component: 'audit' });
  return {
    async record(entry) {
      log.info({ ...entry, at: new Date(entry.at).toISOString() }, entry.action);
      await next?.record(entry);
    },
  };
}
