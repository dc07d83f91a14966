/**
 * Payment deadlines: a payment whose server-side deadline passed is expired (or aborted on its
 * terminal first). Run by ./deadline-worker.ts on every instance; tests call it with their clock.
 *
 * Instances share the work through deadline leases (ports/leases.ts, ports/payments.ts
 * `claimDuePayments`): each pass claims the due payments no live lease holds, so two instances
 * rarely look at the same payment; the expiry itself is the compare-and-set transition of
 * `applyEvent`, so even then only one of them expires it.
 *
 * @see docs/ppp.md "Cancellation"
 */
import { defaultLeaseOwner } from '../lease-owner.ts';
import { checkLeaseOwner } from '../ports/leases.ts';
import type { PaymentCore } from './payment-core.ts';
import { traceField } from '../observability/trace-log.ts';

/** Payments one claim takes. */
const BATCH = 50;

/** Default length of a deadline lease: far longer than one pass over a batch. */
export const DEADLINE_LEASE_MS = 10_000;

/** Options of {@link expireDue}. */
export interface ExpireDueOptions {
  /** The time deadlines are compared with (ms since epoch). @default the service clock */
  readonly now?: number;
  /** Lease owner of the claims: this instance's id. @default ../lease-owner.ts `defaultLeaseOwner()` */
  readonly owner?: string;
  /** How long a claimed deadline is left to this pass (≥ 1). @default {@link DEADLINE_LEASE_MS} */
  readonly leaseMs?: number;
}

/**
 * Expires every payment whose deadline passed at `now` and that no other instance holds: one
 * still waiting for a terminal ends `expired` (VTEX is told `denied`); one the terminal works on
 * is aborted there first. A payment claimed but not moved (its transition failed) is left to
 * the lease: any instance retries it once the lease ran out.
 * @returns how many payments this call expired.
 */
export async function expireDue(core: PaymentCore, options: ExpireDueOptions = {}): Promise<number> {
  const now = options.now ?? core.now();
  const owner = checkLeaseOwner(options.owner ?? defaultLeaseOwner());
  const leaseMs = options.leaseMs ?? DEADLINE_LEASE_MS;
  let count = 0;
  for (;;) {
    // Claimed rows stay leased, the caller's own included: the next claim goes on with the rest.
    const due = await core.store.claimDuePayments(now, BATCH, leaseMs, owner);
    for (const p of due) {
      const r = await core.applyEvent(p.paymentId, (q) =>
        q.deadlineAt !== null && q.deadlineAt <= now ? { type: 'deadline.passed' } : null,
      );
      if (r.applied && r.payment) {
        count++;
        core.log.info({ paymentId: p.paymentId, ...traceField(p), from: p.status, status: r.payment.status }, 'payment deadline passed');
      }
    }
    if (due.length < BATCH) return count;
  }
}
