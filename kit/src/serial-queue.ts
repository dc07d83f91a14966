/**
 * A serial promise queue: tasks run one at a time, in the order they were queued (FIFO mutual
 * exclusion over one resource: a terminal's serial line, a SQLite connection, a socket's frames,
 * a pty's cable hooks).
 *
 * A failing task rejects only its own promise: the queue goes on with the next task as if the
 * failure had been a success, so one bad step never poisons the ones queued after it. An optional
 * bound refuses new tasks while too many are waiting or running, so an input that queues faster
 * than the resource drains cannot grow memory without limit.
 *
 * Replaces the `tail = tail.then(fn, fn); tail = run.catch(() => undefined)` idiom that each
 * package had written for itself.
 */

/** Thrown (as the rejection of {@link SerialQueue.run}) when the queue already holds its bound. */
export class QueueFullError extends Error {
  /** The bound that was reached: tasks waiting or running. */
  readonly limit: number;

  constructor(limit: number) {
    super(`serial queue is full (${limit} tasks waiting or running)`);
    this.name = 'QueueFullError';
    this.limit = limit;
  }
}

/** Options of {@link SerialQueue}. */
export interface SerialQueueOptions {
  /**
   * Most tasks waiting or running at once; {@link SerialQueue.run} rejects with
   * {@link QueueFullError} beyond it (the task is not run). A positive integer. @default unbounded
   */
  readonly maxPending?: number;
  /**
   * Observes every task failure (e.g. to log it once, where the caller may not). Called before the
   * task's own promise rejects; it does not change that rejection. Must not throw.
   */
  readonly onError?: (err: unknown) => void;
}

/** Runs asynchronous tasks one after another, in queue order; see the module header. */
export class SerialQueue {
  readonly #maxPending: number;
  readonly #onError: ((err: unknown) => void) | undefined;
  /** Settles once the last queued task has settled; never rejects. */
  #tail: Promise<void> = Promise.resolve();
  #pending = 0;

  /** @throws RangeError when `maxPending` is not a positive integer. */
  constructor(options: SerialQueueOptions = {}) {
    const max = options.maxPending ?? Number.POSITIVE_INFINITY;
    if (max !== Number.POSITIVE_INFINITY && !(Number.isInteger(max) && max > 0)) {
      throw new RangeError(`maxPending must be a positive integer, got ${max}`);
    }
    this.#maxPending = max;
    this.#onError = options.onError;
  }

  /** Tasks queued and not yet settled (the running one included). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues `task`; it starts once every task queued before it has settled.
   * @returns the task's own result or rejection.
   * @throws QueueFullError (as a rejection) when {@link SerialQueueOptions.maxPending} tasks are pending.
   */
  run<T>(task: () => T | Promise<T>): Promise<T> {
    if (this.#pending >= this.#maxPending) return Promise.reject(new QueueFullError(this.#maxPending));
    this.#pending += 1;
    const result = this.#tail.then(task).finally(() => {
      this.#pending -= 1;
    });
    this.#tail = result.then(
      () => undefined,
      (err: unknown) => this.#onError?.(err),
    );
    return result;
  }

  /** Resolves once every task queued before this call has settled (never rejects). */
  idle(): Promise<void> {
    return this.#tail;
  }
}
