/**
 * The one polling wait of the suites: `waitFor(check, { timeoutMs, intervalMs, message })`
 * calls `check` until it returns something other than `undefined`, `null` or `false`, and
 * resolves with that value; after `timeoutMs` it rejects naming `message`.
 *
 * Use it for an observable condition (a row, a log line, a received message); prefer a promise
 * of the event itself when the code offers one. It waits in real time (a `setTimeout` between
 * checks), so it is for suites whose subject is real I/O; a test on logic drives the injected
 * clock or vitest's fake timers instead.
 */

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Longest wait, ms. @default 5000 */
  readonly timeoutMs?: number;
  /** Pause between two checks, ms. @default 10 */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout error ("the callback of P1"). @default "condition" */
  readonly message?: string;
  /**
   * Treat a `check` that throws like one that returned nothing yet (poll again; the last error
   * becomes the timeout's `cause`). Off by default: a failed assertion inside `check` fails the
   * wait at once, so a wait never hides an assertion.
   * @default false
   */
  readonly retryErrors?: boolean;
}

/** Thrown by {@link waitFor} when the condition did not hold within `timeoutMs`. */
export class WaitForTimeoutError extends Error {
  constructor(message: string, timeoutMs: number, cause?: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${message}`, cause === undefined ? undefined : { cause });
    this.name = 'WaitForTimeoutError';
  }
}

/**
 * Polls `check` until it yields a value (not `undefined`, `null` or `false`) and resolves with it.
 * @throws {WaitForTimeoutError} when `timeoutMs` passes first.
 * @throws whatever `check` throws, unless `retryErrors` is set.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      if (options.retryErrors !== true) throw err;
      lastError = err;
    }
    if (Date.now() > deadline) throw new WaitForTimeoutError(options.message ?? 'condition', timeoutMs, lastError);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
