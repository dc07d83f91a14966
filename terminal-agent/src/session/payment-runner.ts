/**
 * The interpreter of the transaction machine: takes `payment.start`s from the link, keeps one
 * {@link Transaction} per paymentId (cached in memory, written through to the journal), runs
 * sales on the terminal drivers and performs the machine's effects.
 *
 * Rules it enforces:
 * - idempotent by paymentId: a known payment is only re-acknowledged (and its report re-sent
 *   when finished), never started twice — except that a `payment.start` with a new id after
 *   the terminal refused the payment (nothing charged) is a new attempt (the server bound it again);
 * - journal first: `persist` runs (and must succeed) before `ack_start` and `run_sale`;
 * - one transaction per terminal: a sale for a busy terminal is refused with TERM_BUSY (nothing
 *   was charged; the customer picks another terminal or tries again);
 * - operations (voids, refunds) never get TERM_BUSY: one arriving while its terminal is busy is
 *   journaled as `queued`, acknowledged, and run when the terminal is free, in arrival order, one
 *   at a time (at most {@link MAX_QUEUED_OPERATIONS} per terminal; beyond that it is not
 *   acknowledged, so the server repeats it later);
 * - an operation the terminal itself refuses as busy (ERR BUSY: nothing ran) goes back to the head
 *   of its line and is tried again after `recoveryIntervalMs` (up to {@link MAX_BUSY_RETRIES} times);
 * - an `unknown` outcome is reported as such and then resolved in the background with STATUS.
 *
 * All state changes run one at a time through a single queue, so events from the link and
 * from drivers never interleave.
 */
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { toError } from '@posbridge/protocol/errors';
import { parseTraceparent, type OperationStart, type PaymentAbort, type PaymentStart, type ProgressStage, type TraceEvent } from '@posbridge/protocol/ws';
import type { ReliableMessage } from '../link/outbox.ts';
import { SYSTEM_CLOCK, type Clock, type Timer } from '@posbridge/kit/clock';
import type { SaleOutcome, SaleRequest, TerminalDriver } from '../drivers/terminal-driver.ts';
import { newMessageId, newRid } from './ids.ts';
import type { Journal } from './journal.ts';
import { buildReport } from './report.ts';
import { effectStageOf, PaymentTracer, stageOf } from './trace.ts';
import {
  canStartAnew,
  MAX_BUSY_RETRIES,
  newTransaction,
  transition,
  txKey,
  type Transaction,
  type TxEffect,
  type TxEvent,
} from './transaction-machine.ts';

/** What the runner needs from the server link. */
export interface RunnerLink {
  /** Sends `ack` for message `ackOf` (best effort; the server repeats unacked starts, aborts and operations). */
  sendAck(ackOf: string): void;
  /** Sends payment.progress (best effort, not acknowledged). */
  sendProgress(paymentId: string, stage: ProgressStage): void;
  /** Queues a report in the outbox; it is repeated until the server acknowledges it. */
  enqueue(report: ReliableMessage): void;
  /**
   * Sends `payment.events` when the link is live and the server speaks the `trace` feature
   * (best effort); false when not sent. Absent: no stages are reported (docs/tracing.md).
   */
  sendEvents?(paymentId: string, events: readonly TraceEvent[]): boolean;
}

/**
 * Most operations (voids, refunds) waiting for one terminal. One more is left unacknowledged:
 * the server repeats an unacknowledged `operation.start`, so it is taken once the line shortens.
 */
export const MAX_QUEUED_OPERATIONS = 64;

/** Options of {@link PaymentRunner}. */
export interface PaymentRunnerOptions {
  journal: Journal;
  link: RunnerLink;
  logger: Logger;
  /** Driver of the terminal with this serial number, or undefined when the agent does not drive it. */
  driverFor: (serialNumber: string) => TerminalDriver | undefined;
  /** Interval of background STATUS checks for unknown outcomes, ms. */
  recoveryIntervalMs: number;
  /** Time of the transactions and timers of the background checks and busy retries. @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
}

/** Runs payments on the terminals and keeps the journal. */
export class PaymentRunner {
  readonly #o: PaymentRunnerOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #txs = new Map<string, Transaction>();
  /** Serial numbers of terminals running a transaction. */
  readonly #busy = new Set<string>();
  /** Per serial number: keys of the operations waiting for the terminal, oldest first. */
  readonly #waiting = new Map<string, string[]>();
  readonly #resolvers = new Map<string, Timer>();
  /** Per serial number: the timer after which a line the terminal refused as busy is tried again. */
  readonly #retries = new Map<string, Timer>();
  readonly #sales = new Set<Promise<void>>();
  /** Stages of each payment for the server's timeline (none without `link.sendEvents`). */
  readonly #tracer: PaymentTracer | undefined;
  /** One session step at a time; a failed step is logged once and does not stop the next. */
  readonly #queue = new SerialQueue({ onError: (err) => this.#log.error({ err: toError(err) }, 'payment session step failed') });
  #closed = false;

  constructor(opts: PaymentRunnerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'session' });
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#now = () => this.#clock.now();
    const link = opts.link;
    this.#tracer = link.sendEvents ? new PaymentTracer({ sendEvents: (id, events) => link.sendEvents?.(id, events) ?? false }, this.#clock) : undefined;
  }

  /** The session logger of `tx`: with its `traceId` when the command carried one (docs/tracing.md "Logs"). */
  #logOf(tx: Pick<Transaction, 'traceId'>): Logger {
    return tx.traceId === undefined ? this.#log : this.#log.child({ traceId: tx.traceId });
  }

  /** Handles a payment.start from the server (idempotent by paymentId). */
  handleStart(msg: PaymentStart): Promise<void> {
    return this.#serial(async () => {
      const known = this.#txs.get(msg.paymentId) ?? (await this.#o.journal.get(msg.paymentId));
      const traceId = parseTraceparent(msg.traceparent)?.traceId;
      if (known && known.startMessageId !== msg.id && canStartAnew(known)) {
        // The server bound the payment again after the terminal refused it: a new attempt.
        if (traceId !== undefined) known.traceId = traceId;
        this.#txs.set(known.paymentId, known);
        const driver = this.#o.driverFor(msg.serialNumber);
        const refusal = this.#refusalFor(msg.serialNumber, driver);
        this.#log.info(
          { paymentId: msg.paymentId, previousCode: known.outcome?.kind === 'rejected' ? known.outcome.code : undefined },
          'payment bound again after a refusal; new attempt',
        );
        await this.#apply(known, {
          type: 'new_attempt',
          attempt: {
            serialNumber: msg.serialNumber,
            rid: driver ? driver.newReference() : newRid(),
            amount: msg.amount,
            method: msg.method,
            installments: msg.installments,
            startMessageId: msg.id,
          },
          ...(refusal ? { refusal } : {}),
        });
        return;
      }
      if (known) {
        this.#txs.set(known.paymentId, known);
        this.#log.info({ paymentId: msg.paymentId, phase: known.phase }, 'payment already known, acknowledging again');
        await this.#apply(known, { type: 'redeliver', startMessageId: msg.id });
        return;
      }
      const tx = newTransaction(
        {
          paymentId: msg.paymentId,
          serialNumber: msg.serialNumber,
          rid: newRid(),
          amount: msg.amount,
          method: msg.method,
          installments: msg.installments,
          startMessageId: msg.id,
        },
        this.#now(),
      );
      const driver = this.#o.driverFor(msg.serialNumber);
      if (driver) tx.rid = driver.newReference();
      if (traceId !== undefined) tx.traceId = traceId;
      const refusal = this.#refusalFor(msg.serialNumber, driver);
      await this.#apply(tx, refusal ? { type: 'refuse', ...refusal } : { type: 'start' });
    });
  }

  /** Why a new sale on `serialNumber` must be refused before it reaches the terminal, if it must. */
  #refusalFor(
    serialNumber: string,
    driver: TerminalDriver | undefined,
  ): { code: 'TERM_UNKNOWN' | 'TERM_BUSY'; message: string; reportId: string } | undefined {
    if (!driver) {
      return {
        code: 'TERM_UNKNOWN',
        message: `this agent does not drive a terminal with serial number ${serialNumber}`,
        reportId: newMessageId(),
      };
    }
    // Busy includes operations waiting their turn: a sale never jumps the line.
    if (this.#isBusy(serialNumber)) {
      return { code: 'TERM_BUSY', message: 'terminal is busy with another transaction', reportId: newMessageId() };
    }
    return undefined;
  }

  /**
   * Handles a payment.abort: journaled and acked; a running sale is aborted on the terminal
   * (its outcome follows as the usual payment.result); a finished one has its report sent again.
   * An abort for a payment this agent never took runs nothing: with a durable journal (proof
   * that no byte of it reached a terminal) the refusal is journaled and reported as
   * `payment.rejected` (nothing charged), so the server can end the payment and a late start of
   * it never runs; with a memory journal it is only acknowledged (an earlier process may have).
   */
  handleAbort(msg: PaymentAbort): Promise<void> {
    return this.#serial(async () => {
      const known = this.#txs.get(msg.paymentId) ?? (await this.#o.journal.get(msg.paymentId));
      if (!known && !this.#o.journal.durable) {
        this.#log.info({ paymentId: msg.paymentId, reason: msg.reason }, 'abort for a payment this agent never took; acknowledged');
        this.#o.link.sendAck(msg.id);
        return;
      }
      if (!known) {
        this.#log.info(
          { paymentId: msg.paymentId, reason: msg.reason },
          'abort for a payment this agent never took; reported as never started',
        );
        // Only the payment is known: no terminal, amount or method came with the abort. The
        // refusal acknowledges the abort (its message id stands in for the start's).
        const tx = newTransaction(
          {
            paymentId: msg.paymentId,
            serialNumber: '',
            rid: '',
            amount: { amountMinor: 0, currency: 'XXX' },
            method: 'credit',
            installments: 1,
            startMessageId: msg.id,
          },
          this.#now(),
        );
        tx.abortRequested = true;
        await this.#apply(tx, {
          type: 'refuse',
          code: 'TERM_UNKNOWN',
          message: 'the payment never reached a terminal of this agent (no journal record); nothing was charged',
          reportId: newMessageId(),
        });
        return;
      }
      this.#txs.set(txKey(known), known);
      this.#log.info({ paymentId: msg.paymentId, reason: msg.reason, phase: known.phase }, 'abort requested by server');
      await this.#apply(known, { type: 'abort', messageId: msg.id });
    });
  }

  /**
   * Handles an operation.start (void/refund of an approved sale): idempotent by operationId,
   * journaled before the ack and before the terminal sees it, one transaction per terminal.
   */
  handleOperation(msg: OperationStart): Promise<void> {
    return this.#serial(async () => {
      const key = `op:${msg.operationId}`;
      const known = this.#txs.get(key) ?? (await this.#o.journal.get(key));
      if (known) {
        this.#txs.set(key, known);
        this.#log.info({ paymentId: msg.paymentId, operationId: msg.operationId, phase: known.phase }, 'operation already known, acknowledging again');
        await this.#apply(known, { type: 'redeliver', startMessageId: msg.id });
        return;
      }
      const driver = this.#o.driverFor(msg.serialNumber);
      const tx = newTransaction(
        {
          paymentId: msg.paymentId,
          kind: msg.kind,
          operationId: msg.operationId,
          originalTerminalRef: msg.originalTerminalRef,
          serialNumber: msg.serialNumber,
          rid: driver ? driver.newReference() : newRid('o'),
          amount: msg.amount,
          method: 'credit',
          installments: 1,
          startMessageId: msg.id,
        },
        this.#now(),
      );
      const traceId = parseTraceparent(msg.traceparent)?.traceId;
      if (traceId !== undefined) tx.traceId = traceId;
      if (!driver) {
        await this.#apply(tx, {
          type: 'refuse',
          code: 'TERM_UNKNOWN',
          message: `this agent does not drive a terminal with serial number ${msg.serialNumber}`,
          reportId: newMessageId(),
        });
      } else if (this.#isBusy(msg.serialNumber)) {
        const waiting = this.#waiting.get(msg.serialNumber)?.length ?? 0;
        if (waiting >= MAX_QUEUED_OPERATIONS) {
          // Not taken (not journaled, not acked): the server repeats it until the line is shorter.
          this.#log.warn(
            { paymentId: msg.paymentId, operationId: msg.operationId, serialNumber: msg.serialNumber, waiting },
            'operation not taken: too many operations wait for this terminal',
          );
          return;
        }
        this.#log.info(
          { paymentId: msg.paymentId, operationId: msg.operationId, kind: msg.kind, serialNumber: msg.serialNumber, ahead: waiting },
          'terminal busy; operation queued',
        );
        await this.#apply(tx, { type: 'queue' });
      } else {
        await this.#apply(tx, { type: 'start' });
      }
    });
  }

  /** The server acknowledged a report. */
  handleReportAcked(msg: ReliableMessage): Promise<void> {
    return this.#serial(async () => {
      const key = msg.type === 'operation.result' ? `op:${msg.operationId}` : msg.paymentId;
      const tx = this.#txs.get(key) ?? (await this.#o.journal.get(key));
      if (tx) await this.#apply(tx, { type: 'report_acked', messageId: msg.id });
    });
  }

  /**
   * Picks up what the journal holds unsettled (after a restart): re-queues reports, recovers
   * sales, puts queued operations back in line (oldest first) and starts those whose terminal is free.
   */
  resume(): Promise<void> {
    return this.#serial(async () => {
      for (const tx of await this.#o.journal.listUnreported()) {
        if (this.#txs.has(txKey(tx))) continue;
        this.#txs.set(txKey(tx), tx);
        await this.#apply(tx, { type: 'resume', reportId: newMessageId() });
      }
      for (const serial of [...this.#waiting.keys()]) await this.#nextOperation(serial);
    });
  }

  /** The current state of `key` (a paymentId or `op:<operationId>`; for tests and diagnostics). */
  get(key: string): Transaction | undefined {
    const tx = this.#txs.get(key);
    return tx ? structuredClone(tx) : undefined;
  }

  /** Stops background recovery and waits for running sales to return (drivers must be closing). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#resolvers.values()) timer.cancel();
    this.#resolvers.clear();
    for (const timer of this.#retries.values()) timer.cancel();
    this.#retries.clear();
    await Promise.allSettled([...this.#sales]);
    await this.#queue.idle();
    this.#tracer?.flush();
  }

  // ─── interpreter ───────────────────────────────────────────────────────────────────────

  /** The terminal runs a transaction, or operations wait for it (a new sale would jump the line). */
  #isBusy(serialNumber: string): boolean {
    return this.#busy.has(serialNumber) || (this.#waiting.get(serialNumber)?.length ?? 0) > 0;
  }

  /**
   * Starts the oldest waiting operation of a free terminal (call inside the queue); an entry
   * that is no longer `queued` is dropped. Stops once the terminal runs something.
   */
  async #nextOperation(serialNumber: string): Promise<void> {
    const line = this.#waiting.get(serialNumber);
    if (line && line.length > 0 && !this.#o.driverFor(serialNumber)) {
      // Journaled before a restart for a terminal this agent no longer drives: nothing reached it.
      this.#log.warn({ serialNumber, waiting: line.length }, 'operations wait for a terminal this agent does not drive');
      return;
    }
    // The terminal refused the head of the line as busy: wait for the retry timer.
    if (this.#retries.has(serialNumber)) return;
    while (line && line.length > 0 && !this.#busy.has(serialNumber) && !this.#closed) {
      const key = line[0]!;
      const tx = this.#txs.get(key);
      if (tx?.phase !== 'queued') {
        line.shift();
        continue;
      }
      this.#log.info({ paymentId: tx.paymentId, operationId: tx.operationId, serialNumber }, 'terminal free; queued operation starts');
      line.shift();
      await this.#apply(tx, { type: 'start' });
    }
    if (line?.length === 0) this.#waiting.delete(serialNumber);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** Applies an event from outside the queue (driver hooks, background checks). */
  #applyLater(key: string, event: TxEvent): Promise<void> {
    return this.#serial(async () => {
      const tx = this.#txs.get(key);
      if (tx) await this.#apply(tx, event);
    });
  }

  async #apply(tx: Transaction, event: TxEvent): Promise<void> {
    const { state, effects, ignored } = transition(tx, event, this.#now());
    if (ignored !== undefined) {
      this.#log.debug({ paymentId: tx.paymentId, event: event.type, why: ignored }, 'transaction event ignored');
      return;
    }
    if (state.phase !== tx.phase) {
      this.#log.debug({ paymentId: tx.paymentId, from: tx.phase, to: state.phase, event: event.type }, 'transaction state');
    }
    this.#txs.set(txKey(state), state);
    this.#trace(state, event);
    for (const effect of effects) {
      const ok = await this.#perform(tx, state, effect);
      if (!ok) return;
      const marked = effectStageOf(state, effect);
      if (marked) this.#tracer?.record(state.paymentId, marked.stage, marked.detail);
    }
  }

  /** Logs and records the stage `event` marks on `tx` (the terminal exchange's rid mapped to its payment). */
  #trace(tx: Transaction, event: TxEvent): void {
    if (event.type === 'sent') {
      this.#logOf(tx).info({ paymentId: tx.paymentId, rid: tx.rid, serialNumber: tx.serialNumber, operationId: tx.operationId }, 'request sent to terminal');
    }
    const marked = stageOf(tx, event);
    if (marked) this.#tracer?.record(tx.paymentId, marked.stage, marked.detail);
  }

  /** Performs one effect; false stops the remaining effects of this transition. */
  async #perform(before: Transaction, tx: Transaction, effect: TxEffect): Promise<boolean> {
    switch (effect.type) {
      case 'persist':
        try {
          if (before.phase === 'idle') await this.#o.journal.put(tx);
          else await this.#o.journal.update(tx);
          return true;
        } catch (err) {
          this.#log.error({ paymentId: tx.paymentId, err: toError(err) }, 'journal write failed');
          if (before.phase === 'idle') {
            // Not journaled: forget it, do not ack. The server repeats payment.start.
            this.#txs.delete(txKey(tx));
            return false;
          }
          return true;
        }
      case 'ack_start':
        this.#o.link.sendAck(effect.messageId);
        return true;
      case 'run_sale':
        this.#startSale(tx);
        return true;
      case 'report':
        this.#o.link.enqueue(buildReport(tx));
        return true;
      case 'progress':
        this.#o.link.sendProgress(tx.paymentId, effect.stage);
        return true;
      case 'resolve_later':
        this.#scheduleResolve(txKey(tx), effect.immediate === true ? 0 : undefined);
        return true;
      case 'ack_message':
        this.#o.link.sendAck(effect.messageId);
        return true;
      case 'wait_turn': {
        const line = this.#waiting.get(tx.serialNumber) ?? [];
        const key = txKey(tx);
        if (!line.includes(key)) line.push(key);
        this.#waiting.set(tx.serialNumber, line);
        return true;
      }
      case 'retry_later': {
        const serial = tx.serialNumber;
        const key = txKey(tx);
        const line = (this.#waiting.get(serial) ?? []).filter((k) => k !== key);
        this.#waiting.set(serial, [key, ...line]);
        this.#log.warn(
          { paymentId: tx.paymentId, operationId: tx.operationId, serialNumber: serial, retry: tx.busyRetries, retryInMs: this.#o.recoveryIntervalMs },
          'terminal busy; operation waits and is tried again',
        );
        if (!this.#closed && !this.#retries.has(serial)) {
          const timer = this.#clock.setTimeout(() => {
            void this.#serial(async () => {
              this.#retries.delete(serial);
              await this.#nextOperation(serial);
            });
          }, this.#o.recoveryIntervalMs, { unref: true });
          this.#retries.set(serial, timer);
        }
        return true;
      }
      case 'abort_terminal': {
        const driver = this.#o.driverFor(tx.serialNumber);
        if (driver) {
          void driver.abort(saleRequestOf(tx)).then((attempt) => {
            if (attempt === 'unsupported') {
              this.#log.warn({ paymentId: tx.paymentId, rid: tx.rid }, 'terminal dialect cannot abort; the sale runs to its end and its outcome is reported');
            }
          });
        }
        return true;
      }
      default: {
        const never: never = effect;
        throw new TypeError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  #startSale(tx: Transaction): void {
    const driver = this.#o.driverFor(tx.serialNumber);
    const request = saleRequestOf(tx);
    const key = txKey(tx);
    this.#busy.add(tx.serialNumber);
    const run = (async () => {
      let outcome: SaleOutcome;
      try {
        if (!driver) throw new Error(`no driver for ${tx.serialNumber}`);
        outcome = await driver.sale(request, {
          onSent: () => void this.#applyLater(key, { type: 'sent' }),
          onAcked: () => void this.#applyLater(key, { type: 'acked' }),
          onProgress: (stage) => void this.#applyLater(key, { type: 'progress', stage }),
          onRecovering: (reason) => void this.#applyLater(key, { type: 'recovering', reason }),
        });
      } catch (err) {
        // A driver bug must not turn into a guess: the terminal may have charged.
        this.#log.error({ paymentId: tx.paymentId, err: toError(err) }, 'sale failed unexpectedly');
        outcome = { kind: 'unknown', reason: `agent error: ${toError(err).message}` };
      }
      if (outcome.kind === 'unknown') {
        this.#logOf(tx).warn({ paymentId: tx.paymentId, rid: tx.rid, reason: outcome.reason }, 'payment outcome unknown');
      }
      // The outcome is recorded, the terminal released and the next waiting operation started in
      // one step of the queue, so no other transaction can slip in between.
      await this.#serial(async () => {
        try {
          const current = this.#txs.get(key);
          const refusedAsBusy =
            outcome.kind === 'rejected' &&
            outcome.code === 'TERM_BUSY' &&
            (current?.kind === 'void' || current?.kind === 'refund') &&
            (current.busyRetries ?? 0) < MAX_BUSY_RETRIES;
          if (current && refusedAsBusy && driver) {
            // Nothing ran on the terminal: the operation keeps its place instead of being refused.
            await this.#apply(current, { type: 'terminal_busy', rid: driver.newReference() });
          } else if (current) {
            await this.#apply(current, { type: 'outcome', outcome, reportId: newMessageId() });
          }
        } finally {
          this.#busy.delete(tx.serialNumber);
          await this.#nextOperation(tx.serialNumber);
        }
      });
    })();
    this.#sales.add(run);
    void run.finally(() => this.#sales.delete(run));
  }

  #scheduleResolve(key: string, delayMs = this.#o.recoveryIntervalMs): void {
    if (this.#closed || this.#resolvers.has(key)) return;
    const timer = this.#clock.setTimeout(() => {
      this.#resolvers.delete(key);
      void this.#resolveOnce(key);
    }, delayMs, { unref: true });
    this.#resolvers.set(key, timer);
  }

  async #resolveOnce(key: string): Promise<void> {
    const tx = this.#txs.get(key);
    if (this.#closed || !tx || tx.phase !== 'unknown') return;
    const driver = this.#o.driverFor(tx.serialNumber);
    if (!driver) {
      this.#scheduleResolve(key);
      return;
    }
    const check = await driver.checkStatus(saleRequestOf(tx));
    switch (check.kind) {
      case 'result':
        this.#log.info({ paymentId: tx.paymentId, rid: tx.rid, outcome: check.result.outcome }, 'unknown outcome resolved');
        await this.#applyLater(key, { type: 'outcome', outcome: check, reportId: newMessageId() });
        return;
      case 'not_found':
        if (!tx.acked) {
          // The terminal never took this rid: nothing was charged.
          this.#log.info({ paymentId: tx.paymentId, rid: tx.rid, outcome: 'denied' }, 'unknown outcome resolved');
          await this.#applyLater(key, {
            type: 'outcome',
            outcome: {
              kind: 'result',
              result: {
                outcome: 'denied',
                terminalStatus: 'not_found',
                amount: tx.amount,
                tid: tx.rid,
                message: 'terminal has no record of the sale; nothing was charged',
              },
            },
            reportId: newMessageId(),
          });
          return;
        }
        this.#log.warn({ paymentId: tx.paymentId, rid: tx.rid }, 'terminal says NOT_FOUND for a sale it acknowledged; outcome stays unknown');
        break;
      case 'running':
        this.#log.debug({ paymentId: tx.paymentId, rid: tx.rid, check: check.kind }, 'unknown outcome not resolved yet');
        if (tx.abortRequested === true) {
          // The server wants it stopped and the terminal still runs it: the earlier ABORT was
          // lost (or never written). Ask again; a terminal that finished answers its result.
          await driver.abort(saleRequestOf(tx));
        }
        break;
      case 'no_answer':
        this.#log.debug({ paymentId: tx.paymentId, rid: tx.rid, check: check.kind }, 'unknown outcome not resolved yet');
        break;
      default: {
        const never: never = check;
        throw new TypeError(`unknown check ${JSON.stringify(never)}`);
      }
    }
    this.#scheduleResolve(key);
  }
}

/** The driver request of a transaction. */
function saleRequestOf(tx: Transaction): SaleRequest {
  return {
    paymentId: tx.paymentId,
    rid: tx.rid,
    amount: tx.amount,
    method: tx.method,
    installments: tx.installments,
    ...(tx.kind !== undefined ? { kind: tx.kind } : {}),
    ...(tx.originalTerminalRef !== undefined ? { originalRef: tx.originalTerminalRef } : {}),
  };
}
