/**
 * In-process link: the agent's end of the "cable" is a Node `Duplex` in the same process.
 * Used when socat is not installed (or asked for explicitly). Bytes written to the duplex go to
 * the terminal's wire adapter as they are; the terminal's answers are pushed as `Buffer`s, just
 * as a serial port delivers them. Pulling the cable ends the duplex and makes `connect()` throw
 * until it is plugged back.
 */
import { Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CodedError } from '@posbridge/protocol/errors';
import type { SimTerminal } from './sim-terminal.ts';

/** Splits a byte stream into `\n`-terminated lines (delimiter removed). */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #pending = '';

  /** Feeds a chunk; returns the complete lines it finished. */
  push(chunk: Buffer | string): string[] {
    this.#pending += typeof chunk === 'string' ? chunk : this.#decoder.write(chunk);
    const parts = this.#pending.split('\n');
    this.#pending = parts.pop() ?? '';
    return parts;
  }
}

/** The in-process link of one terminal. */
export class InProcessLink {
  readonly #terminal: SimTerminal;
  #current: Duplex | undefined;
  #unplugged = false;

  constructor(terminal: SimTerminal) {
    this.#terminal = terminal;
    terminal.setLinkHooks({
      unplug: async () => {
        this.#unplugged = true;
        this.#hangUp();
      },
      replug: async () => {
        this.#unplugged = false;
      },
    });
  }

  /**
   * Returns a new Duplex plugged into the terminal, as if the agent opened the port.
   * A previous connection is ended first (one host per terminal, like a serial cable).
   */
  connect(): Duplex {
    if (this.#unplugged) throw new CodedError('TERM_PORT_OPEN_FAILED', `terminal ${this.#terminal.serialNumber} is unplugged`);
    this.#hangUp();
    const terminal = this.#terminal;
    const end: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer | string, _encoding, callback) {
        terminal.receiveBytes(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
        callback();
      },
      destroy: (err, callback) => {
        if (this.#current === end) {
          this.#current = undefined;
          terminal.detach();
        }
        callback(err);
      },
    });
    this.#current = end;
    terminal.attach((bytes) => {
      if (!end.destroyed && !end.readableEnded) end.push(Buffer.from(bytes));
    });
    return end;
  }

  /** Ends the current connection, if any (the agent sees `end` then `close`). */
  close(): void {
    this.#hangUp();
  }

  #hangUp(): void {
    const previous = this.#current;
    if (previous === undefined) return;
    this.#current = undefined;
    this.#terminal.detach();
    // End both directions; autoDestroy closes the duplex once the consumer has read the end.
    previous.push(null);
    previous.end();
  }
}
