/**
 * The port contracts (../../ports/*.contract.ts) on a real PostgreSQL, with the same assertions
 * as memory and SQLite, plus what only a concurrent database can show: parallel creates of one
 * payment, racing compare-and-sets, racing refunds and callback claims, and exact round-trips of
 * money (`bigint`) and time (`timestamptz`). One throwaway server for the file; each store the
 * contract factory makes gets a schema of its own (`search_path` in the connection string).
 * @requires-program postgres
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { transition } from '../../domain/payment-machine.ts';
import { agentCommandsContract } from '../../ports/agent-commands.contract.ts';
import { apply, approvedPayment, binding, newPayment } from '../../ports/contract-helpers.ts';
import { storeContracts } from '../../ports/contracts.ts';
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

  it('parallel claims from two pools never hand out the same callback', async () => {
    const store = await freshStore();
    const other = await openPostgresStore({ connectionString: urlIn(`t_${schemas}`) });
    try {
      for (let i = 0; i < 30; i++) {
        const { payment } = await store.createPayment(newPayment({ paymentId: `CB${i}` }));
        await apply(store, payment, { type: 'terminal.bound', binding: { ...binding, startId: `st_${i}` } }, 1001);
        const bound = await store.getPayment(`CB${i}`);
        if (!bound) throw new Error('bind failed');
        const { state } = transition(bound, { type: 'result.received', outcome: { outcome: 'denied', terminalRef: 'r', authorizationId: null, nsu: null, tid: null, responseCode: '05', message: 'no', card: null, amountMinor: 3190 } }, 1002);
        await store.applyTransition({
          paymentId: bound.paymentId, expectedVersion: bound.version, expectedStatus: bound.status, next: state,
          event: { type: 'result.received', outcome: { outcome: 'denied', terminalRef: 'r', authorizationId: null, nsu: null, tid: null, responseCode: '05', message: 'no', card: null, amountMinor: 3190 } },
          at: 1002, callback: { url: 'https://gw.example/cb', body: '{}', status: 'denied' },
        });
      }
      // Rounds of ten parallel claims (a claimer may find every due row locked by another and
      // skip them: SKIP LOCKED) until all are handed out: none twice.
      const ids: number[] = [];
      for (let round = 0; round < 30 && ids.length < 30; round++) {
        const claims = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).claimDueCallbacks(5000, 60_000, 5)));
        ids.push(...claims.flat().map((c) => c.id));
      }
      expect(ids).toHaveLength(30);
      expect(new Set(ids).size).toBe(30);
      expect(await store.claimDueCallbacks(5000, 60_000, 100)).toEqual([]);
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
      expect((await store.listDuePayments(createdAt + 120_000, 10)).map((p) => p.paymentId)).toEqual([]);
      expect((await store.listDuePayments(createdAt + 120_001, 10)).map((p) => p.paymentId)).toEqual(['P1']);
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
});
