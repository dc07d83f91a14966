/**
 * The virtual terminal of a merchant in Test Suite mode (docs/homologation.md): VTEX's Payment
 * Provider Test Suite has no clerk to pick a terminal, so a suite payment of such a merchant is
 * bound at Create Payment to the synthetic serial `VT-<merchantId>` and an in-process **virtual
 * agent** answers its command rows through the same report handlers the hub uses
 * (`AgentEventHandler`: ack, result, operation result). Nothing here changes a payment directly:
 * every change goes through the payment state machine with its callback and command rows in one
 * transaction (docs/architecture.md "Effects are rows").
 *
 * - The scenario (./scenario.ts) is kept in the binding's agent id, `virtual:<scenario>`: it is
 *   what the terminal "will do"; the card number it came from is never stored.
 * - `approved` / `denied`: the start row is answered inside the Create Payment request, so the
 *   answer is final at once.
 * - `async_approved` / `async_denied`: the start row stays open and is answered once it is
 *   `asyncDelayMs` old, by the poll of {@link VirtualTerminal.tick} (any instance: the
 *   write-ahead `markCommandSent` of the virtual session lets one of them answer). A restart loses
 *   nothing: the open row is the pending answer. The final status reaches VTEX through the
 *   callback outbox like any terminal result.
 * - voids (cancellations of an approved payment) and refunds are answered approved at once
 *   (woken by the command wake-up, polled as a safety net); an abort ends the sale denied.
 *
 * @see docs/homologation.md, docs/protocol/ws.md (the messages answered), issue 16
 */
import type { Logger } from 'pino';
import { PROTOCOL_VERSION, type OperationResult, type PaymentResult } from '@posbridge/protocol/ws';
import { OperationStartSchema } from '@posbridge/protocol/ws';
import { newStartId } from '../domain/ids.ts';
import type { AgentCommandRecord, AgentCommandsPort } from '../ports/agent-commands.ts';
import type { AgentEventHandler } from '../ports/agent-events.ts';
import type { Payment, PaymentStore } from '../ports/index.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import { isAsyncScenario, SUITE_SCENARIOS, type SuiteScenario } from './scenario.ts';

/** Prefix of a virtual terminal's serial: `VT-<merchantId>`. */
export const VIRTUAL_SERIAL_PREFIX = 'VT-';
/** Prefix of the virtual agent id of a binding: `virtual:<scenario>`. */
const VIRTUAL_AGENT_PREFIX = 'virtual:';
/** The agent session the virtual agent marks its answers with (write-ahead, ports/agent-commands.ts). */
export const VIRTUAL_SESSION_ID = 'virtual-terminal';
/** Default delay of an async scenario's answer (ms): VTEX's suite expects the callback within ~15 s. */
export const DEFAULT_ASYNC_DELAY_MS = 3000;

/** The serial of merchant `merchantId`'s virtual terminal. */
export function virtualSerialOf(merchantId: string): string {
  return `${VIRTUAL_SERIAL_PREFIX}${merchantId}`;
}

/** The scenario a virtual agent id carries, or null for a real agent's id. */
export function scenarioOfAgent(agentId: string | null): SuiteScenario | null {
  if (agentId === null || !agentId.startsWith(VIRTUAL_AGENT_PREFIX)) return null;
  const s = agentId.slice(VIRTUAL_AGENT_PREFIX.length);
  return (SUITE_SCENARIOS as readonly string[]).includes(s) ? (s as SuiteScenario) : null;
}

/**
 * True when the payment runs on its merchant's virtual terminal: a suite payment bound to
 * `VT-<merchantId>` by a virtual agent. Such a terminal is always reachable (voids, refunds).
 */
export function isVirtualBinding(p: Pick<Payment, 'binding' | 'merchantId' | 'testSuite'>): boolean {
  return p.testSuite && p.binding !== null && p.binding.serialNumber === virtualSerialOf(p.merchantId) && scenarioOfAgent(p.binding.agentId) !== null;
}

/** Options of {@link VirtualTerminal}. */
export interface VirtualTerminalOptions {
  /** The payment use cases (binding) and the hub's report handlers (answers). */
  readonly service: Pick<PaymentService, 'applyEvent' | 'getPayment'> & AgentEventHandler;
  /** The command rows answered. */
  readonly commands: Pick<AgentCommandsPort, 'listDeliverableCommands' | 'listDeliverableCommandsByPrefix' | 'markCommandSent'>;
  /** Whether a merchant with due rows still has Test Suite mode on (read only for those merchants). */
  readonly store: Pick<PaymentStore, 'getMerchant'>;
  readonly logger: Logger;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  /** How old an async scenario's start row is before it is answered (ms, 0–12000). @default {@link DEFAULT_ASYNC_DELAY_MS} */
  readonly asyncDelayMs?: number;
  /** Poll interval (ms). @default 1000 */
  readonly pollMs?: number;
  /** Called after each answer (metrics): the command kind and the outcome given. */
  readonly onAnswered?: (kind: AgentCommandRecord['kind'], outcome: string) => void;
}

/** The virtual agent of every merchant in Test Suite mode. */
export class VirtualTerminal {
  readonly #o: VirtualTerminalOptions;
  readonly #log: Logger;
  readonly #delayMs: number;
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #busy = false;
  #again = false;

  /** @throws RangeError for an `asyncDelayMs` outside 0–12000. */
  constructor(options: VirtualTerminalOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'virtual-terminal', virtualTerminal: true });
    this.#delayMs = options.asyncDelayMs ?? DEFAULT_ASYNC_DELAY_MS;
    this.#pollMs = options.pollMs ?? 1000;
    if (!Number.isInteger(this.#delayMs) || this.#delayMs < 0 || this.#delayMs > 12_000) {
      throw new RangeError(`virtual terminal asyncDelayMs must be an integer in 0..12000 (got ${this.#delayMs})`);
    }
  }

  /**
   * Runs a just-created suite payment on its merchant's virtual terminal: binds it to
   * `VT-<merchantId>` (event `terminal.bound`, agent `virtual:<scenario>`; its `payment.start`
   * row is written in the same transaction) and, for a synchronous scenario, answers that row at
   * once. A payment no longer awaiting a terminal is returned as stored.
   * @returns the payment after it (final for `approved`/`denied`, `dispatched` for the async ones).
   * @throws CodedError `STORE_FAILED`.
   */
  async run(payment: Payment, scenario: SuiteScenario): Promise<Payment> {
    const serialNumber = virtualSerialOf(payment.merchantId);
    const agentId = `${VIRTUAL_AGENT_PREFIX}${scenario}`;
    const bound = await this.#o.service.applyEvent(payment.paymentId, (p) =>
      p.status === 'awaiting_terminal' && p.binding === null
        ? { type: 'terminal.bound', binding: { serialNumber, agentId, startId: newStartId() } }
        : null,
    );
    const p = bound.payment ?? payment;
    if (!bound.applied) return p;
    this.#log.info({ paymentId: p.paymentId, merchantId: p.merchantId, serialNumber, scenario }, 'suite payment on the virtual terminal');
    if (isAsyncScenario(scenario)) return p;
    await this.#answerDue([serialNumber]);
    // A background pass (the wake-up of the commit above, or the poll) may have taken the row
    // first (write-ahead: then it is not due for this call); its answer is awaited, not skipped.
    await this.#running;
    return (await this.#o.service.getPayment(p.paymentId)) ?? p;
  }

  /** Starts polling the virtual serials (and answers what is due at once, e.g. after a restart). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#pollMs);
    this.#timer.unref();
    this.tick();
  }

  /** Wakes the virtual agent when commands for a virtual serial were just committed. */
  wake(serialNumbers: readonly string[]): void {
    if (serialNumbers.some((s) => s.startsWith(VIRTUAL_SERIAL_PREFIX))) this.tick();
  }

  /**
   * One pass over the due open rows of every `VT-` serial (one indexed read of the open command
   * rows, ports/agent-commands.ts `listDeliverableCommandsByPrefix`), answering those of merchants
   * whose Test Suite mode is still on; unless a pass runs (then one more after it).
   */
  tick(): void {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    this.#running = (async () => {
      do {
        this.#again = false;
        const now = this.#o.now();
        // The port's largest page: rows of merchants whose mode was turned off stay open (until their
        // deadline ends them) and are skipped below, so they must not crowd out the others.
        const due = await this.#o.commands.listDeliverableCommandsByPrefix(VIRTUAL_SERIAL_PREFIX, VIRTUAL_SESSION_ID, now, 1000);
        if (due.length === 0) continue;
        // Only rows of a merchant still in Test Suite mode are answered (turning it off stops the answers).
        const on = new Set<string>();
        for (const merchantId of new Set(due.map((c) => c.merchantId))) {
          if ((await this.#o.store.getMerchant(merchantId))?.testSuiteMode === true) on.add(merchantId);
        }
        await this.#answerRows(
          due.filter((c) => on.has(c.merchantId) && c.serialNumber === virtualSerialOf(c.merchantId)),
          now,
        );
      } while (this.#again);
    })()
      .catch((err: unknown) => this.#log.error({ err }, 'virtual terminal pass failed'))
      .finally(() => {
        this.#busy = false;
      });
  }

  /** Stops polling and waits for a running pass. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** Answers every due open command of `serials`, oldest first. */
  async #answerDue(serials: readonly string[]): Promise<void> {
    const now = this.#o.now();
    await this.#answerRows(await this.#o.commands.listDeliverableCommands(serials, VIRTUAL_SESSION_ID, now, 100), now);
  }

  /** Answers `rows` (due open commands of virtual serials, oldest first) at `now`. */
  async #answerRows(rows: readonly AgentCommandRecord[], now: number): Promise<void> {
    for (const c of rows) {
      if (c.kind === 'start' || c.kind === 'abort') {
        const scenario = scenarioOfAgent(c.agentId);
        if (scenario === null) continue; // Not ours (a real agent's row for a serial named VT-…): left alone.
        if (c.kind === 'start' && isAsyncScenario(scenario) && c.createdAt + this.#delayMs > now) continue;
      }
      // Write-ahead (one answer per repeat interval, whichever instance): a failed answer is retried after it.
      if (!(await this.#o.commands.markCommandSent(c.commandId, VIRTUAL_SESSION_ID, now, now + 5000))) continue;
      await this.#answer(c);
    }
  }

  async #answer(c: AgentCommandRecord): Promise<void> {
    const h = this.#o.service;
    const ctx = { paymentId: c.paymentId, serialNumber: c.serialNumber, commandId: c.commandId, kind: c.kind };
    switch (c.kind) {
      case 'start':
      case 'abort': {
        const agentId = c.agentId ?? '';
        const scenario = scenarioOfAgent(agentId);
        const p = await h.getPayment(c.paymentId);
        if (!p || scenario === null) return;
        const approved = c.kind === 'start' && (scenario === 'approved' || scenario === 'async_approved');
        if (c.kind === 'start') await h.onStartAcked(agentId, c.paymentId, c.commandId);
        const ref = p.id.slice(-12);
        const result: PaymentResult = {
          v: PROTOCOL_VERSION,
          id: `vt_${c.commandId}`.slice(0, 64),
          type: 'payment.result',
          paymentId: c.paymentId,
          outcome: approved ? 'approved' : 'denied',
          amount: { amountMinor: p.amount.amountMinor, currency: p.amount.currency },
          terminalRef: `VT${ref}`,
          ...(approved ? { authorizationId: ref.slice(-6).toUpperCase(), nsu: `N${ref}`, tid: `T${ref}`, responseCode: '00' } : { responseCode: '05' }),
          message: c.kind === 'abort' ? 'virtual terminal: sale aborted' : `virtual terminal: Test Suite scenario ${scenario}`,
        };
        await h.onResult(agentId, result);
        this.#log.info({ ...ctx, scenario, outcome: result.outcome }, 'virtual terminal answered');
        this.#o.onAnswered?.(c.kind, result.outcome);
        return;
      }
      case 'void':
      case 'refund': {
        const parsed = OperationStartSchema.safeParse(JSON.parse(c.message));
        if (!parsed.success) {
          this.#log.error(ctx, 'virtual terminal: unreadable operation command');
          return;
        }
        const op = parsed.data;
        // Only a suite payment's own virtual binding is reversed here; anything else on a VT- serial
        // (which the hub refuses to let a real agent announce) is left alone, never approved.
        const p = await h.getPayment(op.paymentId);
        if (!p || !isVirtualBinding(p) || p.binding?.serialNumber !== c.serialNumber) {
          this.#log.warn(ctx, 'virtual terminal: operation of a payment not bound to it left alone');
          return;
        }
        const result: OperationResult = {
          v: PROTOCOL_VERSION,
          id: `vt_${c.commandId}`.slice(0, 64),
          type: 'operation.result',
          operationId: op.operationId,
          paymentId: op.paymentId,
          kind: op.kind,
          outcome: 'approved',
          amount: op.amount,
          terminalRef: `VT${op.operationId.slice(-12)}`,
          authorizationId: op.operationId.slice(-6),
          responseCode: '00',
          message: `virtual terminal: ${op.kind} done`,
        };
        await h.onOperationResult(`${VIRTUAL_AGENT_PREFIX}operations`, result);
        this.#log.info({ ...ctx, outcome: result.outcome }, 'virtual terminal answered');
        this.#o.onAnswered?.(c.kind, result.outcome);
        return;
      }
      default: {
        const never: never = c.kind;
        throw new Error(`unhandled command kind ${String(never)}`);
      }
    }
  }
}
