/**
 * The in-process wake-up of command delivery: the payment use cases call {@link WakeSignal.wake}
 * after committing command rows, and the hub's delivery listens. It only makes delivery look
 * sooner; a lost wake-up delays a command to the next delivery tick, never loses it (the rows are
 * the truth). In a cluster it is bridged to the other instances over NATS
 * (../adapters/nats/nats-wake.ts); the delivery tick stays the safety net.
 */

/** Fan-out of "rows for these serials were committed". */
export class WakeSignal {
  readonly #listeners = new Set<(serialNumbers: readonly string[]) => void>();

  /** Tells every listener; a listener that throws does not stop the others. */
  wake(serialNumbers: readonly string[]): void {
    for (const listener of this.#listeners) {
      try {
        listener(serialNumbers);
      } catch {
        // A wake-up is best effort by design (see the module comment).
      }
    }
  }

  /** Adds a listener. @returns its removal. */
  subscribe(listener: (serialNumbers: readonly string[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
