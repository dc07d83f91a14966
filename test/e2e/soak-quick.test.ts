/**
 * The soak (scripts/soak.ts, docs/reliability.md) in small: its invariant checker catches each
 * kind of violation on hand-made records, its plan is reproducible by seed and covers every
 * fault kind, and a 16-payment run on real parts (server and agent child processes, pty
 * simulator, TCP proxy) with every fault kind injected keeps every invariant. The CI's soak
 * step runs the bigger `npm run soak -- --quick`.
 * @requires-program socat
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants, type SoakObservations, CLUSTER_FAULT_KINDS, FAULT_KINDS, countPlannedFaults, planSoak, runSoak } from '@posbridge/testkit/soak';

/** Two payments that went right: P1 approved (charged once as r1), P2 denied (r2, not charged). */
function healthy(): SoakObservations {
  return {
    payments: [
      { paymentId: 'P1', index: 0, polled: 'approved', serverStatus: 'approved', passedUnknown: true },
      { paymentId: 'P2', index: 1, polled: 'denied', serverStatus: 'denied', passedUnknown: false },
    ],
    callbacks: [
      { paymentId: 'P1', status: 'approved', answer: 503 },
      { paymentId: 'P1', status: 'approved', answer: 200 },
      { paymentId: 'P2', status: 'denied', answer: 'hang' },
      { paymentId: 'P2', status: 'denied', answer: 200 },
    ],
    outbox: [
      { paymentId: 'P1', status: 'delivered', attempts: 2 },
      { paymentId: 'P2', status: 'delivered', attempts: 2 },
    ],
    referenceOwner: new Map([
      ['r1', 'P1'],
      ['r2', 'P2'],
    ]),
    sales: new Map([
      ['r1', { finals: 1, charges: 1, reversals: 0 }],
      ['r2', { finals: 1, charges: 0, reversals: 0 }],
    ]),
    saleReferencesOnWire: new Set(['r1', 'r2']),
  };
}

describe('soak invariant checker', () => {
  it('passes a healthy run and counts it', () => {
    const r = checkInvariants(healthy());
    expect(r.violations).toEqual([]);
    expect(r.counts).toMatchObject({ payments: 2, approved: 1, denied: 1, unknownResolved: 1, callbackAttempts: 4, callbacksDelivered: 2, duplicateCharges: 0 });
  });

  it.each([
    ['a payment never final', (o: SoakObservations) => (o.payments[0]!.polled = 'undefined'), /never reached a final state/],
    ['an unknown left unresolved on the server', (o: SoakObservations) => (o.payments[0]!.serverStatus = 'unknown'), /server's state is unknown/],
    ['a lost callback', (o: SoakObservations) => (o.callbacks = o.callbacks.filter((c) => !(c.paymentId === 'P2' && c.answer === 200))), /P2: callback lost/],
    ['a callback with the wrong status', (o: SoakObservations) => (o.callbacks[1]!.status = 'denied'), /callback said denied/],
    ['an undelivered outbox row', (o: SoakObservations) => (o.outbox[1] = { paymentId: 'P2', status: 'failed', attempts: 9 }), /outbox row of P2 is failed/],
    ['a double charge', (o: SoakObservations) => o.sales.set('r1', { finals: 2, charges: 2, reversals: 0 }), /charged 2 times/],
    ['a double charge under two references', (o: SoakObservations) => (o.referenceOwner.set('r1b', 'P1'), o.sales.set('r1b', { finals: 1, charges: 1, reversals: 0 })), /charged 2 times/],
    ['a charge reported as denied', (o: SoakObservations) => o.sales.set('r2', { finals: 1, charges: 1, reversals: 0 }), /told denied but the terminal's net charge is 1/],
    ['an approval with no charge', (o: SoakObservations) => o.sales.set('r1', { finals: 1, charges: 0, reversals: 0 }), /told approved but the terminal's net charge is 0/],
    ['an orphan sale on the terminal', (o: SoakObservations) => o.sales.set('rX', { finals: 1, charges: 1, reversals: 0 }), /reference rX that no journaled payment owns/],
    ['an orphan SALE on the wire', (o: SoakObservations) => o.saleReferencesOnWire.add('rY'), /reference rY/],
    ['a callback for a payment never made', (o: SoakObservations) => o.callbacks.push({ paymentId: 'PZ', status: 'approved', answer: 200 }), /never made: PZ/],
  ])('reports %s', (_name, spoil, message) => {
    const o = healthy();
    spoil(o);
    const r = checkInvariants(o);
    expect(r.violations.join('\n')).toMatch(message);
  });
});

describe('soak plan', () => {
  it('is reproducible by seed, differs across seeds, and plans every fault kind from 16 payments', () => {
    expect(planSoak({ payments: 40, seed: 5 })).toEqual(planSoak({ payments: 40, seed: 5 }));
    expect(planSoak({ payments: 40, seed: 5 })).not.toEqual(planSoak({ payments: 40, seed: 6 }));
    const counts = countPlannedFaults(planSoak({ payments: 16, seed: 9 }));
    for (const kind of FAULT_KINDS) expect(counts[kind], kind).toBeGreaterThanOrEqual(1);
  });

  it('plans the cluster faults only for a cluster run, leaving the rest of the plan as it was', () => {
    const single = planSoak({ payments: 40, seed: 5 });
    const cluster = planSoak({ payments: 40, seed: 5, cluster: true });
    const isCluster = (kind: string) => (CLUSTER_FAULT_KINDS as readonly string[]).includes(kind);
    for (const kind of CLUSTER_FAULT_KINDS) {
      expect(countPlannedFaults(cluster)[kind], kind).toBeGreaterThanOrEqual(1);
      expect(countPlannedFaults(single)[kind], kind).toBe(0);
    }
    expect(cluster.map((p) => ({ ...p, faults: p.faults.filter((f) => !isCluster(f.kind)) }))).toEqual(single);
    expect(cluster.flatMap((p) => p.faults).filter((f) => isCluster(f.kind)).every((f) => f.afterMs !== undefined)).toBe(true);
  });
});

describe('soak on real parts', () => {
  it('16 payments with every fault kind: every invariant holds', { timeout: 60_000 }, async () => {
    const r = await runSoak({ payments: 16, seed: 20260707, paymentTimeoutMs: 40_000 });
    expect(r.violations).toEqual([]);
    expect(r.counts.payments).toBe(16);
    expect(r.counts.approved + r.counts.denied).toBe(16);
    expect(r.counts.duplicateCharges).toBe(0);
    expect(r.faultsInjected['server-kill']).toBeGreaterThanOrEqual(1);
    expect(r.faultsInjected['agent-kill']).toBeGreaterThanOrEqual(1);
  });
});
