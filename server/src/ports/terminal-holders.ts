/**
 * Presence shared between the server instances of a cluster: which agent connection (session)
 * each instance holds, and which session holds each terminal serial. The instance holding an
 * agent's socket holds its connection and the serials admitted to it; the ownership rules
 * themselves (who may have a serial at all) are the directory's (hub/terminal-admission.ts),
 * applied before a claim reaches this port.
 *
 * Rules every adapter keeps (hub/cluster-presence.ts relies on them):
 * - An agent has at most one connection row and a serial at most one holder row.
 * - Liveness: a row is live while its instance's lease runs (./instances.ts); rows of a dead
 *   instance are taken over by any claim, rows of a deregistered instance are gone.
 * - Newest connection wins: each session gets an increasing connection number at its first claim;
 *   a claim by a newer session of the same agent takes over the older one's connection and
 *   serials; a claim by an older one holds nothing (`superseded`).
 * - A serial held by a live session of another agent is refused, unless that agent no longer owns
 *   it in the directory (an administrator or a confirmed move gave it to the claimer: the old hold
 *   is stale and is taken over).
 *
 * Times are ms since epoch. Every method may reject with `CodedError('STORE_FAILED')`.
 */

/** One agent connection, as the cluster knows it. */
export interface HolderSession {
  readonly agentId: string;
  readonly sessionId: string;
  /** The instance holding its socket. */
  readonly instanceId: string;
}

/** Outcome of {@link TerminalHolders.claim}. */
export interface HoldersClaim {
  /** True when a newer session of the agent holds its connection: this one holds nothing. */
  readonly superseded: boolean;
  /** Of the claimed serials, those the session holds now (in the order given). */
  readonly held: readonly string[];
  /** Of the claimed serials, those held by a live session of another agent that still owns them. */
  readonly refused: readonly string[];
  /**
   * Sessions on other instances (or older ones on this instance) this claim took something from:
   * the agent's previous connection, or a serial whose hold was stale. Their instance closes the
   * replaced connection and drops the lost serials at its next reconcile (or at once when told).
   */
  readonly takenOver: readonly HolderSession[];
}

/** What one instance holds, as the shared rows say ({@link TerminalHolders.heldBy}). */
export interface InstanceHoldings {
  /** sessionId → the serials its rows hold. Sessions holding their connection but no serial map to []. */
  readonly sessions: ReadonlyMap<string, readonly string[]>;
}

/** Where a serial is held in the cluster. */
export interface SerialHolder extends HolderSession {
  /** When its session claimed it, ms since epoch. */
  readonly claimedAt: number;
}

/** The shared presence rows. */
export interface TerminalHolders {
  /**
   * The session's announcement: registers its connection (first claim) and holds exactly
   * `serialNumbers` (at most 256, already admitted by the directory rules), releasing its other
   * rows. `ownerOf` reads a serial's owner in the directory (asked only for a serial held by a
   * live session of another agent).
   */
  claim(
    session: HolderSession,
    serialNumbers: readonly string[],
    now: number,
    ownerOf: (serialNumber: string) => Promise<string | undefined>,
  ): Promise<HoldersClaim>;
  /** The live holder of `serialNumber` at `now`, if any. */
  locate(serialNumber: string, now: number): Promise<SerialHolder | undefined>;
  /** True when `agentId` has a connection on a live instance other than `exceptInstanceId` at `now`. */
  isConnectedElsewhere(agentId: string, exceptInstanceId: string, now: number): Promise<boolean>;
  /** Removes the rows of a session (its connection closed). Idempotent. */
  release(sessionId: string): Promise<void>;
  /** What the rows say `instanceId` holds. */
  heldBy(instanceId: string): Promise<InstanceHoldings>;
}
