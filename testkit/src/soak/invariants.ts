/**
 * The soak's invariants, checked once the run is over, as a pure function of what each side
 * recorded: what VTEX saw (polls and callbacks), what the server stored (payments, callback
 * outbox), what the agent journaled (which terminal reference belongs to which payment) and what
 * the terminal did (the simulator's per-reference sale counts and its frame log).
 */

/** A final status as VTEX sees it. */
export type VtexFinal = 'approved' | 'denied';

/** One payment of the run, from the gateway's side and the server's store. */
export interface PaymentRecord {
  paymentId: string;
  /** Position in the plan (for messages). */
  index: number;
  /** Last status the gateway's `POST /payments` polls answered (`undefined` when never final). */
  polled: string;
  /** Server store state at the end (`approved`, `denied`, `unknown`, …), null when missing. */
  serverStatus: string | null;
  /** The server's store went through `unknown` for it (an outcome the terminal could not confirm at first). */
  passedUnknown: boolean;
}

/** One callback attempt the fake gateway received. */
export interface CallbackRecord {
  paymentId: string;
  /** `status` of the callback body. */
  status: string;
  /** What the endpoint answered: HTTP status or `hang`. */
  answer: number | 'hang';
}

/** One callback outbox row of the server. */
export interface OutboxRecord {
  paymentId: string;
  status: string;
  attempts: number;
}

/** Sale counts of one terminal reference (the simulator's `sales().byReference`). */
export interface ReferenceSales {
  finals: number;
  charges: number;
  reversals: number;
}

/** Everything the checker needs. */
export interface SoakObservations {
  payments: PaymentRecord[];
  callbacks: CallbackRecord[];
  outbox: OutboxRecord[];
  /** Agent journal: terminal reference (rid) → paymentId, for every sale ever journaled. */
  referenceOwner: Map<string, string>;
  /** Simulator, every terminal: reference → counts. */
  sales: Map<string, ReferenceSales>;
  /** References of every SALE request the terminals received (frame log). */
  saleReferencesOnWire: Set<string>;
}

/** Counts of the run. */
export interface SoakCounts {
  payments: number;
  approved: number;
  denied: number;
  /** Passed through `unknown` and then resolved to a final state. */
  unknownResolved: number;
  /** Callback attempts received (any answer). */
  callbackAttempts: number;
  /** Callbacks answered 2xx. */
  callbacksDelivered: number;
  /** Payments whose callback was delivered more than once (at-least-once delivery; allowed when they agree). */
  duplicateCallbacks: number;
  /** Sales the terminals completed (approved, declined or aborted). */
  terminalSales: number;
  /** Approved sales on the terminals. */
  terminalCharges: number;
  /** Payments charged more than once (must be 0). */
  duplicateCharges: number;
}

/** Result of {@link checkInvariants}. */
export interface InvariantReport {
  counts: SoakCounts;
  /** One readable line per violation; empty when every invariant holds. */
  violations: string[];
}

const isFinal = (s: string): s is VtexFinal => s === 'approved' || s === 'denied';
/** What VTEX must see for a server state. */
const vtexStatusOf = (server: string | null): string | null =>
  server === 'approved' ? 'approved' : server === 'denied' || server === 'cancelled' || server === 'expired' ? 'denied' : null;
const delivered = (c: CallbackRecord) => typeof c.answer === 'number' && c.answer >= 200 && c.answer <= 299;

/**
 * Checks:
 * 1. every payment reached a final state for VTEX, and the server's store agrees (an `unknown`
 *    left unresolved is a violation);
 * 2. no callback lost: each payment has a callback answered 2xx, every callback for it carries
 *    the final status, no callback names a payment of no one, no outbox row is left undelivered;
 * 3. no double charge: the terminal's approved sales over all references of a payment are at
 *    most one;
 * 4. no terminal sale without a matching final: a payment with a net charge (charges −
 *    reversals) is `approved`, one without is `denied`;
 * 5. no orphan sale: every reference the terminal saw in a SALE, or counted a sale for, belongs
 *    to a payment the agent journaled.
 */
export function checkInvariants(o: SoakObservations): InvariantReport {
  const violations: string[] = [];
  const byPayment = new Map(o.payments.map((p) => [p.paymentId, p]));
  const refsOf = new Map<string, string[]>();
  for (const [ref, paymentId] of o.referenceOwner) refsOf.set(paymentId, [...(refsOf.get(paymentId) ?? []), ref]);
  const callbacksOf = new Map<string, CallbackRecord[]>();
  for (const c of o.callbacks) callbacksOf.set(c.paymentId, [...(callbacksOf.get(c.paymentId) ?? []), c]);
  const counts: SoakCounts = {
    payments: o.payments.length,
    approved: 0,
    denied: 0,
    unknownResolved: 0,
    callbackAttempts: o.callbacks.length,
    callbacksDelivered: o.callbacks.filter(delivered).length,
    duplicateCallbacks: 0,
    terminalSales: [...o.sales.values()].reduce((n, s) => n + s.finals, 0),
    terminalCharges: [...o.sales.values()].reduce((n, s) => n + s.charges, 0),
    duplicateCharges: 0,
  };

  for (const p of o.payments) {
    const name = `payment #${p.index} ${p.paymentId}`;
    // 1. final state, and the store agrees.
    if (!isFinal(p.polled)) {
      violations.push(`${name}: never reached a final state (VTEX saw ${p.polled}, server state ${p.serverStatus ?? 'missing'})`);
    } else {
      counts[p.polled]++;
      if (p.passedUnknown) counts.unknownResolved++;
      const expected = vtexStatusOf(p.serverStatus);
      if (expected !== p.polled) violations.push(`${name}: VTEX saw ${p.polled} but the server's state is ${p.serverStatus ?? 'missing'}`);
    }
    // 2. callbacks.
    const cbs = callbacksOf.get(p.paymentId) ?? [];
    const ok = cbs.filter(delivered);
    if (ok.length === 0) violations.push(`${name}: callback lost (${cbs.length} attempts, none answered 2xx)`);
    if (ok.length > 1) counts.duplicateCallbacks++;
    for (const c of cbs) {
      if (isFinal(p.polled) && c.status !== p.polled) {
        violations.push(`${name}: a callback said ${c.status} but the payment is ${p.polled}`);
        break;
      }
    }
    // 3 and 4. charges on the terminal.
    const refs = refsOf.get(p.paymentId) ?? [];
    let charges = 0;
    let reversals = 0;
    for (const ref of refs) {
      const s = o.sales.get(ref);
      charges += s?.charges ?? 0;
      reversals += s?.reversals ?? 0;
    }
    if (charges > 1) {
      counts.duplicateCharges++;
      violations.push(`${name}: charged ${charges} times on the terminal (references ${refs.join(', ')})`);
    }
    const net = charges - reversals;
    if (p.polled === 'approved' && net !== 1) violations.push(`${name}: VTEX was told approved but the terminal's net charge is ${net}`);
    if (p.polled === 'denied' && net !== 0) violations.push(`${name}: VTEX was told denied but the terminal's net charge is ${net}`);
  }

  for (const [paymentId, cbs] of callbacksOf) {
    if (!byPayment.has(paymentId)) violations.push(`callback for a payment the run never made: ${paymentId} (${cbs.length} attempts)`);
  }
  for (const row of o.outbox) {
    if (row.status !== 'delivered') violations.push(`server callback outbox row of ${row.paymentId} is ${row.status} after ${row.attempts} attempts`);
  }
  // 5. orphans.
  for (const ref of new Set([...o.sales.keys(), ...o.saleReferencesOnWire])) {
    const owner = o.referenceOwner.get(ref);
    if (owner === undefined) violations.push(`terminal saw a sale with reference ${ref} that no journaled payment owns`);
    else if (!byPayment.has(owner)) violations.push(`terminal sale ${ref} belongs to ${owner}, a payment the run never made`);
  }
  return { counts, violations };
}
