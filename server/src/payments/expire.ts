/**
 * Payment deadlines: a payment whose server-side deadline passed is expired (or aborted on its
 * terminal first). Run by ./deadline-worker.ts; tests call it with their clock.
 *
 * @see docs/ppp.md "Cancellation"
 */
import type { PaymentCore } from './payment-core.ts';

/**
 * Expires every payment whose deadline passed at `now`: one still waiting for a terminal ends
 * `expired` (VTEX is told `denied`); one the terminal works on is aborted there first.
 * @returns how many payments were expired.
 */
export async function expireDue(core: PaymentCore, now: number = core.now()): Promise<number> {
  let count = 0;
  for (;;) {
    const due = await core.store.listDuePayments(now, 50);
    if (due.length === 0) return count;
    for (const p of due) {
      const r = await core.applyEvent(p.paymentId, (q) =>
        q.deadlineAt !== null && q.deadlineAt <= now ? { type: 'deadline.passed' } : null,
      );
      if (r.applied && r.payment) {
        count++;
        core.log.info({ paymentId: p.paymentId, from: p.status, status: r.payment.status }, 'payment deadline passed');
      }
    }
    if (due.length < 50) return count;
  }
}
