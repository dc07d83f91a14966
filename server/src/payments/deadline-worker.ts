/**
 * Runs {@link PaymentService.expireDue} every `pollMs`, so a payment whose server-side deadline
 * passed is stopped (aborted on the terminal) and reported `denied` even when nobody calls.
 * Every instance runs one; they share the due payments through deadline leases held by `owner`
 * (ports/leases.ts): a payment claimed by an instance that died is taken over once its lease
 * (`leaseMs`) ran out.
 * The clock is the service's (injected in tests, which call `expireDue` directly).
 */
import type { Logger } from 'pino';
import { defaultLeaseOwner } from '../lease-owner.ts';
import { checkLeaseOwner } from '../ports/leases.ts';
import { DEADLINE_LEASE_MS } from './expire.ts';
import type { PaymentService } from './payment-service.ts';

/** Options of {@link DeadlineWorker}. */
export interface DeadlineWorkerOptions {
  readonly service: PaymentService;
  readonly logger: Logger;
  /** Time between two checks (ms). */
  readonly pollMs: number;
  /**
   * Lease owner of the claims: this instance's id (1..128 characters).
   * @default ../lease-owner.ts `defaultLeaseOwner()` (random per process)
   */
  readonly owner?: string;
  /** How long a claimed deadline is left to this instance (ms, ≥ 1). @default ./expire.ts `DEADLINE_LEASE_MS` */
  readonly leaseMs?: number;
}

/** Polls for due deadlines. */
export class DeadlineWorker {
  readonly #service: PaymentService;
  readonly #log: Logger;
  readonly #pollMs: number;
  readonly #owner: string;
  readonly #leaseMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #busy = false;

  /** @throws TypeError for an empty or overlong `owner`; RangeError for a `leaseMs` below 1. */
  constructor(options: DeadlineWorkerOptions) {
    this.#service = options.service;
    this.#log = options.logger.child({ component: 'deadlines' });
    this.#pollMs = options.pollMs;
    this.#owner = checkLeaseOwner(options.owner ?? defaultLeaseOwner());
    this.#leaseMs = options.leaseMs ?? DEADLINE_LEASE_MS;
    if (!Number.isInteger(this.#leaseMs) || this.#leaseMs < 1) throw new RangeError(`deadline leaseMs must be an integer ≥ 1 (got ${this.#leaseMs})`);
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
      .expireDue({ owner: this.#owner, leaseMs: this.#leaseMs })
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
