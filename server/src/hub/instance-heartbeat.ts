/**
 * The heartbeat of one server instance in the instance registry (ports/instances.ts): registers
 * at {@link InstanceHeartbeat.start}, renews the lease every `intervalMs` (less than a third of
 * the lease, so two missed beats still leave it live), runs `onBeat` after each renewal (the
 * presence's reconcile, ./cluster-presence.ts), and deregisters at {@link InstanceHeartbeat.stop}
 * (which removes what the instance held; a crashed instance's rows die with its lease instead).
 *
 * Logged once per occurrence, not per beat: the first failed heartbeat (`warn`) and the recovery
 * (`info`); the lease running out while the heartbeats fail (`error`, then `onExpired`: other
 * instances may take over its agents now); the registration lost for good (`error`, then `onLost`: the instance must
 * stop claiming — another process registered the same id, or the row was removed).
 */
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { InstanceMeta, InstanceRegistry } from '../ports/instances.ts';

/** The timer functions the heartbeat uses (injected by tests). */
export interface HeartbeatTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const SYSTEM_TIMERS: HeartbeatTimers = {
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms);
    t.unref();
    return t;
  },
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Options of {@link InstanceHeartbeat}. */
export interface InstanceHeartbeatOptions {
  readonly registry: InstanceRegistry;
  readonly instanceId: string;
  /** Length of the lease each heartbeat grants, ms. */
  readonly leaseMs: number;
  /** Time between heartbeats, ms; must be less than `leaseMs / 3`. */
  readonly intervalMs: number;
  /** When the process started, ms since epoch. */
  readonly startedAt: number;
  readonly meta?: InstanceMeta;
  readonly logger: Logger;
  /** Clock, ms since epoch. */
  readonly now: () => number;
  /** @default setInterval / clearInterval (unref'd) */
  readonly timers?: HeartbeatTimers;
  /** Runs after each renewed lease; a rejection is logged and retried at the next beat. */
  readonly onBeat?: () => Promise<unknown>;
  /** The registration was lost for good (called once). Never throws. */
  readonly onLost?: () => void;
  /**
   * The lease ran out while the heartbeats failed (called once per outage): other instances may
   * take over this one's agents now. Never throws.
   */
  readonly onExpired?: () => void;
}

/** Keeps one instance's lease alive. */
export class InstanceHeartbeat {
  readonly #o: InstanceHeartbeatOptions;
  readonly #log: Logger;
  readonly #timers: HeartbeatTimers;
  #timer: unknown;
  #beating: Promise<void> | undefined;
  #leaseUntil = 0;
  #failing = false;
  #expiredLogged = false;
  #lost = false;
  #stopped = false;
  #registered = false;

  /** @throws CodedError `CFG_INVALID` when `intervalMs` is not below `leaseMs / 3`. */
  constructor(options: InstanceHeartbeatOptions) {
    if (!(options.intervalMs > 0 && options.intervalMs * 3 < options.leaseMs)) {
      throw new CodedError('CFG_INVALID', `instance heartbeat interval (${options.intervalMs} ms) must be positive and below a third of the lease (${options.leaseMs} ms)`);
    }
    this.#o = options;
    this.#log = options.logger.child({ component: 'cluster', instanceId: options.instanceId });
    this.#timers = options.timers ?? SYSTEM_TIMERS;
  }

  /** True once the registration was lost for good. */
  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Registers the instance and starts the beats.
   * @throws CodedError `STORE_FAILED` / `CFG_INVALID` from the registry (nothing started).
   */
  async start(): Promise<void> {
    if (this.#timer !== undefined || this.#stopped) return;
    const now = this.#o.now();
    await this.#o.registry.register({
      instanceId: this.#o.instanceId,
      startedAt: this.#o.startedAt,
      now,
      leaseMs: this.#o.leaseMs,
      ...(this.#o.meta ? { meta: this.#o.meta } : {}),
    });
    this.#registered = true;
    this.#leaseUntil = now + this.#o.leaseMs;
    this.#log.info({ leaseMs: this.#o.leaseMs, intervalMs: this.#o.intervalMs }, 'instance registered');
    this.#timer = this.#timers.setInterval(() => void this.beat(), this.#o.intervalMs);
  }

  /**
   * One heartbeat now (the timer calls it; tests too). A beat still running is not overlapped:
   * the call returns that beat. Never rejects.
   */
  beat(): Promise<void> {
    this.#beating ??= this.#beat().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #beat(): Promise<void> {
    if (this.#lost || this.#stopped) return;
    const now = this.#o.now();
    let renewed: boolean;
    try {
      renewed = await this.#o.registry.heartbeat(this.#o.instanceId, now, this.#o.leaseMs);
    } catch (err) {
      if (!this.#failing) this.#log.warn({ err }, 'instance heartbeat failed; retrying at every beat');
      this.#failing = true;
      if (now >= this.#leaseUntil && !this.#expiredLogged) {
        this.#expiredLogged = true;
        this.#log.error({ leaseUntil: this.#leaseUntil }, 'instance lease expired: other instances may take over its agents and terminals');
        try {
          this.#o.onExpired?.();
        } catch (err) {
          this.#log.warn({ err }, 'onExpired failed');
        }
      }
      return;
    }
    if (!renewed) {
      this.#lost = true;
      this.#log.error('instance registration lost (removed, or the id registered by another process): this instance stops claiming terminals');
      try {
        this.#o.onLost?.();
      } catch (err) {
        this.#log.warn({ err }, 'onLost failed');
      }
      return;
    }
    if (this.#failing) this.#log.info(this.#expiredLogged ? 'instance heartbeat restored; the lease had expired meanwhile' : 'instance heartbeat restored');
    this.#failing = false;
    this.#expiredLogged = false;
    this.#leaseUntil = now + this.#o.leaseMs;
    if (this.#o.onBeat === undefined) return;
    try {
      await this.#o.onBeat();
    } catch (err) {
      this.#log.warn({ err }, 'presence reconcile after the heartbeat failed; retried at the next beat');
    }
  }

  /**
   * Stops the beats, waits for one in flight and deregisters (removing what the instance held).
   * Idempotent. @throws CodedError `STORE_FAILED` when the registry cannot be reached (the rows
   * then expire with the lease).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#timers.clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    if (!this.#registered || this.#lost) return;
    await this.#o.registry.deregister(this.#o.instanceId);
    this.#log.info('instance deregistered');
  }
}
