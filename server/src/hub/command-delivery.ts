/**
 * Delivery of agent-command rows (ports/agent-commands.ts) to the sessions this instance holds.
 * It decides nothing by itself: what is owed, and whether it is due on a session, is read from
 * the rows; a send is written ahead (`markCommandSent`, a compare-and-set) before the frame
 * leaves. The ticker and the wake-ups only make it look sooner.
 *
 * For each deliverable row of a serial a session holds:
 * 1. the session's agent must still own the serial in the store, read just before each row is
 *    sent (a wake-up's first row: read alongside the row list); the rows of a serial it no longer owns are not sent on it (logged once,
 *    `repeats stopped: the terminal moved to another agent`) and not passed either: the new owner
 *    gets what is owed when it announces the terminal, and this session gets it again if an
 *    administrator moves the terminal back;
 * 2. a start or abort goes only to the payment's bound agent: for another agent it is not sent
 *    (`command for a payment bound to another agent not sent`) and the use case flags the
 *    payment `unknown` (nobody can learn the sale's outcome any more);
 * 3. a void or refund goes only to an agent of the payment's merchant (`command for another
 *    merchant's payment not sent`);
 * 4. mark sent (next repeat at now + `resendMs`), then send; logged `payment dispatched`,
 *    `payment abort sent` or `operation dispatched` on the first send to a session.
 *
 * Deliveries to one session run one at a time, in row order. A pass reads the due rows first (one
 * read; a ticker pass with nothing due costs only that), then ownership per serial with rows.
 *
 * @see docs/protocol/ws.md "Delivery", docs/architecture.md "Effects are rows"
 */
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { decodeServerMessage, LINK_FEATURE_TRACE, parseTraceparent, type ServerMessage } from '@posbridge/protocol/ws';
import type { AgentCommandRecord, AgentCommandsPort } from '../ports/agent-commands.ts';
import type { AgentEventHandler } from '../ports/agent-events.ts';
import type { PaymentStore } from '../ports/index.ts';
import type { TerminalRecord } from '../ports/directory.ts';
import type { AgentSession } from './agent-session.ts';
import type { HubPresence } from './local-presence.ts';

/** Most rows read for one session per pass. */
const BATCH = 100;

/**
 * Ticker passes in flight at once. A sweep over 10,000 sessions queues its store reads a few at
 * a time, so a wake-up's pass (a new payment's dispatch) waits behind a few of them, not all.
 */
const SWEEP_CONCURRENCY = 4;

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
  #sweeping = false;
  #stopped = false;

  constructor(options: CommandDeliveryOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /**
   * Starts the ticker that re-reads the rows every `resendMs`: a sweep over the sessions held
   * here, {@link SWEEP_CONCURRENCY} at a time; a tick while the last sweep still runs is skipped.
   */
  start(): void {
    if (this.#ticker || this.#stopped) return;
    this.#ticker = setInterval(() => void this.#sweep(), this.#o.resendMs);
    this.#ticker.unref();
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping) return;
    this.#sweeping = true;
    try {
      const sessions = this.#o.presence.holders();
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < sessions.length && !this.#stopped) {
          const session = sessions[next++]!;
          // A session with a pass queued or running gets no more from the ticker.
          if ((this.#queues.get(session)?.pending ?? 0) === 0) await this.deliver(session, session.serials);
        }
      };
      await Promise.all(Array.from({ length: SWEEP_CONCURRENCY }, worker));
    } finally {
      this.#sweeping = false;
    }
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
    // A wake-up (one serial, just committed): its owner is read alongside its rows and stands for
    // the first row's ownership check. Otherwise one read says whether anything is due (most
    // ticker passes: nothing); ownership is read afterwards, fresh, for each row about to be sent.
    const prefetched = serialNumbers.length === 1 ? this.#o.store.findTerminal(serialNumbers[0]!) : undefined;
    prefetched?.catch(() => undefined);
    const due = await this.#o.commands.listDeliverableCommands(serialNumbers, session.sessionId, this.#o.now(), BATCH);
    const skipped = new Set<string>();
    for (const [i, c] of due.entries()) {
      if (this.#stopped || !session.isOpen) return;
      if (skipped.has(c.serialNumber)) continue;
      if (!(await this.#deliverOne(session, c, i === 0 ? prefetched : undefined))) skipped.add(c.serialNumber);
    }
    // Rows of serials moved away may have filled the batch: read again for the others.
    if (due.length === BATCH && skipped.size > 0) await this.#pass(session, serialNumbers.filter((s) => !skipped.has(s)));
  }

  /**
   * Whether `session`'s agent owns `serialNumber` in the store now. A serial moved away is
   * logged once per session (`repeats stopped`), then skipped quietly; moved back (an
   * administrator's undo), it is delivered again.
   */
  async #owns(session: AgentSession, c: AgentCommandRecord, prefetched?: Promise<TerminalRecord | null>): Promise<boolean> {
    const owner = await (prefetched ?? this.#o.store.findTerminal(c.serialNumber));
    let unowned = this.#unowned.get(session);
    if (owner?.agentId === session.agentId) {
      unowned?.delete(c.serialNumber);
      return true;
    }
    const parties = { agentId: session.agentId, serialNumber: c.serialNumber, ownerAgentId: owner?.agentId ?? null };
    if (unowned?.has(c.serialNumber)) {
      this.#log.debug({ ...parties, paymentId: c.paymentId, messageId: c.commandId }, 'command not sent: the session no longer owns the terminal');
      return false;
    }
    if (!unowned) this.#unowned.set(session, (unowned = new Set()));
    unowned.add(c.serialNumber);
    this.#log.warn(parties, 'repeats stopped: the terminal moved to another agent');
    return false;
  }

  /**
   * Sends one row if it is still due on `session` (or passes it, see the module doc).
   * @param owner the row's terminal as read alongside the rows (a wake-up's first row), else read now
   * @returns false when `session`'s agent no longer owns the row's terminal (nothing sent or passed).
   */
  async #deliverOne(session: AgentSession, c: AgentCommandRecord, owner?: Promise<TerminalRecord | null>): Promise<boolean> {
    // Only a session that holds the serial here delivers it (another may have claimed it since).
    if (this.#o.presence.routeOf(c.serialNumber) !== session) return true;
    const type = typeOfKind(c.kind);
    // Moved away (an administrator's move): not sent, not passed; the new owner gets it.
    if (!(await this.#owns(session, c, owner))) return false;
    if (c.kind === 'start' || c.kind === 'abort') {
      if (c.agentId !== session.agentId) {
        this.#log.warn(
          { paymentId: c.paymentId, type, agentId: session.agentId, boundAgentId: c.agentId, serialNumber: c.serialNumber },
          'command for a payment bound to another agent not sent',
        );
        await this.#o.handler.onBoundAgentReplaced(c.paymentId, session.agentId);
        await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
        return true;
      }
    } else {
      const mine = await this.#o.store.agentOwner(session.agentId);
      if (mine?.merchantId !== c.merchantId) {
        this.#log.warn(
          { paymentId: c.paymentId, type, agentId: session.agentId, agentMerchantId: mine?.merchantId ?? null, merchantId: c.merchantId },
          "command for another merchant's payment not sent",
        );
        await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
        return true;
      }
    }
    const decoded = decodeServerMessage(c.message);
    if (!decoded.ok) {
      // Written by this server from a validated message: only a damaged database gets here.
      this.#log.error({ paymentId: c.paymentId, messageId: c.commandId, code: decoded.error.code }, 'stored agent command is not a valid message');
      await this.#o.commands.passCommand(c.commandId, session.sessionId, this.#o.now());
      return true;
    }
    const now = this.#o.now();
    // Write-ahead: the send is recorded before the frame leaves (a crash after it means the next session gets it).
    if (!(await this.#o.commands.markCommandSent(c.commandId, session.sessionId, now, now + this.#o.resendMs))) return true;
    const m = forSession(decoded.value, session);
    if (!session.send(m)) return true;
    if (c.sentSessionId === session.sessionId) {
      this.#log.debug({ paymentId: c.paymentId, messageId: c.commandId, type }, 'message re-sent to agent');
      return true;
    }
    const traced = traceFieldsOf(decoded.value);
    switch (m.type) {
      case 'payment.start':
        this.#log.info({ paymentId: c.paymentId, ...traced, serialNumber: c.serialNumber, agentId: session.agentId }, 'payment dispatched');
        return true;
      case 'payment.abort':
        this.#log.info({ paymentId: c.paymentId, ...traced, serialNumber: c.serialNumber, reason: m.reason }, 'payment abort sent');
        return true;
      case 'operation.start':
        this.#log.info({ paymentId: c.paymentId, ...traced, operationId: m.operationId, kind: m.kind, serialNumber: c.serialNumber }, 'operation dispatched');
        return true;
      default:
        this.#log.info({ paymentId: c.paymentId, messageId: c.commandId, type: m.type }, 'command sent to agent');
        return true;
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

/**
 * The stored command as `session` may receive it: without `traceparent` when the agent did not
 * name the `trace` link feature at its upgrade (its strict schema would refuse the frame;
 * docs/tracing.md "Link features").
 */
export function forSession(message: ServerMessage, session: Pick<AgentSession, 'features'>): ServerMessage {
  if (!('traceparent' in message) || message.traceparent === undefined || session.features.has(LINK_FEATURE_TRACE)) return message;
  const { traceparent: _dropped, ...rest } = message;
  return rest;
}

/** `{ traceId }` of a command carrying a traceparent (log field), else nothing. */
function traceFieldsOf(message: ServerMessage): { traceId?: string } {
  const ctx = 'traceparent' in message ? parseTraceparent(message.traceparent) : null;
  return ctx ? { traceId: ctx.traceId } : {};
}
