/**
 * {@link AgentCommandsPort} in memory, on the `agentCommands` table of a {@link MemoryState}
 * (./state.ts). {@link applyCommandWrites} is called synchronously by the payments and
 * operations adapters inside their transaction, so command writes commit or roll back with the
 * state change that carries them (as in SQLite).
 *
 * @see ../../ports/agent-commands.ts (the delivery rule)
 */
import {
  isDeliverable,
  prefixRange,
  type AgentCommandRecord,
  type AgentCommandsPort,
  type CommandWrites,
} from '../../ports/agent-commands.ts';
import { byKeys, ConstraintError, copy, type MemoryConnection, type MemoryTables } from './state.ts';

/** Most commands one {@link AgentCommandsPort.listDeliverableCommands} call returns. */
const MAX_LIST = 1000;
const KINDS: readonly string[] = ['start', 'abort', 'void', 'refund'];

/**
 * Applies `writes` at `at` (ms since epoch) to `tables`, synchronously. Call it inside the
 * caller's transaction. Semantics of {@link CommandWrites} (open re-opens an existing id).
 * @throws ConstraintError for a command of an unknown kind or payment (the SQL constraints).
 */
export function applyCommandWrites(tables: MemoryTables, writes: CommandWrites | undefined, at: number): void {
  for (const c of writes?.open ?? []) {
    if (!KINDS.includes(c.kind)) throw new ConstraintError('check', `agent_commands.kind ${JSON.stringify(c.kind)}`);
    if (!tables.payments.has(c.paymentId)) throw new ConstraintError('foreign_key', `agent_commands.payment_id ${c.paymentId}`);
    const existing = tables.agentCommands.get(c.commandId);
    tables.agentCommands.set(c.commandId, {
      ...c,
      paymentId: existing?.paymentId ?? c.paymentId,
      merchantId: existing?.merchantId ?? c.merchantId,
      status: 'open',
      createdAt: existing?.createdAt ?? at,
      attempts: existing?.attempts ?? 0,
      lastSentAt: existing?.lastSentAt ?? null,
      sentSessionId: null,
      nextAttemptAt: null,
      ackedAt: null,
      ackedSessionId: null,
      passedSessionId: null,
      closedAt: null,
      closeReason: null,
    });
  }
  for (const c of writes?.close ?? []) {
    const row = tables.agentCommands.get(c.commandId);
    if (row?.status === 'open') tables.agentCommands.set(c.commandId, { ...row, status: 'closed', closedAt: at, closeReason: c.reason.slice(0, 200) });
  }
}

const oldestFirst = byKeys<AgentCommandRecord>((c) => c.createdAt, (c) => c.commandId);

/** The agent-command log of one memory connection. */
export class MemoryAgentCommands implements AgentCommandsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  listDeliverableCommands(serialNumbers: readonly string[], sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    return this.#conn.run('listDeliverableCommands', () => {
      const serials = new Set(serialNumbers);
      const due = [...this.#conn.tables.agentCommands.values()].filter((c) => serials.has(c.serialNumber) && isDeliverable(c, sessionId, now));
      return due.sort(oldestFirst).slice(0, Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))).map(copy);
    });
  }

  listDeliverableCommandsByPrefix(serialPrefix: string, sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    const [from, to] = prefixRange(serialPrefix);
    return this.#conn.run('listDeliverableCommandsByPrefix', () => {
      const due = [...this.#conn.tables.agentCommands.values()].filter((c) => c.serialNumber >= from && c.serialNumber < to && isDeliverable(c, sessionId, now));
      return due.sort(oldestFirst).slice(0, Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))).map(copy);
    });
  }

  markCommandSent(commandId: string, sessionId: string, at: number, nextAttemptAt: number): Promise<boolean> {
    return this.#conn.run('markCommandSent', () => {
      const table = this.#conn.tables.agentCommands;
      const row = table.get(commandId);
      if (!row || !isDeliverable(row, sessionId, at)) return false;
      table.set(commandId, { ...row, attempts: row.attempts + 1, lastSentAt: at, sentSessionId: sessionId, nextAttemptAt });
      return true;
    });
  }

  passCommand(commandId: string, sessionId: string, _at: number): Promise<boolean> {
    return this.#conn.run('passCommand', () => {
      const table = this.#conn.tables.agentCommands;
      const row = table.get(commandId);
      if (row?.status !== 'open') return false;
      table.set(commandId, { ...row, passedSessionId: sessionId });
      return true;
    });
  }

  ackCommand(commandId: string, sessionId: string, at: number): Promise<AgentCommandRecord | null> {
    return this.#conn.run('ackCommand', () => {
      const table = this.#conn.tables.agentCommands;
      const row = table.get(commandId);
      if (!row) return null;
      const acked: AgentCommandRecord = { ...row, ackedAt: at, ackedSessionId: sessionId, nextAttemptAt: null };
      table.set(commandId, acked);
      return copy(acked);
    });
  }

  closeCommand(commandId: string, reason: string, at: number): Promise<boolean> {
    return this.#conn.run('closeCommand', () => {
      const open = this.#conn.tables.agentCommands.get(commandId)?.status === 'open';
      applyCommandWrites(this.#conn.tables, { close: [{ commandId, reason }] }, at);
      return open;
    });
  }

  getCommand(commandId: string): Promise<AgentCommandRecord | null> {
    return this.#conn.run('getCommand', () => {
      const row = this.#conn.tables.agentCommands.get(commandId);
      return row ? copy(row) : null;
    });
  }

  listCommands(paymentId: string): Promise<AgentCommandRecord[]> {
    return this.#conn.run('listCommands', () =>
      [...this.#conn.tables.agentCommands.values()].filter((c) => c.paymentId === paymentId).sort(oldestFirst).map(copy),
    );
  }

  countOpenCommands(): Promise<number> {
    return this.#conn.run('countOpenCommands', () => [...this.#conn.tables.agentCommands.values()].filter((c) => c.status === 'open').length);
  }
}
