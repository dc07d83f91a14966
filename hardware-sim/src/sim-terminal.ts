/**
 * Interpreter of the device machine for one simulated terminal: feeds it received bytes (through
 * the dialect's wire adapter), timer ticks and customer actions, and performs its effects (write,
 * run the step timer, log, count sales, pull the cable). It also owns what the control interface
 * reads and changes: the scenario, the frame log, sales per reference, the screen.
 *
 * It does not know how bytes travel: a link (`pty.ts`, `in-process.ts`) calls
 * {@link SimTerminal.receiveBytes}, supplies the writer through {@link SimTerminal.attach}, and
 * may install {@link LinkHooks} so "pull the cable" really closes the port.
 *
 *   link ──bytes──▶ wire adapter ──DeviceEvent──▶ transition() ──effects──▶ this ──replies──▶ adapter ──bytes──▶ link
 */
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { CodedError } from '@posbridge/protocol/errors';
import {
  createDeviceState,
  DEFAULT_HISTORY_LIMIT,
  screenOf,
  transition,
  type CustomerAction,
  type DeviceConfig,
  type DeviceEffect,
  type DeviceEvent,
  type DeviceReply,
  type DeviceState,
  type SaleResult,
} from './device-machine.ts';
import { CONCERT_EPLUS, ConcertWire } from './dialects/concert.ts';
import { PBL1, Pbl1Wire } from './dialects/pbl1.ts';
import { DEFAULT_SCENARIO, mergeScenario, parseScenarioPatch, seededRandom, type SimScenario, type SimScenarioPatch } from './scenarios/scenario.ts';
import { printable, toHex, type FrameLogEntry, type WireAdapter, type WireContext } from './wire.ts';
import { SYSTEM_CLOCK, type Clock, type Timer } from './clock.ts';

/** Wire dialects the simulator speaks. */
export const SIM_DIALECTS = [PBL1, CONCERT_EPLUS] as const;
/** One wire dialect. */
export type SimDialect = (typeof SIM_DIALECTS)[number];

/** Most frames kept in the log (oldest dropped first). */
export const FRAME_LOG_LIMIT = 10_000;

/** What a link does when the cable is pulled and plugged back. */
export interface LinkHooks {
  /** Make the port disappear (close the pty). */
  unplug(): Promise<void>;
  /** Make it come back at the same path. */
  replug(): Promise<void>;
}

/** Options of one simulated terminal. */
export interface SimTerminalOptions {
  serialNumber: string;
  /** Parent logger; a child with `{ component: 'terminal', serialNumber }` is made. */
  logger: Logger;
  /** @default 'PBL/1' */
  dialect?: SimDialect;
  /** Think time between progress stages, in ms (overrides the scenario's). */
  stepDelayMs?: number;
  /** Initial scenario (patch over the defaults). */
  scenario?: SimScenarioPatch;
  /** Firmware version announced in IDENT. */
  firmware: string;
  /** Finished transactions remembered per terminal. @default 1000 */
  historyLimit?: number;
  /** Clock, epoch ms; overrides `clock.now`. @default clock.now */
  now?: () => number;
  /** Time and timers of the terminal (progress steps, delays, replug, reboot). @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
}

/** Counts per host reference (PBL/1 rid, Concert private data). */
export interface ReferenceCounts {
  /** Sales that reached a final answer (approved, declined or aborted). */
  finals: number;
  /** Approved sales: money taken. More than 1 is a double charge. */
  charges: number;
  /** Approved voids and refunds. */
  reversals: number;
}

/** Sales summary of a terminal (control interface `GET …/sales`). */
export interface SalesSummary {
  /** Sales that reached a final answer. */
  total: number;
  /** Approved sales. */
  charges: number;
  /** Approved voids and refunds. */
  reversals: number;
  byReference: Record<string, ReferenceCounts>;
}

/** A snapshot of the terminal for the control interface and interactive mode. */
export interface TerminalSnapshot {
  serialNumber: string;
  dialect: SimDialect;
  /** Cable state. */
  plugged: boolean;
  /** True while restarting. */
  rebooting: boolean;
  /** `idle`, or the running sale's stage. */
  state: 'idle' | 'waiting_card' | 'pin' | 'processing';
  /** The running sale's reference and amount, if any. */
  running?: { rid: string; reference: string; amountMinor: number; currency: string; method: string };
  screen: [string, string];
  last?: SaleResult;
}

/** One simulated terminal (state machine + its effects). */
export class SimTerminal {
  /** Serial number announced in IDENT. */
  readonly serialNumber: string;
  /** Wire dialect. */
  readonly dialect: SimDialect;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #wire: WireAdapter;
  #state: DeviceState;
  #scenario: Readonly<SimScenario>;
  #random: () => number;
  readonly #timers = new Map<string, Timer>();
  readonly #scheduled = new Set<Timer>();
  #write: ((bytes: Uint8Array) => void) | undefined;
  #hooks: LinkHooks | undefined;
  #plugged = true;
  #replugTimer: Timer | undefined;
  #rebooting = false;
  readonly #rebootedRids = new Set<string>();
  readonly #salesByRid = new Map<string, number>();
  readonly #byReference = new Map<string, ReferenceCounts>();
  #salesTotal = 0;
  #charges = 0;
  #reversals = 0;
  readonly #frames: FrameLogEntry[] = [];
  #seq = 0;
  /** Delayed writes, in order: a write waits for the ones before it. */
  readonly #out = new SerialQueue();
  readonly #listeners = new Set<() => void>();
  #closed = false;

  constructor(opts: SimTerminalOptions) {
    this.serialNumber = opts.serialNumber;
    this.dialect = opts.dialect ?? PBL1;
    this.#log = opts.logger.child({ component: 'terminal', serialNumber: opts.serialNumber });
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#now = opts.now ?? (() => this.#clock.now());
    this.#scenario = mergeScenario(DEFAULT_SCENARIO, {
      ...(opts.scenario ?? {}),
      ...(opts.stepDelayMs !== undefined ? { stepDelayMs: opts.stepDelayMs } : {}),
    });
    this.#random = seededRandom(this.#scenario.seed);
    this.#state = createDeviceState(this.#deviceConfig(opts.firmware, opts.historyLimit ?? DEFAULT_HISTORY_LIMIT));
    const ctx = this.#context();
    this.#wire = this.dialect === CONCERT_EPLUS ? new ConcertWire(ctx) : new Pbl1Wire(ctx);
  }

  /** Sets where bytes for the host go. Replaces any previous writer. */
  attach(write: (bytes: Uint8Array) => void): void {
    this.#write = write;
  }

  /** Stops sending; bytes produced meanwhile are dropped (as on a real unplugged cable). */
  detach(): void {
    this.#write = undefined;
    this.#wire.reset();
  }

  /** Installs what "pull the cable" does on this terminal's link. */
  setLinkHooks(hooks: LinkHooks): void {
    this.#hooks = hooks;
  }

  /** Bytes read from the host, in any chunking. */
  receiveBytes(chunk: Uint8Array): void {
    if (this.#closed) return;
    if (!this.#plugged || this.#rebooting) {
      this.#logFrame('in', chunk, printable(chunk), this.#plugged ? 'dropped:rebooting' : 'dropped:unplugged');
      return;
    }
    this.#wire.receive(chunk);
  }

  /** Sales that reached a final answer: for `rid`, or in total. */
  salesCount(rid?: string): number {
    return rid === undefined ? this.#salesTotal : (this.#salesByRid.get(rid) ?? 0);
  }

  /** Sales, charges and reversals, per host reference. */
  sales(): SalesSummary {
    return {
      total: this.#salesTotal,
      charges: this.#charges,
      reversals: this.#reversals,
      byReference: Object.fromEntries([...this.#byReference].map(([k, v]) => [k, { ...v }])),
    };
  }

  /** Frames received and sent, oldest first; only those after `sinceSeq` when given. */
  frames(sinceSeq = 0): FrameLogEntry[] {
    return this.#frames.filter((f) => f.seq > sinceSeq).map((f) => ({ ...f }));
  }

  /** Empties the frame log (sequence numbers keep increasing). */
  clearFrames(): void {
    this.#frames.length = 0;
  }

  /** The scenario in force. */
  get scenario(): Readonly<SimScenario> {
    return this.#scenario;
  }

  /**
   * Changes the scenario (a patch over the current one, or over the defaults with `reset`).
   * @throws CodedError CFG_INVALID when the patch is not valid.
   */
  setScenario(patch: unknown, reset = false): Readonly<SimScenario> {
    const valid = parseScenarioPatch(patch);
    const seedChanged = valid.seed !== undefined || reset;
    this.#scenario = mergeScenario(reset ? DEFAULT_SCENARIO : this.#scenario, valid);
    if (seedChanged) this.#random = seededRandom(this.#scenario.seed);
    this.#dispatch({ type: 'configure', config: this.#deviceConfig(this.#state.config.firmware, this.#state.config.historyLimit) });
    this.#log.info({ scenario: this.#scenario }, 'scenario changed');
    return this.#scenario;
  }

  /** What the person at the terminal does. Ignored (logged) when it makes no sense now. */
  customer(action: CustomerAction): void {
    if (this.#closed) return;
    this.#dispatch({ type: 'customer', ...action });
  }

  /**
   * Pulls the cable: the port disappears for `forMs` (then comes back at the same path), or
   * until {@link replug} when `forMs` is undefined.
   */
  unplug(forMs?: number): void {
    if (this.#closed || !this.#plugged) return;
    this.#plugged = false;
    this.#wire.reset();
    this.#log.warn({ forMs }, 'cable pulled');
    this.#hooks?.unplug().catch((err: unknown) => this.#log.error({ err }, 'could not unplug the link'));
    this.#emitChange();
    if (forMs !== undefined) {
      this.#replugTimer = this.#clock.setTimeout(() => this.replug(), forMs);
    }
  }

  /** Plugs the cable back in. */
  replug(): void {
    this.#replugTimer?.cancel();
    this.#replugTimer = undefined;
    if (this.#closed || this.#plugged) return;
    const done = () => {
      if (this.#closed) return;
      this.#plugged = true;
      this.#log.warn('cable plugged back');
      this.#emitChange();
    };
    if (this.#hooks === undefined) done();
    else this.#hooks.replug().then(done, (err: unknown) => this.#log.error({ err }, 'could not plug the link back'));
  }

  /** Restarts the terminal: a running sale is lost (recorded aborted); silent for `rebootMs`. */
  reboot(): void {
    if (this.#closed || this.#rebooting) return;
    this.#rebooting = true;
    this.#log.warn({ rebootMs: this.#scenario.rebootMs }, 'terminal rebooting');
    this.#dispatch({ type: 'reboot' });
    this.#wire.reset();
    const t = this.#clock.setTimeout(() => {
      this.#scheduled.delete(t);
      this.#rebooting = false;
      this.#log.warn('terminal back after reboot');
      this.#emitChange();
    }, this.#scenario.rebootMs);
    this.#scheduled.add(t);
    this.#emitChange();
  }

  /** A snapshot for the control interface and the interactive screen. */
  snapshot(): TerminalSnapshot {
    const phase = this.#state.phase;
    return {
      serialNumber: this.serialNumber,
      dialect: this.dialect,
      plugged: this.#plugged,
      rebooting: this.#rebooting,
      state: phase.kind === 'idle' ? 'idle' : phase.sale.stage,
      ...(phase.kind === 'running'
        ? {
            running: {
              rid: phase.sale.rid,
              reference: phase.sale.reference,
              amountMinor: phase.sale.amountMinor,
              currency: phase.sale.currency,
              method: phase.sale.method,
            },
          }
        : {}),
      screen: this.#rebooting ? ['REBOOTING', 'PLEASE WAIT'] : screenOf(this.#state),
      ...(this.#state.last !== undefined ? { last: this.#state.last } : {}),
    };
  }

  /** Calls `listener` after every change (for the interactive screen). Returns an unsubscriber. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops timers and output. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    for (const t of this.#scheduled) t.cancel();
    this.#scheduled.clear();
    this.#replugTimer?.cancel();
    this.#write = undefined;
    this.#listeners.clear();
  }

  // ─── internals ─────────────────────────────────────────────────────────────────────────

  #deviceConfig(firmware: string, historyLimit: number): DeviceConfig {
    const s = this.#scenario;
    return {
      serialNumber: this.serialNumber,
      model: 'POSBRIDGE-SIM',
      vendor: 'posbridge',
      firmware,
      dialect: this.dialect,
      stepDelayMs: s.stepDelayMs,
      historyLimit,
      slowAnswerDelayMs: s.slowAnswerDelayMs,
      unplugMs: s.unplugMs,
      customer: s.customer,
      ...(s.forceBehaviour !== null ? { forceBehaviour: s.forceBehaviour } : {}),
      ...(s.forceBrand !== null ? { forceBrand: s.forceBrand } : {}),
    };
  }

  #context(): WireContext {
    return {
      dispatch: (event) => this.#dispatch(event),
      write: (bytes, text, options = {}) => this.#enqueueWrite(bytes, text, options.note, options.delayMs ?? 0),
      logDropped: (bytes, text, note) => this.#logFrame('out', bytes, text, note),
      logReceived: (bytes, text, note) => this.#logFrame('in', bytes, text, note),
      scenario: () => this.#scenario,
      isBusy: () => this.#state.phase.kind === 'running',
      isConnected: () => this.#plugged && !this.#rebooting && this.#write !== undefined,
      random: () => this.#random(),
      schedule: (ms, fn) => {
        const t = this.#clock.setTimeout(() => {
          this.#scheduled.delete(t);
          if (!this.#closed) fn();
        }, ms);
        this.#scheduled.add(t);
        return () => {
          t.cancel();
          this.#scheduled.delete(t);
        };
      },
      log: this.#log,
    };
  }

  #logFrame(dir: 'in' | 'out', bytes: Uint8Array, text: string, note?: string): void {
    this.#seq += 1;
    this.#frames.push({ seq: this.#seq, atMs: this.#now(), dir, text, hex: toHex(bytes), ...(note !== undefined ? { note } : {}) });
    if (this.#frames.length > FRAME_LOG_LIMIT) this.#frames.splice(0, this.#frames.length - FRAME_LOG_LIMIT);
    this.#log.debug({ line: text, ...(note !== undefined ? { note } : {}) }, dir === 'in' ? 'line received' : 'line sent');
  }

  #enqueueWrite(bytes: Uint8Array, text: string, note: string | undefined, delayMs: number): void {
    if (delayMs === 0 && this.#out.pending === 0) {
      this.#emitBytes(bytes, text, note);
      return;
    }
    this.#out
      .run(async () => {
        if (delayMs > 0) await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, delayMs));
        if (!this.#closed) this.#emitBytes(bytes, text, note);
      })
      .catch((err: unknown) => this.#log.error({ err }, 'simulated write failed'));
  }

  #emitBytes(bytes: Uint8Array, text: string, note: string | undefined): void {
    if (!this.#plugged || this.#rebooting || this.#write === undefined) {
      const why = !this.#plugged ? 'dropped:unplugged' : this.#rebooting ? 'dropped:rebooting' : 'dropped:no-host';
      this.#logFrame('out', bytes, text, note === undefined ? why : `${note},${why}`);
      return;
    }
    this.#logFrame('out', bytes, text, note);
    this.#write(bytes);
  }

  #dispatch(event: DeviceEvent): void {
    const { state, effects } = transition(this.#state, event, this.#now());
    this.#state = state;
    const replies: DeviceReply[] = [];
    for (const effect of effects) {
      if (effect.type === 'reply') replies.push(effect.reply);
      else this.#perform(effect);
    }
    if (replies.length > 0 && !this.#closed) this.#wire.send(replies, event);
    this.#maybeRebootMidSale();
    this.#emitChange();
  }

  /** The `rebootMidTransaction` fault: restart once per sale, right after the card is read. */
  #maybeRebootMidSale(): void {
    const phase = this.#state.phase;
    if (!this.#scenario.faults.rebootMidTransaction || phase.kind !== 'running' || phase.sale.stage === 'waiting_card') return;
    if (this.#rebootedRids.has(phase.sale.rid)) return;
    this.#rebootedRids.add(phase.sale.rid);
    // After the current writes: the host sees the stage change, then silence.
    queueMicrotask(() => this.reboot());
  }

  #emitChange(): void {
    for (const l of this.#listeners) {
      try {
        l();
      } catch (err) {
        this.#log.error({ err }, 'screen listener failed');
      }
    }
  }

  #perform(effect: Exclude<DeviceEffect, { type: 'reply' }>): void {
    switch (effect.type) {
      case 'start-timer': {
        const { rid } = effect;
        const previous = this.#timers.get(rid);
        previous?.cancel();
        const handle = this.#clock.setTimeout(() => {
          this.#timers.delete(rid);
          if (!this.#closed) this.#dispatch({ type: 'step-due', rid });
        }, effect.delayMs);
        this.#timers.set(rid, handle);
        return;
      }
      case 'cancel-timer': {
        this.#timers.get(effect.rid)?.cancel();
        this.#timers.delete(effect.rid);
        return;
      }
      case 'sale-started':
        this.#log.info(
          { rid: effect.rid, amountMinor: effect.amountMinor, currency: effect.currency, status: 'started' },
          'sale started',
        );
        return;
      case 'sale-finished': {
        const r = effect.result;
        const counts = this.#byReference.get(r.reference) ?? { finals: 0, charges: 0, reversals: 0 };
        if (r.operation === 'sale') {
          this.#salesTotal += 1;
          this.#salesByRid.set(r.rid, (this.#salesByRid.get(r.rid) ?? 0) + 1);
          counts.finals += 1;
          if (r.status === 'approved') {
            counts.charges += 1;
            this.#charges += 1;
          }
        } else if (r.status === 'approved') {
          counts.reversals += 1;
          this.#reversals += 1;
        }
        this.#byReference.set(r.reference, counts);
        this.#log.info(
          { rid: r.rid, reference: r.reference, operation: r.operation, amountMinor: r.amountMinor, status: r.status, rc: r.responseCode },
          'sale finished',
        );
        return;
      }
      case 'answer-lost':
        this.#log.warn({ rid: effect.rid }, 'answer lost on the wire (test amount)');
        return;
      case 'unplug':
        this.unplug(effect.forMs);
        return;
      case 'input-rejected':
        this.#log.warn({ rid: effect.rid, reason: effect.reason, detail: effect.detail }, 'line rejected');
        return;
      default: {
        const never: never = effect;
        throw new TypeError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }
}

const DIALECT_ALIASES: Record<string, SimDialect> = {
  pbl1: PBL1,
  pbl: PBL1,
  line: PBL1,
  concert: CONCERT_EPLUS,
  concerte: CONCERT_EPLUS,
  concerteplus: CONCERT_EPLUS,
  eplus: CONCERT_EPLUS,
};

/** A dialect from its name or alias (`PBL/1`, `pbl1`, `CONCERT-E+`, `concert`). @throws CodedError CFG_INVALID */
export function parseDialect(name: string): SimDialect {
  const key = name.toLowerCase().replace(/\+/g, 'plus').replace(/[^a-z0-9]/g, '');
  const hit = SIM_DIALECTS.find((d) => d === name) ?? DIALECT_ALIASES[key];
  if (hit === undefined) throw new CodedError('CFG_INVALID', `unknown dialect ${JSON.stringify(name)}; use one of ${SIM_DIALECTS.join(', ')} (or pbl1, concert)`);
  return hit;
}
