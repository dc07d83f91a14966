/**
 * {@link AgentCommandsPort} on PostgreSQL (table `agent_commands` of ./schema-core.ts), plus
 * {@link applyPgCommandWrites}, which the payment and operation ports call inside the
 * transaction of the state change that opens or closes commands.
 *
 * Every write is one conditional statement, so concurrent deliverers on several instances
 * agree: {@link PgAgentCommands.markCommandSent} is a compare-and-set (`UPDATE … WHERE` the
 * command is still deliverable on that session); under READ COMMITTED a second concurrent
 * `UPDATE` of the same row waits for the first and re-checks the condition on the new row.
 *
 * @see ../../ports/agent-commands.ts (the delivery rule), ../sqlite/agent-commands.ts
 */
import { prefixRange, type AgentCommandRecord, type AgentCommandsPort, type CommandWrites } from '../../ports/agent-commands.ts';
import { toTs, type PgDb, type PgQueryable } from './pg-db.ts';
import { rowToCommand as sqliteRowToCommand, type CommandRow } from '../sqlite/rows.ts';
import { pgOp, plain } from './rows.ts';

/** A stored command (the SQLite mapper, after {@link plain}). */
function rowToCommand(row: Record<string, unknown>): AgentCommandRecord {
  return sqliteRowToCommand(plain<CommandRow>(row));
}

/** Most commands one {@link AgentCommandsPort.listDeliverableCommands} call returns. */
const MAX_LIST = 1000;

/**
 * Applies `writes` at `at` (ms since epoch) on `tx`. Call it inside an open transaction: it
 * commits or rolls back with the caller's change.
 */
export async function applyPgCommandWrites(tx: PgQueryable, writes: CommandWrites | undefined, at: number): Promise<void> {
  for (const c of writes?.open ?? []) {
    await tx.run(
      `INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, status, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8)
       ON CONFLICT (command_id) DO UPDATE SET kind = excluded.kind, serial_number = excluded.serial_number,
         agent_id = excluded.agent_id, message = excluded.message, status = 'open', sent_session_id = NULL,
         next_attempt_at = NULL, acked_at = NULL, acked_session_id = NULL, passed_session_id = NULL,
         closed_at = NULL, close_reason = NULL, updated_at = excluded.updated_at`,
      [c.commandId, c.kind, c.paymentId, c.merchantId, c.serialNumber, c.agentId, c.message, toTs(at)],
    );
  }
  for (const c of writes?.close ?? []) {
    await tx.run(
      `UPDATE agent_commands SET status = 'closed', closed_at = $1, close_reason = $2, updated_at = $1 WHERE command_id = $3 AND status = 'open'`,
      [toTs(at), c.reason.slice(0, 200), c.commandId],
    );
  }
}

/** The agent-command log on the shared pool. */
export class PgAgentCommands implements AgentCommandsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  listDeliverableCommands(serialNumbers: readonly string[], sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return pgOp('listDeliverableCommands', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM agent_commands
          WHERE status = 'open' AND serial_number = ANY($1::text[])
            AND acked_session_id IS DISTINCT FROM $2 AND passed_session_id IS DISTINCT FROM $2
            AND (sent_session_id IS DISTINCT FROM $2 OR next_attempt_at <= $3)
          ORDER BY created_at, command_id COLLATE "C" LIMIT $4`,
        [serialNumbers, sessionId, toTs(now), Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))],
      );
      return rows.map(rowToCommand);
    });
  }

  listDeliverableCommandsByPrefix(serialPrefix: string, sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    const [from, to] = prefixRange(serialPrefix);
    return pgOp('listDeliverableCommandsByPrefix', async () => {
      // Byte order (COLLATE "C"), the same range as SQLite's; the open rows are few (partial index).
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM agent_commands
          WHERE status = 'open' AND serial_number COLLATE "C" >= $1 AND serial_number COLLATE "C" < $2
            AND acked_session_id IS DISTINCT FROM $3 AND passed_session_id IS DISTINCT FROM $3
            AND (sent_session_id IS DISTINCT FROM $3 OR next_attempt_at <= $4)
          ORDER BY created_at, command_id COLLATE "C" LIMIT $5`,
        [from, to, sessionId, toTs(now), Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))],
      );
      return rows.map(rowToCommand);
    });
  }

  markCommandSent(commandId: string, sessionId: string, at: number, nextAttemptAt: number): Promise<boolean> {
    return pgOp('markCommandSent', async () => {
      const n = await this.#db.run(
        `UPDATE agent_commands SET attempts = attempts + 1, last_sent_at = $1, sent_session_id = $2, next_attempt_at = $3, updated_at = $1
          WHERE command_id = $4 AND status = 'open' AND acked_session_id IS DISTINCT FROM $2 AND passed_session_id IS DISTINCT FROM $2
            AND (sent_session_id IS DISTINCT FROM $2 OR next_attempt_at <= $1)`,
        [toTs(at), sessionId, toTs(nextAttemptAt), commandId],
      );
      return n === 1;
    });
  }

  passCommand(commandId: string, sessionId: string, at: number): Promise<boolean> {
    return pgOp('passCommand', async () => {
      const n = await this.#db.run(
        `UPDATE agent_commands SET passed_session_id = $1, updated_at = $2 WHERE command_id = $3 AND status = 'open'`,
        [sessionId, toTs(at), commandId],
      );
      return n === 1;
    });
  }

  ackCommand(commandId: string, sessionId: string, at: number): Promise<AgentCommandRecord | null> {
    return pgOp('ackCommand', async () => {
      const row = await this.#db.one<Record<string, unknown>>(
        `UPDATE agent_commands SET acked_at = $1, acked_session_id = $2, next_attempt_at = NULL, updated_at = $1 WHERE command_id = $3 RETURNING *`,
        [toTs(at), sessionId, commandId],
      );
      return row ? rowToCommand(row) : null;
    });
  }

  closeCommand(commandId: string, reason: string, at: number): Promise<boolean> {
    return pgOp('closeCommand', async () => {
      const n = await this.#db.run(
        `UPDATE agent_commands SET status = 'closed', closed_at = $1, close_reason = $2, updated_at = $1 WHERE command_id = $3 AND status = 'open'`,
        [toTs(at), reason.slice(0, 200), commandId],
      );
      return n === 1;
    });
  }

  getCommand(commandId: string): Promise<AgentCommandRecord | null> {
    return pgOp('getCommand', async () => {
      const row = await this.#db.one<Record<string, unknown>>('SELECT * FROM agent_commands WHERE command_id = $1', [commandId]);
      return row ? rowToCommand(row) : null;
    });
  }

  listCommands(paymentId: string): Promise<AgentCommandRecord[]> {
    return pgOp('listCommands', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        'SELECT * FROM agent_commands WHERE payment_id = $1 ORDER BY created_at, command_id COLLATE "C"',
        [paymentId],
      );
      return rows.map(rowToCommand);
    });
  }

  countOpenCommands(): Promise<number> {
    return pgOp('countOpenCommands', async () => {
      const row = await this.#db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM agent_commands WHERE status = 'open'`);
      return row?.n ?? 0;
    });
  }
}
