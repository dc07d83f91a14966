/**
 * Runs {@link PaymentService.expireDue} every `pollMs`, so a payment whose server-side deadline
 * passed is stopped (aborted on the terminal) and reported `denied` even when nobody calls.
 * The clock is the service's (injected in tests, which call `expireDue` directly).
 */
import type { Logger } from 'pino';
import type { PaymentService } from './payment-service.ts';

/** Polls for due deadlines. */
export class DeadlineWorker {
  readonly #service: PaymentService;
  readonly #log: Logger;
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #busy = false;

  constructor(options: { service: PaymentService; logger: Logger; pollMs: number }) {
    this.#service = options.service;
    this.#log = options.logger.child({ component: 'deadlines' });
    this.#pollMs = options.pollMs;
  }

  /** Starts polling (and checks once at once: deadlines may have passed while the server was down). */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.tick(), this.#pollMs);
    this.#timer.unref();
    this.tick();
  }

  /** One check, unless one is already running. */
  tick(): void {
    if (this.#busy) return;
    this.#busy = true;
    this.#running = this.#service
      .expireDue()
      .then(
        () => undefined,
        (err: unknown) => this.#log.error({ err }, 'deadline check failed'),
      )
      .finally(() => {
        this.#busy = false;
      });
  }

  /** Stops polling and waits for a running check. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
