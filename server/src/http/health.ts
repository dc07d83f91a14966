/**
 * Liveness and readiness (`/healthz`, `/readyz`), for a load balancer in front of one or several
 * instances (docs/deployment.md "Load balancer"):
 *
 * - `/healthz` — liveness only: the process answers. `{status:"ok", instanceId, agentsConnected}`
 *   (the agent sockets this instance holds); never touches the store, so a database outage does
 *   not make an orchestrator restart every instance.
 * - `/readyz` — may this instance take traffic? `{status, instanceId, agentsConnected, components}`:
 *   `ready` (200) when serving and the store answers; `degraded` (200) when the bus is down
 *   (payments still complete: delivery falls back to the sweep); `unready` (503) when the store is
 *   down, or the server is starting or closing.
 *
 * The store check is a ping bounded by a time-out and cached, so a load balancer polling readyz
 * (from several places, often) costs the database at most one ping per cache period.
 */
import type { Logger } from 'pino';
import type { RequestHandler } from 'express';
import { isCodedError } from '@posbridge/protocol/errors';
import type { BusHealth, BusState } from '../ports/bus-health.ts';
import type { PaymentStore } from '../ports/index.ts';

/** The store's part of readiness. */
export interface StoreComponent {
  readonly status: 'up' | 'down';
  /** The adapter kind (`POSBRIDGE_STORE`): `sqlite`, `memory`, `postgres`, …. */
  readonly kind: string;
  /** How long the last ping took, ms (when up). */
  readonly latencyMs?: number;
  /** Why it is down: `timeout` or the error code (the adapter's message is logged, not published). */
  readonly error?: string;
}

/** Where the server is in its life: built but not started, serving, or closing. */
export type ServerPhase = 'starting' | 'serving' | 'closing';

/** The `/readyz` body. */
export interface ReadinessBody {
  readonly status: 'ready' | 'degraded' | 'unready';
  readonly instanceId: string;
  readonly agentsConnected: number;
  readonly components: {
    readonly server: { readonly status: ServerPhase };
    readonly store: StoreComponent;
    readonly bus: { readonly status: BusState };
  };
}

/** Options of {@link StoreProbe}. */
export interface StoreProbeOptions {
  readonly store: Pick<PaymentStore, 'getMeta'> & { ping?: PaymentStore['ping'] };
  /** Reported as `kind`. */
  readonly kind: string;
  readonly logger: Logger;
  /** A ping not answered within this long counts as down, ms. @default 1000 */
  readonly timeoutMs?: number;
  /** A result is reused for this long, ms. @default 1000 */
  readonly cacheMs?: number;
  /** Monotonic clock, ms (latency and cache age). @default performance.now */
  readonly monotonicNow?: () => number;
}

/** Key read by the ping of a store without `ping()`: a primary-key lookup that finds nothing. */
const PROBE_META_KEY = 'readiness-probe';

/**
 * The store check of readiness: `store.ping()` (or a primary-key read), bounded by `timeoutMs`,
 * one at a time (concurrent checks share the ping in flight), its result cached `cacheMs`. Logs
 * a warn line when the store goes down and an info line when it is back, not on every check.
 */
export class StoreProbe {
  readonly #options: Required<Omit<StoreProbeOptions, 'store'>> & Pick<StoreProbeOptions, 'store'>;
  #last: { readonly at: number; readonly result: StoreComponent } | undefined;
  #inFlight: Promise<StoreComponent> | undefined;

  constructor(options: StoreProbeOptions) {
    this.#options = { timeoutMs: 1000, cacheMs: 1000, monotonicNow: () => performance.now(), ...options };
  }

  /** The store kind it reports. */
  get kind(): string {
    return this.#options.kind;
  }

  /** The last result, if any (no ping). */
  get last(): StoreComponent | undefined {
    return this.#last?.result;
  }

  /** The store's state: the cached result when fresh, else a new bounded ping. Never rejects. */
  check(): Promise<StoreComponent> {
    const { cacheMs, monotonicNow } = this.#options;
    if (this.#last !== undefined && monotonicNow() - this.#last.at < cacheMs) return Promise.resolve(this.#last.result);
    this.#inFlight ??= this.#probe().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  async #probe(): Promise<StoreComponent> {
    const { store, kind, timeoutMs, monotonicNow, logger } = this.#options;
    const started = monotonicNow();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let result: StoreComponent;
    let reason = '';
    try {
      const ping = store.ping ? store.ping() : store.getMeta(PROBE_META_KEY).then(() => undefined);
      const outcome = await Promise.race([ping.then(() => 'answered' as const), timedOut]);
      if (outcome === 'timeout') {
        // A late rejection of the abandoned ping must not become an unhandled one.
        ping.catch(() => undefined);
        reason = `no answer within ${timeoutMs} ms`;
        result = { status: 'down', kind, error: 'timeout' };
      } else {
        result = { status: 'up', kind, latencyMs: Math.round((monotonicNow() - started) * 10) / 10 };
      }
    } catch (err) {
      reason = err instanceof Error ? err.message : String(err);
      result = { status: 'down', kind, error: isCodedError(err) ? err.code : 'error' };
    } finally {
      clearTimeout(timer);
    }
    const before = this.#last?.result.status;
    if (result.status === 'down' && before !== 'down') logger.warn({ store: kind, error: result.error, reason: reason.slice(0, 500) }, 'store down: readiness unready');
    if (result.status === 'up' && before === 'down') logger.info({ store: kind, latencyMs: result.latencyMs }, 'store up again: readiness restored');
    this.#last = { at: monotonicNow(), result };
    return result;
  }
}

/** Dependencies of {@link healthRoutes}. */
export interface HealthDeps {
  readonly instanceId: string;
  /** Agent sockets this instance holds. */
  readonly agents: { readonly sessionCount: number };
  readonly probe: StoreProbe;
  readonly bus: BusHealth;
  readonly phase: () => ServerPhase;
}

/**
 * The readiness of this instance now (see the module doc for the rules). While closing the store
 * is not pinged (it is being closed): its last known state is reported.
 */
export async function readinessOf(deps: HealthDeps): Promise<{ httpStatus: 200 | 503; body: ReadinessBody }> {
  const phase = deps.phase();
  const store =
    phase === 'closing' ? (deps.probe.last ?? { status: 'down' as const, kind: deps.probe.kind, error: 'closing' }) : await deps.probe.check();
  let bus: BusState;
  try {
    bus = deps.bus.state();
  } catch {
    bus = 'down';
  }
  const status = phase !== 'serving' || store.status === 'down' ? 'unready' : bus === 'down' ? 'degraded' : 'ready';
  return {
    httpStatus: status === 'unready' ? 503 : 200,
    body: {
      status,
      instanceId: deps.instanceId,
      agentsConnected: deps.agents.sessionCount,
      components: { server: { status: phase }, store, bus: { status: bus } },
    },
  };
}

/** The `/healthz` and `/readyz` handlers (JSON, `Cache-Control: no-store`). */
export function healthRoutes(deps: HealthDeps): { healthz: RequestHandler; readyz: RequestHandler } {
  return {
    healthz: (_req, res) => {
      res.status(200).setHeader('Cache-Control', 'no-store').json({ status: 'ok', instanceId: deps.instanceId, agentsConnected: deps.agents.sessionCount });
    },
    readyz: async (_req, res) => {
      const { httpStatus, body } = await readinessOf(deps);
      res.status(httpStatus).setHeader('Cache-Control', 'no-store').json(body);
    },
  };
}
