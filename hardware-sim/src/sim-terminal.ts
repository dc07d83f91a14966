/**
 * Interpreter of the device machine for one simulated terminal: feeds it received lines and
 * timer ticks, and performs its effects (write lines, run the step timer, log, count sales).
 * It does not know how bytes travel: a link (`pty.ts`, `in-process.ts`) calls
 * {@link SimTerminal.receiveLine} and supplies the writer through {@link SimTerminal.attach}.
 */
import type { Logger } from 'pino';
import {
  createDeviceState,
  DEFAULT_HISTORY_LIMIT,
  transition,
  type DeviceEffect,
  type DeviceEvent,
  type DeviceState,
} from './device-machine.ts';
import { PBL1, pbl1EventFromLine, pbl1LineFromReply } from './dialects/pbl1.ts';

/** Options of one simulated terminal. */
export interface SimTerminalOptions {
  serialNumber: string;
  /** Parent logger; a child with `{ component: 'terminal', serialNumber }` is made. */
  logger: Logger;
  /** Think time between progress stages, in ms. */
  stepDelayMs: number;
  /** Firmware version announced in IDENT. */
  firmware: string;
  /** Finished transactions remembered per terminal. @default 1000 */
  historyLimit?: number;
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

/** One simulated PBL/1 terminal (state machine + its effects). */
export class SimTerminal {
  /** Serial number announced in IDENT. */
  readonly serialNumber: string;
  readonly #log: Logger;
  readonly #now: () => number;
  #state: DeviceState;
  #timer: { rid: string; handle: NodeJS.Timeout } | undefined;
  #write: ((text: string) => void) | undefined;
  readonly #salesByRid = new Map<string, number>();
  #salesTotal = 0;
  #closed = false;

  constructor(opts: SimTerminalOptions) {
    this.serialNumber = opts.serialNumber;
    this.#log = opts.logger.child({ component: 'terminal', serialNumber: opts.serialNumber });
    this.#now = opts.now ?? Date.now;
    this.#state = createDeviceState({
      serialNumber: opts.serialNumber,
      model: 'POSBRIDGE-SIM',
      vendor: 'posbridge',
      firmware: opts.firmware,
      dialect: PBL1,
      stepDelayMs: opts.stepDelayMs,
      historyLimit: opts.historyLimit ?? DEFAULT_HISTORY_LIMIT,
    });
  }

  /** Sets where answer lines go (`text` includes the `\n`). Replaces any previous writer. */
  attach(write: (text: string) => void): void {
    this.#write = write;
  }

  /** Stops sending; lines produced meanwhile are dropped (as on a real unplugged cable). */
  detach(): void {
    this.#write = undefined;
  }

  /** Handles one line read from the host (without its `\n`; a trailing `\r` is tolerated). */
  receiveLine(raw: string): void {
    if (this.#closed) return;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    // Blank lines are line noise (e.g. a host flushing with a bare newline), not requests.
    if (line.trim() === '') return;
    this.#log.debug({ line }, 'line received');
    this.#dispatch(pbl1EventFromLine(line));
  }

  /** Sales that reached a final RESULT: for `rid`, or in total. */
  salesCount(rid?: string): number {
    return rid === undefined ? this.#salesTotal : (this.#salesByRid.get(rid) ?? 0);
  }

  /** Stops timers and output. Idempotent. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer.handle);
    this.#timer = undefined;
    this.#write = undefined;
  }

  #dispatch(event: DeviceEvent): void {
    const { state, effects } = transition(this.#state, event, this.#now());
    this.#state = state;
    for (const effect of effects) this.#perform(effect);
  }

  #perform(effect: DeviceEffect): void {
    switch (effect.type) {
      case 'reply': {
        const line = pbl1LineFromReply(effect.reply);
        this.#log.debug({ line }, 'line sent');
        if (this.#write === undefined) this.#log.debug({ line }, 'no host connected, line dropped');
        else this.#write(`${line}\n`);
        return;
      }
      case 'start-timer': {
        if (this.#timer !== undefined) clearTimeout(this.#timer.handle);
        const { rid } = effect;
        const handle = setTimeout(() => {
          if (this.#timer?.rid === rid) this.#timer = undefined;
          if (!this.#closed) this.#dispatch({ type: 'step-due', rid });
        }, effect.delayMs);
        this.#timer = { rid, handle };
        return;
      }
      case 'cancel-timer':
        if (this.#timer?.rid === effect.rid) {
          clearTimeout(this.#timer.handle);
          this.#timer = undefined;
        }
        return;
      case 'sale-started':
        this.#log.info(
          { rid: effect.rid, amountMinor: effect.amountMinor, currency: effect.currency, status: 'started' },
          'sale started',
        );
        return;
      case 'sale-finished': {
        const r = effect.result;
        this.#salesTotal += 1;
        this.#salesByRid.set(r.rid, (this.#salesByRid.get(r.rid) ?? 0) + 1);
        this.#log.info(
          { rid: r.rid, amountMinor: r.amountMinor, status: r.status, rc: r.responseCode },
          'sale finished',
        );
        return;
      }
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
