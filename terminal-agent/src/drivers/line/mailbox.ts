/**
 * Per-`rid` inbox of decoded terminal lines. The driver subscribes a mailbox before it writes
 * a request, so an answer that arrives between two waits is queued rather than lost (the
 * anti-pattern "one read equals one answer" of CONTRIBUTING.md "Byte streams").
 */
import type { TerminalLine } from '@posbridge/protocol/terminal';

/** A decoded line plus its text as received (for logs). */
export interface ReceivedLine {
  line: TerminalLine;
  /** The line as received, without the delimiter. */
  raw: string;
}

/** Marker queued when the terminal link closes. */
const CLOSED = Symbol('closed');
type Item = ReceivedLine | typeof CLOSED;

/** What {@link Mailbox.next} resolves to. */
export type MailboxItem = ReceivedLine | 'timeout' | 'closed';

/** A FIFO of lines for one `rid`, with a single waiter. */
export class Mailbox {
  #items: Item[] = [];
  #waiter: ((item: Item) => void) | undefined;

  /** Queues a line (or hands it to the waiter). */
  push(line: ReceivedLine): void {
    this.#deliver(line);
  }

  /** Signals that the link closed: the waiter (or the next wait) gets `'closed'`. */
  pushClosed(): void {
    this.#deliver(CLOSED);
  }

  /** Drops queued close markers: called after (re)sending on a fresh link. */
  dropClosed(): void {
    this.#items = this.#items.filter((i) => i !== CLOSED);
  }

  /** Next queued item, waiting up to `timeoutMs`. */
  next(timeoutMs: number): Promise<MailboxItem> {
    const queued = this.#items.shift();
    if (queued !== undefined) return Promise.resolve(queued === CLOSED ? 'closed' : queued);
    if (timeoutMs <= 0) return Promise.resolve('timeout');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        resolve('timeout');
      }, timeoutMs);
      this.#waiter = (item) => {
        clearTimeout(timer);
        this.#waiter = undefined;
        resolve(item === CLOSED ? 'closed' : item);
      };
    });
  }

  #deliver(item: Item): void {
    if (this.#waiter) this.#waiter(item);
    else this.#items.push(item);
  }
}
