/**
 * The contract between the interpreter (`sim-terminal.ts`) and a dialect's wire adapter
 * (`dialects/pbl1.ts`, `dialects/concert.ts`). An adapter turns received bytes into device
 * events, turns the machine's replies into bytes, and applies the scenario's wire faults
 * (they differ per dialect: a dropped ACK is a line in PBL/1, a control byte in Concert E+).
 */
import type { Logger } from 'pino';
import type { DeviceEvent, DeviceReply } from './device-machine.ts';
import type { SimScenario } from './scenarios/scenario.ts';

/** One frame in the terminal's log (control interface `GET …/frames`). */
export interface FrameLogEntry {
  /** Increasing number, for `?since=`. */
  seq: number;
  /** Epoch ms. */
  atMs: number;
  /** `in`: received from the host; `out`: sent (or meant to be sent) by the terminal. */
  dir: 'in' | 'out';
  /** Readable form: the PBL/1 line, or Concert bytes with control names (`<STX>…<ETX><LRC 12>`). */
  text: string;
  /** The bytes, lower-case hex separated by spaces. */
  hex: string;
  /** What happened to it when not plain: `fault:drop-ack`, `fault:corrupt`, `dropped:unplugged`, … */
  note?: string;
}

/** What an adapter may do. */
export interface WireContext {
  /** Feeds an event to the device machine (its replies come back through {@link WireAdapter.send}). */
  dispatch(event: DeviceEvent): void;
  /**
   * Sends bytes to the host after `delayMs` (order is kept: later writes wait for earlier ones).
   * Bytes are logged; they are dropped (and logged as such) while the cable is pulled or the
   * terminal reboots.
   */
  write(bytes: Uint8Array, text: string, options?: { note?: string; delayMs?: number }): void;
  /** Logs a frame that was meant to be sent but was not (a fault). */
  logDropped(bytes: Uint8Array, text: string, note: string): void;
  /** Logs a received frame. */
  logReceived(bytes: Uint8Array, text: string, note?: string): void;
  /** The scenario in force. */
  scenario(): Readonly<SimScenario>;
  /** True while the device machine runs a transaction. */
  isBusy(): boolean;
  /** True while a host can hear the terminal (cable plugged, not rebooting, port open). */
  isConnected(): boolean;
  /** Seeded random number in [0, 1). */
  random(): number;
  /** Runs `fn` after `ms` unless the terminal resets or closes first; returns a canceller. */
  schedule(ms: number, fn: () => void): () => void;
  log: Logger;
}

/** A dialect's wire side of one terminal. */
export interface WireAdapter {
  /** Dialect name announced in IDENT. */
  readonly dialect: string;
  /** Bytes received from the host, in any chunking. */
  receive(bytes: Uint8Array): void;
  /**
   * The machine's replies to one event, in order. `cause` tells which event produced them
   * (faults such as "drop the ACK" apply to the replies of a request).
   */
  send(replies: readonly DeviceReply[], cause: DeviceEvent): void;
  /** The link dropped or the terminal restarted: forget partial input and exchanges in flight. */
  reset(): void;
}

/** Lower-case hex of bytes, space separated. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Random line noise for the `garbageRate` fault: bytes that are never a PBL/1 LF or a Concert control byte. */
export function noiseBytes(random: () => number): Uint8Array {
  const length = 3 + Math.floor(random() * 8);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    let b = Math.floor(random() * 256);
    // Keep clear of LF and of the Concert control bytes so noise stays *between* frames.
    if (b === 0x0a || b === 0x02 || b === 0x03 || b === 0x04 || b === 0x05 || b === 0x06 || b === 0x15) b = 0x7e;
    out[i] = b;
  }
  return out;
}

/** Readable form of raw bytes for the log (control bytes by name, other non-printables as hex). */
export function printable(bytes: Uint8Array): string {
  const names: Record<number, string> = { 2: 'STX', 3: 'ETX', 4: 'EOT', 5: 'ENQ', 6: 'ACK', 0x15: 'NAK', 0x0a: 'LF', 0x0d: 'CR' };
  let out = '';
  for (const b of bytes) {
    const name = names[b];
    if (name !== undefined) out += `<${name}>`;
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `<${b.toString(16).padStart(2, '0')}>`;
  }
  return out;
}

