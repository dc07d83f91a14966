/**
 * The health of the bus between server instances (NATS in a cluster), as readiness (`/readyz`)
 * reports it. The bus only makes cross-instance delivery prompt; correctness comes from the
 * database, so a bus that is down degrades readiness and never stops payments
 * (docs/deployment.md "What each component's loss does").
 */

/** `up`: connected; `down`: configured but not connected now; `none`: no bus configured (one instance). */
export type BusState = 'up' | 'down' | 'none';

/** What readiness asks the bus adapter: its state now, synchronously (the adapter tracks its connection). */
export interface BusHealth {
  /** The state now; must not throw or block. */
  state(): BusState;
}

/** The bus health of a server without a bus (`POSBRIDGE_NATS_URL` unset): always `none`. */
export const NO_BUS: BusHealth = Object.freeze({ state: (): BusState => 'none' });
