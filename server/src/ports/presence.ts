/**
 * Presence: where a terminal serial is driven from right now, and which agent session holds it.
 * Async so that a cluster implementation (presence shared between server instances) is a new
 * adapter; the single-instance one is the hub's (hub/local-presence.ts).
 *
 * Claims follow the terminal-ownership rules of docs/protocol/ws.md "Terminal ownership"
 * (hub/terminal-admission.ts): a serial is held only by a session of the agent that owns it in
 * the store, and a claim never takes a serial from another live session.
 */
import type { ErrorCode } from '@posbridge/protocol/errors';
import type { AnnouncedTerminal } from '@posbridge/protocol/ws';

/** One refused serial, as sent in `hub.welcome.refused`. */
export interface RefusedSerial {
  readonly serialNumber: string;
  readonly code: ErrorCode;
  readonly message: string;
}

/** Where a terminal serial stands. */
export type TerminalLookup =
  /** An agent that announced the serial is connected now (and owns it in the store). */
  | { readonly status: 'online'; readonly agentId: string }
  /** Announced before, but its agent is not connected. */
  | { readonly status: 'offline'; readonly agentId: string }
  /** Never announced by any agent. */
  | { readonly status: 'unknown' };

/** One agent connection that claims serials. */
export interface PresenceHolder {
  readonly agentId: string;
  /** Unique per connection. */
  readonly sessionId: string;
}

/** Outcome of {@link Presence.claim}. */
export interface PresenceClaim {
  /** Serials the holder holds now, in announcement order. */
  readonly held: readonly string[];
  /** Of `held`, the serials it did not hold before this claim (what is owed for them is delivered now). */
  readonly added: readonly string[];
  readonly refused: readonly RefusedSerial[];
}

/** Where serials are driven from. Every method may reject with `CodedError('STORE_FAILED')`. */
export interface Presence {
  /** Where `serialNumber` stands right now. */
  locate(serialNumber: string): Promise<TerminalLookup>;
  /**
   * The holder's announcement of `terminals` at `now` (ms since epoch): admits each serial by the
   * ownership rules and makes the holder the only one holding the accepted ones; serials it held
   * and did not announce again are no longer held.
   */
  claim(holder: PresenceHolder, terminals: readonly AnnouncedTerminal[], now: number): Promise<PresenceClaim>;
  /** The holder's connection ended: it holds nothing any more. */
  release(holder: PresenceHolder): Promise<void>;
}
