/**
 * Deadlines shared between instances (ports/leases.ts): two payment services on one store state
 * (two instances on one database) never expire a payment twice, a deadline claimed by an
 * instance that died is taken over once its lease ran out, and the worker claims under its
 * owner. Memory store, injected clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { createMemoryState, createMemoryStore, type MemoryState } from '../adapters/memory/index.ts';
import { MemoryChangeFeed } from '../adapters/memory/change-feed.ts';
import { newPayment } from '../ports/contract-helpers.ts';
import type { PaymentStore } from '../ports/index.ts';
import { sinkLogger } from '../testing/helpers.ts';
import { DeadlineWorker } from './deadline-worker.ts';
import { DEADLINE_LEASE_MS } from './expire.ts';
import { PaymentService } from './payment-service.ts';

let clock: number;
let state: MemoryState;
let stores: PaymentStore[];

/** One instance: its own store handle on the shared state, its payment service, and what its claims asked and got. */
function instance(): { store: PaymentStore; service: PaymentService; claims: { owner: string; leaseMs: number }[]; claimed: string[] } {
  const plain = createMemoryStore({ state });
  stores.push(plain);
  const claims: { owner: string; leaseMs: number }[] = [];
  const claimed: string[] = [];
  const store: PaymentStore = {
    ...plain,
    claimDuePayments: async (now, limit, leaseMs, owner) => {
      claims.push({ owner, leaseMs });
      const due = await plain.claimDuePayments(now, limit, leaseMs, owner);
      claimed.push(...due.map((p) => p.paymentId));
      return due;
    },
  };
  const service = new PaymentService({
    store,
    logger: sinkLogger().logger,
    settings: { acquirer: 'posbridge', secondsWaiting: 300, delayToCancelSeconds: 600, delayToAutoSettleSeconds: 600 },
    deadlines: { secondsWaiting: 300, delayToCancelSeconds: 600, graceSeconds: 30 },
    changes: new MemoryChangeFeed(),
    now: () => clock,
  });
  return { store, service, claims, claimed };
}

beforeEach(() => {
  clock = 1_000_000;
  state = createMemoryState();
  stores = [];
});
afterEach(async () => {
  for (const store of stores) await store.close();
});

describe('deadlines between instances', () => {
  it("two instances' concurrent passes share the due payments and expire each exactly once", async () => {
    const a = instance();
    const b = instance();
    for (let i = 0; i < 120; i += 1) await a.store.createPayment(newPayment({ paymentId: `D${i}`, deadlineAt: clock - 1000 + i }));
    const [byA, byB] = await Promise.all([a.service.expireDue({ owner: 'instance-a' }), b.service.expireDue({ owner: 'instance-b' })]);
    expect(byA + byB).toBe(120);
    // Both took part (the claims interleave at every await), and no payment was looked at twice.
    expect(a.claimed.length).toBeGreaterThan(0);
    expect(b.claimed.length).toBeGreaterThan(0);
    expect(new Set([...a.claimed, ...b.claimed]).size).toBe(a.claimed.length + b.claimed.length);
    expect([byA, byB]).toEqual([a.claimed.length, b.claimed.length]);
    for (let i = 0; i < 120; i += 1) {
      const events = await a.store.listPaymentEvents(`D${i}`);
      expect(events.filter((e) => e.type === 'deadline.passed')).toHaveLength(1);
    }
  });

  it('a deadline claimed by an instance that died is expired by another once the lease ran out', async () => {
    const a = instance();
    await a.store.createPayment(newPayment({ paymentId: 'D1', deadlineAt: clock - 1 }));
    expect((await a.store.claimDuePayments(clock, 50, DEADLINE_LEASE_MS, 'dead-instance')).map((p) => p.paymentId)).toEqual(['D1']);
    expect(await a.service.expireDue({ owner: 'instance-a' })).toBe(0);
    expect((await a.store.getPayment('D1'))?.status).toBe('awaiting_terminal');
    clock += DEADLINE_LEASE_MS;
    expect(await a.service.expireDue({ owner: 'instance-a' })).toBe(1);
    expect((await a.store.getPayment('D1'))?.status).toBe('expired');
  });

  it('the worker claims under its owner and lease, and refuses a bad owner or lease', async () => {
    const a = instance();
    await a.store.createPayment(newPayment({ paymentId: 'D1', deadlineAt: clock - 1 }));
    const { logger } = sinkLogger();
    const worker = new DeadlineWorker({ service: a.service, logger, pollMs: 10, owner: 'instance-a', leaseMs: 5000 });
    worker.start();
    try {
      await waitFor(async () => (await a.store.getPayment('D1'))?.status === 'expired', { timeoutMs: 3000, message: 'D1 expired' });
    } finally {
      await worker.stop();
    }
    expect(a.claims[0]).toEqual({ owner: 'instance-a', leaseMs: 5000 });
    expect(() => new DeadlineWorker({ service: a.service, logger, pollMs: 10, owner: '' })).toThrow(TypeError);
    expect(() => new DeadlineWorker({ service: a.service, logger, pollMs: 10, owner: 'x'.repeat(129) })).toThrow(TypeError);
    expect(() => new DeadlineWorker({ service: a.service, logger, pollMs: 10, leaseMs: 0 })).toThrow(RangeError);
  });
});
