/**
 * The lifecycle of one terminal's byte stream, shared by every driver: open it once however
 * many callers ask at the same time, reopen it on demand after it dropped, notice its end exactly
 * once (error, `close` or `end`, whichever comes first), and close it for good.
 *
 * The driver supplies what differs: how to read from a freshly opened stream (`onAttach`, which
 * may return a detach function, e.g. to unpipe a parser) and what a drop means for its own state
 * (`onGone`).
 *
 *   closed-idle ──ensureOpen──▶ opening ──open()──▶ attached ──error/close/end──▶ closed-idle
 *                                  │                    │
 *                                  └──── close() ───────┴──▶ shut (ensureOpen rejects)
 *
 * @see CONTRIBUTING.md "Drivers and transports" (transports under drivers)
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { destroyStream } from './byte-transport.ts';

/** Options of {@link TerminalPort}. */
export interface TerminalPortOptions {
  /** Opens the terminal's byte stream (a transport, see byte-transport.ts). */
  open: () => Promise<Duplex>;
  /** Wires the driver's reader to a newly opened stream; may return a function undoing it. */
  onAttach: (stream: Duplex) => (() => void) | void;
  /** The attached stream dropped (`err` when it failed); called once per stream, also after {@link TerminalPort.close}. */
  onGone: (err: Error | undefined, info: { isShut: boolean }) => void;
  logger: Logger;
  /** For the drop warning; a getter since some drivers learn it only after identifying the terminal. */
  serialNumber: () => string | undefined;
}

/** One terminal's byte stream, opened on demand and reopened after a drop. */
export class TerminalPort {
  readonly #o: TerminalPortOptions;
  #stream: Duplex | undefined;
  #opening: Promise<Duplex> | undefined;
  #shut = false;

  constructor(options: TerminalPortOptions) {
    this.#o = options;
  }

  /** The attached stream, if it is open now. */
  get current(): Duplex | undefined {
    return this.#stream && !this.#stream.destroyed ? this.#stream : undefined;
  }

  /**
   * The open stream, opening it first if needed; concurrent callers share one open.
   * @throws CodedError `TERM_DISCONNECTED` after {@link close}; whatever `open` throws
   *   (`TERM_PORT_OPEN_FAILED` from the transports).
   */
  ensureOpen(): Promise<Duplex> {
    if (this.#shut) return Promise.reject(new CodedError('TERM_DISCONNECTED', 'driver is closed'));
    const current = this.current;
    if (current) return Promise.resolve(current);
    this.#opening ??= this.#attach().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /** Closes the stream for good and waits until its port is released (at most 1 s). */
  async close(): Promise<void> {
    this.#shut = true;
    const stream = this.#stream;
    this.#stream = undefined;
    await destroyStream(stream);
  }

  async #attach(): Promise<Duplex> {
    const stream = await this.#o.open();
    if (this.#shut) {
      stream.destroy();
      throw new CodedError('TERM_DISCONNECTED', 'driver is closed');
    }
    const detach = this.#o.onAttach(stream);
    let gone = false;
    const onGone = (err?: Error) => {
      if (gone) return;
      gone = true;
      detach?.();
      if (this.#stream === stream) this.#stream = undefined;
      if (!stream.destroyed) stream.destroy();
      if (!this.#shut) {
        this.#o.logger.warn({ serialNumber: this.#o.serialNumber(), ...(err ? { err } : {}) }, 'terminal link closed');
      }
      this.#o.onGone(err, { isShut: this.#shut });
    };
    stream.on('error', (err: Error) => onGone(err));
    stream.once('close', () => onGone());
    stream.once('end', () => onGone());
    this.#stream = stream;
    return stream;
  }
}
