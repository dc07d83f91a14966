/**
 * Delivery of agent-command rows (ports/agent-commands.ts) to the sessions this instance holds.
 * It decides nothing by itself: what is owed, and whether it is due on a session, is read from
 * the rows; a send is written ahead (`markCommandSent`, a compare-and-set) before the frame
 * leaves. The ticker and the wake-ups only make it look sooner.
 *
 * For each deliverable row of a serial a session holds:
 * 1. the session's agent must still own the serial in the store (read at the start of the pass,
 *    and again before every row after the first); the rows of a serial it no
 *    longer owns are not read for it (logged once, `repeats stopped: the terminal moved to another
 *    agent`) and not passed either: the new owner gets what is owed when it announces the
 *    terminal, and this session gets it again if an administrator moves the terminal back;
 * 2. a start or abort goes only to the payment's bound agent: for another agent it is not sent
 *    (`command for a payment bound to another agent not sent`) and the use case flags the
 *    payment `unknown` (nobody can learn the sale's outcome any more);
 * 3. a void or refund goes only to an agent of the payment's merchant (`command for another
 *    merchant's payment not sent`);
 * 4. mark sent (next repeat at now + `resendMs`), then send; logged `payment dispatched`,
 *    `payment abort sent` or `operation dispatched` on the first send to a session.
 *
 * Deliveries to one session run one at a time, in row order.
 *
 * @see docs/protocol/ws.md "Delivery", docs/architecture.md "Effects are rows"
 */
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { decodeServerMessage } from '@posbridge/protocol/ws';
import type { AgentCommandRecord, AgentCommandsPort } from '../ports/agent-commands.ts';
import type { AgentEventHandler } from '../ports/agent-events.ts';
import type { PaymentStore } from '../ports/index.ts';
import type { AgentSession } from './agent-session.ts';
import type { HubPresence } from './local-presence.ts';

/** Most rows read for one session per pass. */
const BATCH = 100;

/** Options of {@link CommandDelivery}. */
export interface CommandDeliveryOptions {
  readonly commands: AgentCommandsPort;
  readonly store: PaymentStore;
  readonly presence: HubPresence<AgentSession>;
  /** The use case told when a start or abort meets a terminal that moved to another agent. */
  readonly handler: Pick<AgentEventHandler, 'onBoundAgentReplaced'>;
  readonly logger: Logger;
  /** Repeat interval of an unacknowledged command on one session, and of the ticker. */
  readonly resendMs: number;
  /** Clock, ms since epoch. */
  readonly now: () => number;
}

/** Reads command rows for the sessions held here and sends what is due. */
export class CommandDelivery {
  readonly #o: CommandDeliveryOptions;
  readonly #log: Logger;
  /** Per session: its passes, one at a time (ordering only; the rows decide what is sent). */
  readonly #queues = new WeakMap<AgentSession, SerialQueue>();
  /** Per session: the serials it holds that another agent owns now (logged once each). */
  readonly #unowned = new WeakMap<AgentSession, Set<string>>();
  #ticker: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: CommandDeliveryOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /** Starts the ticker that re-reads the rows every `resendMs`. */
  start(): void {
    if (this.#ticker || this.#stopped) return;
    this.#ticker = setInterval(() => {
      for (const session of this.#o.presence.holders()) {
        // A session with a pass queued or running gets no more from the ticker.
        if ((this.#queues.get(session)?.pending ?? 0) === 0) void this.deliver(session, session.serials);
      }
    }, this.#o.resendMs);
    this.#ticker.unref();
  }

  /** Stops the ticker; later wake-ups send nothing. Does not wait for sends in flight. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }

  /** Rows for these serials were committed: deliver now to whichever session here holds them. */
  wake(serialNumbers: readonly string[]): void {
    const bySession = new Map<AgentSession, string[]>();
    for (const serial of serialNumbers) {
      const session = this.#o.presence.routeOf(serial);
      if (session?.isOpen) bySession.set(session, [...(bySession.get(session) ?? []), serial]);
    }
    for (const [session, serials] of bySession) void this.deliver(session, serials);
  }

  /**
   * Queues a pass over what is due on `session` for `serialNumbers`.
   * @returns when that pass is over (never rejects: failures are logged, the next tick retries).
   */
  deliver(session: AgentSession, serialNumbers: readonly string[]): Promise<void> {
    let queue = this.#queues.get(session);
    if (!queue) {
      queue = new SerialQueue();
      this.#queues.set(session, queue);
    }
    return queue.run(() => this.#pass(session, serialNumbers)).catch((err: unknown) => {
      this.#log.warn({ err, agentId: session.agentId }, 'command delivery failed; retried on the next tick');
    });
  }

  async #pass(session: AgentSession, serialNumbers: readonly string[]): Promise<void> {
    if (this.#stopped || !session.isOpen || serialNumbers.length === 0) return;
    let owned: string[];
    let due: AgentCommandRecord[];
    if (serialNumbers.length === 1) {
      // One serial (a wake-up after a commit): its owner and its rows are read side by side, and
      // the rows are dropped if it is not owned — as if they had not been read.
      const rows = this.#o.commands.listDeliverableCommands(serialNumbers, session.sessionId, this.#o.now(), BATCH);
      rows.catch(() => undefined);
      owned = await this.#ownedOf(session, serialNumbers);
      if (owned.length === 0) return;
      due = await rows;
    } else {
      owned = await this.#ownedOf(session, serialNumbers);
      if (owned.length === 0) return;
      due = await this.#o.commands.listDeliverableCommands(owned, session.sessionId, this.#o.now(), BATCH);
    }
    for (const [i, c] of due.entries()) {
      if (this.#stopped || !session.isOpen) return;
      // The first row's ownership is the one #ownedOf just read (only the row list was read since);
      // every later row's is read again, after the sends before it.
      await this.#deliverOne(session, c, i === 0);
    }
  }

  /**
   * Of `serialNumbers`, those `session`'s agent owns in the store now. A serial moved away is
   * skipped, not passed: moved back (an administrator's undo), it is delivered again.
   */
  async #ownedOf(session: AgentSession, serialNumbers: readonly string[]): Promise<string[]> {
    const owned: string[] = [];
    for (const serialNumber of serialNumbers) {
      const owner = await this.#o.store.findTerminal(serialNumber);
      let unowned = this.#unowned.get(session);
      if (owner?.agentId === session.agentId) {
        owned.push(serialNumber);
        unowned?.delete(serialNumber);
        continue;
      }
      if (unowned?.has(serialNumber)) continue;
      if (!unowned) this.#unowned.set(session, (unowned = new Set()));
      unowned.add(serialNumber);
      this.#log.warn(
        { agentId: session.agentId, serialNumber, ownerAgentId: owner?.agentId ?? null },
        'repeats stopped: the terminal moved to another agent',
      );
    }
    return owned;
  }

  async #deliverOne(session: AgentSession, c: AgentCommandRecord, ownershipFresh: boolean): Promise<void> {
    // Only a session that holds the serial here delivers it (another may have claimed it since).
    if (this.#o.presence.routeOf(c.serialNumber) !== session) return;
    const type = typeOfKind(c.kind);
    const owner = ownershipFresh ? { agentId: session.agentId } : await this.#o.store.findTerminal(c.serialNumber);
    if (owner?.agentId !== session.agentId) {
      // Moved since this pass began (the next pass skips the serial; see #ownedOf): not sent, not passed.
      const parties = { paymentId: c.paymentId, messageId: c.commandId, type, agentId: session.agentId, serialNumber: c.serialNumber, ownerAgentId: owner?.agentId ?? null };
      this.#log.debug(parties, 'command not sent: the session no longer owns the terminal');
      return;
    }
    if (c.kind === 'start' || c.kind === 'abort') {
      if (c.agentId !== session.agentId) {
        this.#log.warn(
          { paymentId: c.paymentId, type, agentId: session.agentId, boundAgentId: c.agentId, serialNumber: c.serialNumber },
          'command for a payment bound to another agent not sent',
        );
        await this.#o.handler.onBoundAgentReplaced(c.paymentId, session.agentId);
        await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
        return;
      }
    } else {
      const mine = await this.#o.store.agentOwner(session.agentId);
      if (mine?.merchantId !== c.merchantId) {
        this.#log.warn(
          { paymentId: c.paymentId, type, agentId: session.agentId, agentMerchantId: mine?.merchantId ?? null, merchantId: c.merchantId },
          "command for another merchant's payment not sent",
        );
        await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
        return;
      }
    }
    const decoded = decodeServerMessage(c.message);
    if (!decoded.ok) {
      // Written by this server from a validated message: only a damaged database gets here.
      this.#log.error({ paymentId: c.paymentId, messageId: c.commandId, code: decoded.error.code }, 'stored agent command is not a valid message');
      await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
      return;
    }
    const now = this.#o.now();
    // Write-ahead: the send is recorded before the frame leaves (a crash after it means the next session gets it).
    if (!(await this.#o.commands.markCommandSent(c.commandId, session.sessionId, now, now + this.#o.resendMs))) return;
    if (!session.send(decoded.value)) return;
    if (c.sentSessionId === session.sessionId) {
      this.#log.debug({ paymentId: c.paymentId, messageId: c.commandId, type }, 'message re-sent to agent');
      return;
    }
    const m = decoded.value;
    switch (m.type) {
      case 'payment.start':
        this.#log.info({ paymentId: c.paymentId, serialNumber: c.serialNumber, agentId: session.agentId }, 'payment dispatched');
        return;
      case 'payment.abort':
        this.#log.info({ paymentId: c.paymentId, serialNumber: c.serialNumber, reason: m.reason }, 'payment abort sent');
        return;
      case 'operation.start':
        this.#log.info({ paymentId: c.paymentId, operationId: m.operationId, kind: m.kind, serialNumber: c.serialNumber }, 'operation dispatched');
        return;
      default:
        this.#log.info({ paymentId: c.paymentId, messageId: c.commandId, type: m.type }, 'command sent to agent');
    }
  }
}

/** The message type of a command kind (log field `type`). */
function typeOfKind(kind: AgentCommandRecord['kind']): string {
  switch (kind) {
    case 'start':
      return 'payment.start';
    case 'abort':
      return 'payment.abort';
    case 'void':
    case 'refund':
      return 'operation.start';
    default: {
      const never: never = kind;
      return String(never);
    }
  }
}
