/**
 * Leases: how several server instances share the background work of one database (the callback
 * outbox, ./callback-outbox.ts; payment deadlines, ./payments.ts) without doing it twice.
 *
 * The rule (docs/architecture.md "Work shared between instances"):
 * - A worker claims rows with a lease: `owner` (its instance id) and `until` (ms since epoch,
 *   the claim's `now + leaseMs`). A claim takes only rows with no lease or whose lease has run
 *   out (`until ≤ now`), so two claims never take the same row while its lease holds; a row
 *   whose holder died is taken over once its lease runs out.
 * - A lease is identified by the pair (owner, until), not by the owner alone: the same instance
 *   may claim a row again after its own lease ran out, and the stale holder must lose then too.
 * - Settling a claimed row (callbacks) is a compare-and-set on that pair: it applies while the
 *   row still carries the lease, even after `until` if nobody claimed it again meanwhile, and
 *   otherwise returns false and writes nothing. A settle ends the lease.
 * - The lease only keeps instances from doing the same work twice; correctness of a state change
 *   still comes from its own compare-and-set (a payment's expiry is a versioned transition).
 *
 * Times are ms since epoch.
 */

/** A claim on a row: who holds it and until when. */
export interface Lease {
  /** The claiming instance's id (1..{@link MAX_LEASE_OWNER_LENGTH} characters). */
  readonly owner: string;
  /** ms since epoch when the lease runs out and another instance may claim the row. */
  readonly until: number;
}

/** Longest lease owner a store must keep (an instance id). */
export const MAX_LEASE_OWNER_LENGTH = 128;

/**
 * Checks a lease owner before it is handed to a store.
 * @throws TypeError when `owner` is empty or longer than {@link MAX_LEASE_OWNER_LENGTH}.
 */
export function checkLeaseOwner(owner: string): string {
  if (owner.length === 0 || owner.length > MAX_LEASE_OWNER_LENGTH) {
    throw new TypeError(`a lease owner has 1 to ${MAX_LEASE_OWNER_LENGTH} characters (got ${owner.length})`);
  }
  return owner;
}
