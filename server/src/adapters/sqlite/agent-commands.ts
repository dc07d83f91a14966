/**
 * {@link AgentCommandsPort} on SQLite (table `agent_commands`, migration 4 of
 * ./migrations.ts), plus {@link applyCommandWrites}, which the payment store calls
 * inside the transaction of the state change that opens or closes commands.
 *
 * Every statement runs through the connection's FIFO lock (./sqlite-db.ts), like the
 * payment store's, so it never interleaves with another operation's `BEGIN … COMMIT`.
 *
 * @see ../../ports/agent-commands.ts (the delivery rule), docs/architecture.md "Effects are rows"
 */
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import { prefixRange, type AgentCommandRecord, type AgentCommandsPort, type CommandWrites } from '../../ports/agent-commands.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { rowToCommand, type CommandRow } from './rows.ts';

/** Serial lists up to this length get a prepared statement of their own (a bounded set of texts). */
const PREPARED_SERIALS = 8;

/** Most commands one {@link AgentCommandsPort.listDeliverableCommands} call returns. */
const MAX_LIST = 1000;

/**
 * Applies `writes` at `at` (ms since epoch) on `db`. Call it inside an open transaction (and the
 * connection's lock): it commits or rolls back with the caller's change.
 */
export async function applyCommandWrites(db: SqliteDb, writes: CommandWrites | undefined, at: number): Promise<void> {
  for (const c of writes?.open ?? []) {
    await db.cachedRun(
      `INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)
       ON CONFLICT (command_id) DO UPDATE SET kind = excluded.kind, serial_number = excluded.serial_number,
         agent_id = excluded.agent_id, message = excluded.message, status = 'open', sent_session_id = NULL,
         next_attempt_at = NULL, acked_at = NULL, acked_session_id = NULL, passed_session_id = NULL,
         closed_at = NULL, close_reason = NULL, updated_at = excluded.updated_at`,
      [c.commandId, c.kind, c.paymentId, c.merchantId, c.serialNumber, c.agentId, c.message, at, at],
    );
  }
  for (const c of writes?.close ?? []) {
    await db.cachedRun(
      `UPDATE agent_commands SET status = 'closed', closed_at = ?, close_reason = ?, updated_at = ? WHERE command_id = ? AND status = 'open'`,
      [at, c.reason.slice(0, 200), at, c.commandId],
    );
  }
}

/** The agent-command log on one SQLite connection. */
export class SqliteAgentCommands implements AgentCommandsPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#db.exclusive(fn).catch((err: unknown) => {
      if (isCodedError(err)) throw err;
      throw new CodedError('STORE_FAILED', `agent commands: ${operation} failed`, { cause: err, details: { operation } });
    });
  }

  /** A read of committed rows on the reader connection (./sqlite-db.ts `read`), not queued behind writes. */
  #read<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return fn().catch((err: unknown) => {
      throw new CodedError('STORE_FAILED', `agent commands: ${operation} failed`, { cause: err, details: { operation } });
    });
  }

  listDeliverableCommands(serialNumbers: readonly string[], sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return this.#read('listDeliverableCommands', async () => {
      const sql = `SELECT * FROM agent_commands
          WHERE status = 'open' AND serial_number IN (${serialNumbers.map(() => '?').join(', ')})
            AND acked_session_id IS NOT ? AND passed_session_id IS NOT ?
            AND (sent_session_id IS NOT ? OR next_attempt_at <= ?)
          ORDER BY created_at, command_id LIMIT ?`;
      const params = [...serialNumbers, sessionId, sessionId, sessionId, now, Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))];
      // Up to PREPARED_SERIALS serials (an agent's usual few terminals) the text is one of a few kept
      // prepared; longer lists are prepared for the one call.
      const rows =
        serialNumbers.length <= PREPARED_SERIALS ? await this.#db.read<CommandRow>(sql, params) : await this.#db.readVarying<CommandRow>(sql, params);
      return rows.map(rowToCommand);
    });
  }

  listDeliverableCommandsByPrefix(serialPrefix: string, sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    const [from, to] = prefixRange(serialPrefix);
    return this.#op('listDeliverableCommandsByPrefix', async () => {
      // A range on serial_number (BINARY collation) reads the partial index of open rows.
      const rows = await this.#db.all<CommandRow>(
        `SELECT * FROM agent_commands
          WHERE status = 'open' AND serial_number >= ? AND serial_number < ?
            AND acked_session_id IS NOT ? AND passed_session_id IS NOT ?
            AND (sent_session_id IS NOT ? OR next_attempt_at <= ?)
          ORDER BY created_at, command_id LIMIT ?`,
        [from, to, sessionId, sessionId, sessionId, now, Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))],
      );
      return rows.map(rowToCommand);
    });
  }

  markCommandSent(commandId: string, sessionId: string, at: number, nextAttemptAt: number): Promise<boolean> {
    return this.#op('markCommandSent', async () => {
      const info = await this.#db.cachedRun(
        `UPDATE agent_commands SET attempts = attempts + 1, last_sent_at = ?, sent_session_id = ?, next_attempt_at = ?, updated_at = ?
          WHERE command_id = ? AND status = 'open' AND acked_session_id IS NOT ? AND passed_session_id IS NOT ?
            AND (sent_session_id IS NOT ? OR next_attempt_at <= ?)`,
        [at, sessionId, nextAttemptAt, at, commandId, sessionId, sessionId, sessionId, at],
      );
      return info.changes === 1;
    });
  }

  passCommand(commandId: string, sessionId: string, at: number): Promise<boolean> {
    return this.#op('passCommand', async () => {
      const info = await this.#db.run(
        `UPDATE agent_commands SET passed_session_id = ?, updated_at = ? WHERE command_id = ? AND status = 'open'`,
        [sessionId, at, commandId],
      );
      return info.changes === 1;
    });
  }

  ackCommand(commandId: string, sessionId: string, at: number): Promise<AgentCommandRecord | null> {
    return this.#op('ackCommand', async () => {
      const [row] = await this.#db.cachedAll<CommandRow>(
        `UPDATE agent_commands SET acked_at = ?, acked_session_id = ?, next_attempt_at = NULL, updated_at = ? WHERE command_id = ? RETURNING *`,
        [at, sessionId, at, commandId],
      );
      return row ? rowToCommand(row) : null;
    });
  }

  closeCommand(commandId: string, reason: string, at: number): Promise<boolean> {
    return this.#op('closeCommand', async () => {
      const info = await this.#db.run(
        `UPDATE agent_commands SET status = 'closed', closed_at = ?, close_reason = ?, updated_at = ? WHERE command_id = ? AND status = 'open'`,
        [at, reason.slice(0, 200), at, commandId],
      );
      return info.changes === 1;
    });
  }

  getCommand(commandId: string): Promise<AgentCommandRecord | null> {
    return this.#read('getCommand', async () => {
      const [row] = await this.#db.read<CommandRow>('SELECT * FROM agent_commands WHERE command_id = ?', [commandId]);
      return row ? rowToCommand(row) : null;
    });
  }

  listCommands(paymentId: string): Promise<AgentCommandRecord[]> {
    return this.#op('listCommands', async () => {
      const rows = await this.#db.all<CommandRow>('SELECT * FROM agent_commands WHERE payment_id = ? ORDER BY created_at, command_id', [
        paymentId,
      ]);
      return rows.map(rowToCommand);
    });
  }

  countOpenCommands(): Promise<number> {
    return this.#op('countOpenCommands', async () => {
      const row = await this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM agent_commands WHERE status = 'open'`);
      return row?.n ?? 0;
    });
  }
}
