/**
 * The port contracts (../../ports/*.contract.ts) on a real PostgreSQL, with the same assertions
 * as memory and SQLite, plus what only a concurrent database can show: parallel creates of one
 * payment, racing compare-and-sets, racing refunds, callback and deadline claims from two pools (leases held, taken over, stale settles refused), and exact round-trips of
 * money (`bigint`) and time (`timestamptz`). One throwaway server for the file; each store the
 * contract factory makes gets a schema of its own (`search_path` in the connection string).
 * @requires-program postgres
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { agentCommandsContract } from '../../ports/agent-commands.contract.ts';
import { transition } from '../../domain/payment-machine.ts';
import { leaseOf, type ClaimedCallback } from '../../ports/callback-outbox.ts';
import { apply, approvedPayment, approvedResult, binding, newPayment } from '../../ports/contract-helpers.ts';
import { storeContracts } from '../../ports/contracts.ts';
import { giftCard } from '../../ports/giftcards.contract.ts';
import { applyPgCommandWrites } from './agent-commands.ts';
import { openPostgresStore, type PostgresStore } from './index.ts';
import { PgDb } from './pg-db.ts';

let server: ThrowawayPostgres;
let admin: PgDb;
let schemas = 0;

beforeAll(async () => {
  server = await startPostgres();
  admin = PgDb.open({ connectionString: server.url });
}, 60_000);
afterAll(async () => {
  await admin?.close();
  await server?.stop();
});

/** A connection URL whose `search_path` is `schema` only (and whose sessions run in `timeZone`). */
function urlIn(schema: string, timeZone = 'UTC'): string {
  return `${server.url}?options=${encodeURIComponent(`-c search_path=${schema} -c TimeZone=${timeZone}`)}`;
}

/** A new, empty, migrated store in a fresh schema; closing it drops the schema. */
async function freshStore(timeZone?: string): Promise<PostgresStore> {
  const schema = `t_${++schemas}`;
  await admin.run(`CREATE SCHEMA ${schema}`);
  const store = await openPostgresStore({ connectionString: urlIn(schema, timeZone) });
  return {
    ...store,
    close: async () => {
      await store.close();
      await admin.run(`DROP SCHEMA ${schema} CASCADE`);
    },
  };
}

describe('PostgreSQL adapter', () => {
  storeContracts(() => freshStore());
});

agentCommandsContract('postgres', async () => {
  const store = await freshStore();
  for (const id of ['P1', 'P2', 'P3']) await store.createPayment(newPayment({ paymentId: id, id: `pb_${id.toLowerCase()}` }));
  return {
    port: store,
    apply: (writes, at) => store.db.transaction((tx) => applyPgCommandWrites(tx, writes, at)),
    close: () => store.close(),
  };
});

describe('PostgreSQL store under concurrency', () => {
  it('parallel creates of one paymentId from two pools make one row and one created event', async () => {
    const store = await freshStore();
    const other = await openPostgresStore({ connectionString: urlIn(`t_${schemas}`) });
    try {
      const input = newPayment({ paymentId: 'PC' });
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).createPayment(input)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.payment.id))).toEqual(new Set([input.id]));
      expect(await store.db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM payments WHERE payment_id = 'PC'`)).toEqual({ n: 1 });
      expect(await store.listPaymentEvents('PC')).toHaveLength(1);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('racing transitions with the same expected version: exactly one wins, one event', async () => {
    const store = await freshStore();
    try {
      const { payment } = await store.createPayment(newPayment());
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          apply(store, payment, { type: 'terminal.bound', binding: { ...binding, startId: `st_${i}` } }, 2000 + i),
        ),
      );
      const winners = results.filter((p) => p !== null);
      expect(winners).toHaveLength(1);
      const stored = await store.getPayment('P1');
      expect(stored).toMatchObject({ status: 'dispatched', version: payment.version + 1, binding: winners[0]?.binding });
      expect((await store.listPaymentEvents('P1')).map((e) => e.type)).toEqual(['created', 'terminal.bound']);
    } finally {
      await store.close();
    }
  });

  it('racing settlements and refunds never exceed what is authorised and settled', async () => {
    const store = await freshStore();
    try {
      await approvedPayment(store);
      const race = (kind: 'settle' | 'refund', status: 'approved' | 'pending') =>
        Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            store.recordOperation({
              operationId: `${kind}_${i}`,
              paymentId: 'P1',
              kind,
              requestId: `${kind}${i}`,
              amountMinor: 1000,
              status,
              serialNumber: 'SN1',
              at: 5000 + i,
            }),
          ),
        );
      // 31.90 authorised: three settlements of 10.00 fit, the others are refused.
      const settles = await race('settle', 'approved');
      expect(settles.filter((r) => r.kind === 'created')).toHaveLength(3);
      expect(settles.filter((r) => r.kind === 'refused')).toHaveLength(9);
      // 30.00 settled: three refunds of 10.00 fit.
      const refunds = await race('refund', 'pending');
      expect(refunds.filter((r) => r.kind === 'created')).toHaveLength(3);
      expect(await store.operationTotals('P1')).toEqual({ settledMinor: 3000, refundedMinor: 0, refundingMinor: 3000 });
    } finally {
      await store.close();
    }
  });

  it('racing repeats of one operation request record it once', async () => {
    const store = await freshStore();
    try {
      await approvedPayment(store);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          store.recordOperation({ operationId: `cn_${i}`, paymentId: 'P1', kind: 'cancel', requestId: 'C1', amountMinor: 0, status: 'pending', at: 6000 }),
        ),
      );
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'existing')).toHaveLength(9);
    } finally {
      await store.close();
    }
  });

  it('two pools claiming callbacks in a loop never get the same row; expired leases are taken over, stale settles refused', async () => {
    const store = await freshStore();
    const other = await openPostgresStore({ connectionString: urlIn(`t_${schemas}`) });
    try {
      for (let i = 0; i < 40; i++) {
        const { payment } = await store.createPayment(newPayment({ paymentId: `CB${i}`, id: `pb_cb${i}`, createdAt: 1000 + i }));
        const bound = await apply(store, payment, { type: 'terminal.bound', binding: { ...binding, startId: `st_${i}` } }, 1000 + i);
        await apply(store, bound!, approvedResult, 1000 + i, true);
      }
      // Rounds of parallel claims from both pools at one `now` (every lease holds throughout): a
      // claim may find rows locked by another and skip them (SKIP LOCKED), but none is handed out twice.
      const owners = ['instance-a', 'instance-b'] as const;
      const byA: ClaimedCallback[] = [];
      const all: ClaimedCallback[] = [];
      for (let round = 0; round < 40 && all.length < 40; round++) {
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).claimDueCallbacks(5000, 60_000, 3, undefined, owners[i % 2]!)),
        );
        for (const [i, claim] of claims.entries()) {
          for (const c of claim) expect(c).toMatchObject({ leaseOwner: owners[i % 2], leaseUntil: 65_000 });
          if (i % 2 === 0) byA.push(...claim);
          all.push(...claim);
        }
      }
      expect(all).toHaveLength(40);
      expect(new Set(all.map((c) => c.id)).size).toBe(40);
      expect(byA.length).toBeGreaterThan(0);
      expect(await store.claimDueCallbacks(64_999, 60_000, 100, undefined, 'instance-c')).toEqual([]);

      // instance-a dies: once its leases run out, B takes its rows over (and only those still
      // pending: B delivered its own), concurrently with a second claimer that gets the rest.
      const mine = all.filter((c) => c.leaseOwner === 'instance-b');
      for (const c of mine) expect(await other.markCallbackDelivered(c.id, leaseOf(c), 1, 200, 6000)).toBe(true);
      const takeovers = await Promise.all([other.claimDueCallbacks(65_000, 60_000, 100, undefined, 'instance-b'), store.claimDueCallbacks(65_000, 60_000, 100, undefined, 'instance-c')]);
      const taken = takeovers.flat();
      expect(taken.map((c) => c.id).sort((a, b) => a - b)).toEqual(byA.map((c) => c.id).sort((a, b) => a - b));
      // A comes back late: every settle with its stale lease is refused and writes nothing.
      const results = await Promise.all(byA.map((c) => store.markCallbackDelivered(c.id, leaseOf(c), 1, 200, 70_000)));
      expect(results.every((r) => !r)).toBe(true);
      const settled = await Promise.all(taken.map((c) => (c.leaseOwner === 'instance-b' ? other : store).scheduleCallbackRetry(c.id, leaseOf(c), 1, 90_000, 'HTTP 503', 503, 70_000)));
      expect(settled.every((r) => r)).toBe(true);
      const rows = await store.db.rows<{ status: string; n: number }>(
        `SELECT status, COUNT(*) AS n FROM callback_outbox WHERE lease_owner IS NULL GROUP BY status ORDER BY status`,
      );
      expect(rows).toEqual([
        { status: 'delivered', n: mine.length },
        { status: 'pending', n: byA.length },
      ]);
    } finally {
      await other.close();
      await store.close();
    }
  });

  it('two pools claiming deadlines in a loop never get the same payment, and take over expired leases', async () => {
    const store = await freshStore();
    const other = await openPostgresStore({ connectionString: urlIn(`t_${schemas}`) });
    try {
      for (let i = 0; i < 40; i++) await store.createPayment(newPayment({ paymentId: `D${i}`, id: `pb_d${i}`, deadlineAt: 1000 + i }));
      const claimed: string[] = [];
      for (let round = 0; round < 40 && claimed.length < 40; round++) {
        const claims = await Promise.all(
          Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).claimDuePayments(5000, 3, 60_000, i % 2 ? 'instance-b' : 'instance-a')),
        );
        for (const claim of claims) {
          const deadlines = claim.map((p) => p.deadlineAt ?? 0);
          expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b));
          claimed.push(...claim.map((p) => p.paymentId));
        }
      }
      expect(claimed).toHaveLength(40);
      expect(new Set(claimed).size).toBe(40);
      expect(await other.claimDuePayments(64_999, 100, 60_000, 'instance-b')).toEqual([]);
      const takeovers = await Promise.all([other.claimDuePayments(65_000, 100, 60_000, 'instance-b'), store.claimDuePayments(65_000, 100, 60_000, 'instance-c')]);
      expect(takeovers.flat().map((p) => p.paymentId).sort()).toEqual([...claimed].sort());
    } finally {
      await other.close();
      await store.close();
    }
  });
});

describe('PostgreSQL store values', () => {
  it('money round-trips exactly up to Number.MAX_SAFE_INTEGER minor units, and beyond is refused, not rounded', async () => {
    const store = await freshStore();
    try {
      const big = Number.MAX_SAFE_INTEGER;
      const { payment } = await store.createPayment(newPayment({ amount: { amountMinor: big, currency: 'BRL' } }));
      expect(payment.amount.amountMinor).toBe(big);
      expect((await store.getPayment('P1'))?.amount.amountMinor).toBe(big);
      await store.db.run(`UPDATE payments SET amount_minor = 9007199254740993 WHERE payment_id = 'P1'`);
      await expect(store.getPayment('P1')).rejects.toMatchObject({ code: 'STORE_FAILED' });
    } finally {
      await store.close();
    }
  });

  it('times round-trip to the millisecond (timestamptz), whatever the session time zone', async () => {
    const store = await freshStore('America/Sao_Paulo');
    try {
      expect(await store.db.one('SHOW TimeZone')).toEqual({ TimeZone: 'America/Sao_Paulo' });
      const createdAt = Date.UTC(2026, 11, 2, 7, 30, 15, 987);
      const { payment } = await store.createPayment(newPayment({ createdAt, deadlineAt: createdAt + 120_001 }));
      expect(payment).toMatchObject({ createdAt, changedAt: createdAt, updatedAt: createdAt, deadlineAt: createdAt + 120_001 });
      expect((await store.listPaymentEvents('P1'))[0]?.at).toBe(createdAt);
      const stored = await store.db.one<{ t: string }>(`SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.MS') AS t FROM payments`);
      expect(stored?.t).toBe('2026-12-02 07:30:15.987');
      expect((await store.claimDuePayments(createdAt + 120_000, 10, 10_000, 'instance-a')).map((p) => p.paymentId)).toEqual([]);
      expect((await store.claimDuePayments(createdAt + 120_001, 10, 10_000, 'instance-a')).map((p) => p.paymentId)).toEqual(['P1']);
      // A lease's `until` is compared for equality by the settle: a ms value (here .988 + 60 s)
      // round-trips exactly through timestamptz in a non-UTC session.
      const bound = await apply(store, payment, { type: 'terminal.bound', binding }, createdAt + 1);
      await apply(store, bound!, approvedResult, createdAt + 1, true);
      const [claimed] = await store.claimDueCallbacks(createdAt + 1, 60_000, 10, undefined, 'instance-a');
      expect(claimed).toMatchObject({ leaseUntil: createdAt + 60_001 });
      expect((await store.listCallbacks('P1'))[0]).toMatchObject({ leaseUntil: createdAt + 60_001 });
      expect(await store.markCallbackDelivered(claimed!.id, { owner: 'instance-a', until: createdAt + 60_002 }, 1, 200, createdAt + 2)).toBe(false);
      expect(await store.markCallbackDelivered(claimed!.id, leaseOf(claimed!), 1, 200, createdAt + 2)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a command write that fails rolls back the state change that carries it', async () => {
    const store = await freshStore();
    try {
      const { payment } = await store.createPayment(newPayment());
      const event = { type: 'terminal.bound', binding } as const;
      const { state } = transition(payment, event, 2000);
      const bad = { commandId: 'st1', kind: 'bogus' as never, paymentId: 'P1', merchantId: 'm', serialNumber: 'SN1', agentId: 'ag1', message: '{}' };
      await expect(
        store.applyTransition({ paymentId: 'P1', expectedVersion: payment.version, expectedStatus: payment.status, next: state, event, at: 2000, commands: { open: [bad] } }),
      ).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect((await store.getPayment('P1'))?.status).toBe('awaiting_terminal');
      expect(await store.listPaymentEvents('P1')).toHaveLength(1);
      expect(await store.getCommand('st1')).toBeNull();
    } finally {
      await store.close();
    }
  });

  it('gift cards: parallel debits through two pools never go below zero, and journal entries are append-only', async () => {
    const store = await freshStore();
    const other = await openPostgresStore({ connectionString: urlIn(`t_${schemas}`) });
    try {
      await store.createGiftCard(giftCard('gc_a'));
      await store.appendGiftCardEntry('M', { cardId: 'gc_a', entryId: 'gct_load', requestId: 'load', kind: 'credit', amountMinor: 1000 }, 2000);
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? store : other).appendGiftCardEntry('M', { cardId: 'gc_a', entryId: `gct_${i}`, requestId: `r_${i}`, kind: 'debit', amountMinor: 70 }, 2001),
        ),
      );
      expect(results.filter((r) => r.kind === 'appended')).toHaveLength(14); // 14 × 70 = 980 ≤ 1000 < 15 × 70
      expect(await other.getGiftCardBalance('M', 'gc_a')).toBe(20);
      await expect(store.db.run("UPDATE gift_card_entries SET amount_minor = 1 WHERE entry_id = 'gct_load'")).rejects.toThrow(/append-only/);
      await expect(store.db.run("DELETE FROM gift_card_entries WHERE entry_id = 'gct_load'")).rejects.toThrow(/append-only/);
    } finally {
      await other.close();
      await store.close();
    }
  });
});
