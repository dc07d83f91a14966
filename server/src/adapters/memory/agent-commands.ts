/**
 * {@link AgentCommandsPort} in process memory (tests, the memory composition). The memory
 * payments adapter calls {@link MemoryAgentCommands.apply} synchronously inside its own
 * transaction, so command writes commit or vanish with the state change that carries them.
 *
 * @see ../../ports/agent-commands.ts (the delivery rule)
 */
import {
  isDeliverable,
  type AgentCommandRecord,
  type AgentCommandsPort,
  type CommandWrites,
} from '../../ports/agent-commands.ts';

/** Most commands one {@link AgentCommandsPort.listDeliverableCommands} call returns. */
const MAX_LIST = 1000;

/** The agent-command log in memory. */
export class MemoryAgentCommands implements AgentCommandsPort {
  /** By commandId, in insertion order (a tie-break of equal `createdAt`s is the id, as in SQL). */
  readonly #rows = new Map<string, AgentCommandRecord>();

  /**
   * Applies `writes` at `at` (ms since epoch), synchronously: call it inside the caller's
   * transaction. Semantics of {@link CommandWrites} (open re-opens an existing id).
   */
  apply(writes: CommandWrites | undefined, at: number): void {
    for (const c of writes?.open ?? []) {
      const existing = this.#rows.get(c.commandId);
      this.#rows.set(c.commandId, {
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
      const row = this.#rows.get(c.commandId);
      if (row?.status === 'open') this.#rows.set(c.commandId, { ...row, status: 'closed', closedAt: at, closeReason: c.reason.slice(0, 200) });
    }
  }

  #sorted(rows: Iterable<AgentCommandRecord>): AgentCommandRecord[] {
    return [...rows].sort((a, b) => a.createdAt - b.createdAt || (a.commandId < b.commandId ? -1 : a.commandId > b.commandId ? 1 : 0));
  }

  listDeliverableCommands(serialNumbers: readonly string[], sessionId: string, now: number, limit: number): Promise<AgentCommandRecord[]> {
    const serials = new Set(serialNumbers);
    const due = [...this.#rows.values()].filter((c) => serials.has(c.serialNumber) && isDeliverable(c, sessionId, now));
    return Promise.resolve(this.#sorted(due).slice(0, Math.max(1, Math.min(MAX_LIST, Math.trunc(limit)))));
  }

  markCommandSent(commandId: string, sessionId: string, at: number, nextAttemptAt: number): Promise<boolean> {
    const row = this.#rows.get(commandId);
    if (!row || !isDeliverable(row, sessionId, at)) return Promise.resolve(false);
    this.#rows.set(commandId, { ...row, attempts: row.attempts + 1, lastSentAt: at, sentSessionId: sessionId, nextAttemptAt });
    return Promise.resolve(true);
  }

  passCommand(commandId: string, sessionId: string, _at: number): Promise<boolean> {
    const row = this.#rows.get(commandId);
    if (row?.status !== 'open') return Promise.resolve(false);
    this.#rows.set(commandId, { ...row, passedSessionId: sessionId });
    return Promise.resolve(true);
  }

  ackCommand(commandId: string, sessionId: string, at: number): Promise<AgentCommandRecord | null> {
    const row = this.#rows.get(commandId);
    if (!row) return Promise.resolve(null);
    const acked: AgentCommandRecord = { ...row, ackedAt: at, ackedSessionId: sessionId, nextAttemptAt: null };
    this.#rows.set(commandId, acked);
    return Promise.resolve(acked);
  }

  closeCommand(commandId: string, reason: string, at: number): Promise<boolean> {
    const open = this.#rows.get(commandId)?.status === 'open';
    this.apply({ close: [{ commandId, reason }] }, at);
    return Promise.resolve(open);
  }

  getCommand(commandId: string): Promise<AgentCommandRecord | null> {
    return Promise.resolve(this.#rows.get(commandId) ?? null);
  }

  listCommands(paymentId: string): Promise<AgentCommandRecord[]> {
    return Promise.resolve(this.#sorted([...this.#rows.values()].filter((c) => c.paymentId === paymentId)));
  }

  countOpenCommands(): Promise<number> {
    return Promise.resolve([...this.#rows.values()].filter((c) => c.status === 'open').length);
  }
}
