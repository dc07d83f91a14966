/**
 * A {@link Clock} that moves only when told: `advance(ms)` runs, in time order, every timer that
 * falls due (timers scheduled by those callbacks too, when they fall within the advance). For
 * tests of the modules that take a clock.
 */
import type { Clock, Timer } from './clock.ts';

interface Scheduled {
  at: number;
  seq: number;
  fn: () => void;
}

/** A manual clock starting at `start` (epoch ms). */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Set<Scheduled>();

  constructor(start = 0) {
    this.#now = start;
  }

  /** @inheritdoc */
  now(): number {
    return this.#now;
  }

  /** @inheritdoc */
  setTimeout(fn: () => void, ms: number): Timer {
    const t: Scheduled = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(t);
    return { cancel: () => this.#timers.delete(t) };
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, running due timers in order; awaits a macrotask between timers
   * so promise chains they start settle before the next one runs.
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      const next = [...this.#timers].filter((t) => t.at <= until).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.#now = until;
  }
}
