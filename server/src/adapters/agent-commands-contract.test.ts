/**
 * Runs the agent-command contract (../ports/agent-commands.contract.ts) against the memory and
 * SQLite adapters with the same assertions, plus what only a store with transactions can show:
 * a command opened or closed by a state change commits with it, or not at all.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMessage, type ServerMessage } from '@posbridge/protocol/ws';
import { abortCommandOf, commandWritesOf, refundCommandOf, startCommandOf, voidCommandOf } from '../payments/command-rows.ts';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import { agentCommandsContract } from '../ports/agent-commands.contract.ts';
import { MIGRATIONS } from './sqlite/migrations.ts';
import { SqliteDb } from './sqlite/sqlite-db.ts';
import { openSqliteStore } from './sqlite/index.ts';
import type { NewPayment, Payment, PaymentStore } from '../ports/index.ts';
import { tempDir } from '../testing/helpers.ts';
import { applyCommandWrites as applyMemoryWrites } from './memory/agent-commands.ts';
import { createMemoryState, createMemoryStore } from './memory/index.ts';
import { applyCommandWrites } from './sqlite/agent-commands.ts';

function newPayment(paymentId: string): NewPayment {
  return {
    paymentId,
    id: `pb_${paymentId.toLowerCase()}`,
    transactionId: 'TX',
    orderId: 'O',
    reference: 'R',
    merchantName: 'M',
    method: 'credit',
    installments: 1,
    amount: { amountMinor: 3190, currency: 'BRL' },
    callbackUrl: 'https://gw.example/cb?X-VTEX-signature=abc',
    createdAt: 1000,
    merchantId: 'mch_bootstrap',
  };
}

agentCommandsContract('memory', async () => {
  const state = createMemoryState();
  const store = createMemoryStore({ state });
  for (const id of ['P1', 'P2', 'P3']) await store.createPayment(newPayment(id));
  return {
    port: store,
    // One transaction of the shared state, as a state change's would be.
    apply: (writes, at) => {
      state.transaction(() => applyMemoryWrites(state.tables, writes, at));
      return Promise.resolve();
    },
    close: () => store.close(),
  };
});

agentCommandsContract('sqlite', async () => {
  const tmp = tempDir();
  const file = join(tmp.dir, 'commands.sqlite');
  const store = await openSqliteStore({ filename: file });
  for (const id of ['P1', 'P2', 'P3']) await store.createPayment(newPayment(id));
  // A second connection commits the writes in a transaction of its own, as a state change would.
  const db = await SqliteDb.open(file);
  await db.exec('PRAGMA busy_timeout = 5000');
  await db.exec('PRAGMA foreign_keys = ON');
  return {
    port: store,
    apply: (writes, at) => db.exclusive(() => db.transaction(() => applyCommandWrites(db, writes, at))),
    close: async () => {
      await db.close();
      await store.close();
      tmp.cleanup();
    },
  };
});

const STORES: [string, (dir: string) => Promise<PaymentStore>][] = [
  ['SQLite', (dir) => openSqliteStore({ filename: join(dir, 'store.sqlite') })],
  ['memory', () => Promise.resolve(createMemoryStore())],
];

describe.each(STORES)('%s: command rows commit with the state change that carries them', (_name, open) => {
  let tmp: ReturnType<typeof tempDir>;
  let store: PaymentStore;

  beforeEach(async () => {
    tmp = tempDir();
    store = await open(tmp.dir);
  });
  afterEach(async () => {
    await store.close();
    tmp.cleanup();
  });

  /** The change `event` makes to `p`, with its command writes, as the payment service builds it. */
  function change(p: Payment, event: PaymentEvent, at: number, expectedVersion = p.version) {
    const { state, effects } = transition(p, event, at);
    return {
      paymentId: p.paymentId,
      expectedVersion,
      expectedStatus: p.status,
      next: state,
      event,
      at,
      commands: commandWritesOf(p, { ...p, ...state }, event, effects),
    };
  }

  const bound: PaymentEvent = { type: 'terminal.bound', binding: { serialNumber: 'SN1', agentId: 'agt_1', startId: 'st_1' } };

  it('a command opened by applyTransition commits with it, or not at all', async () => {
    const { payment } = await store.createPayment(newPayment('P1'));
    // A stale compare-and-set writes nothing: neither the state nor the command.
    expect(await store.applyTransition(change(payment, bound, 2000, payment.version + 1))).toBeNull();
    expect(await store.getCommand('st_1')).toBeNull();
    expect((await store.getPayment('P1'))?.status).toBe('awaiting_terminal');

    // A change whose command write fails (a command of an unknown kind breaks the table's
    // constraint) rolls back the state change too.
    const broken = change(payment, bound, 2000);
    const bad = { ...startCommandOf({ ...payment, ...broken.next }), commandId: 'st_bad', kind: 'bogus' as never };
    await expect(store.applyTransition({ ...broken, commands: { open: [...(broken.commands.open ?? []), bad] } })).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
    expect((await store.getPayment('P1'))?.status).toBe('awaiting_terminal');
    expect(await store.getCommand('st_1')).toBeNull();
    expect(await store.listPaymentEvents('P1')).toHaveLength(1);

    // The real change commits both.
    const dispatched = await store.applyTransition(change(payment, bound, 2000));
    expect(dispatched?.status).toBe('dispatched');
    const start = await store.getCommand('st_1');
    expect(start).toMatchObject({ kind: 'start', status: 'open', paymentId: 'P1', serialNumber: 'SN1', agentId: 'agt_1', createdAt: 2000 });
    expect(JSON.parse(start?.message ?? '{}')).toEqual({
      v: 1,
      id: 'st_1',
      type: 'payment.start',
      paymentId: 'P1',
      serialNumber: 'SN1',
      amount: { amountMinor: 3190, currency: 'BRL' },
      method: 'credit',
      installments: 1,
    });

    // The acknowledgement's change closes it in the same transaction.
    if (!dispatched) throw new Error('not dispatched');
    const accepted = await store.applyTransition(change(dispatched, { type: 'agent.acked', startId: 'st_1' }, 3000));
    expect(accepted?.status).toBe('accepted');
    expect(await store.getCommand('st_1')).toMatchObject({ status: 'closed', closedAt: 3000, closeReason: 'agent.acked' });
    expect(await store.countOpenCommands()).toBe(0);
  });

  it("a refund's command commits with its operation and closes with its outcome", async () => {
    const { payment } = await store.createPayment(newPayment('P2'));
    const p = await store.applyTransition(change(payment, { ...bound, binding: { ...bound.binding, startId: 'st_2' } }, 2000));
    if (!p) throw new Error('not bound');
    const refund = { ...startCommandOf(p), commandId: 'rf_1', kind: 'refund' as const, agentId: null };
    // Refused (the payment is not approved): no operation, no command.
    const refused = await store.recordOperation({
      operationId: 'rf_1', paymentId: 'P2', kind: 'refund', requestId: 'R1', amountMinor: 100, status: 'pending', serialNumber: 'SN1', at: 2500, command: refund,
    });
    expect(refused.kind).toBe('refused');
    expect(await store.getCommand('rf_1')).toBeNull();
    // A cancellation is recorded unconditionally: its command (here a stand-in) commits with it.
    const recorded = await store.recordOperation({
      operationId: 'cn_1', paymentId: 'P2', kind: 'cancel', requestId: 'C1', amountMinor: 0, status: 'pending', at: 2600,
      command: { ...refund, commandId: 'cn_1' },
    });
    expect(recorded.kind).toBe('created');
    expect(await store.getCommand('cn_1')).toMatchObject({ status: 'open', createdAt: 2600 });
    // Its repeat writes nothing new.
    const again = await store.recordOperation({
      operationId: 'cn_2', paymentId: 'P2', kind: 'cancel', requestId: 'C1', amountMinor: 0, status: 'pending', at: 2700,
      command: { ...refund, commandId: 'cn_2' },
    });
    expect(again.kind).toBe('existing');
    expect(await store.getCommand('cn_2')).toBeNull();
    // A final outcome closes it with the operation; an unknown one keeps it open.
    await store.setOperationOutcome('cn_1', { status: 'unknown', at: 2800 });
    expect(await store.getCommand('cn_1')).toMatchObject({ status: 'open' });
    await store.setOperationOutcome('cn_1', { status: 'approved', at: 2900 });
    expect(await store.getCommand('cn_1')).toMatchObject({ status: 'closed', closedAt: 2900, closeReason: 'approved' });
  });
});

describe('SQLite migration 4: the commands owed at upgrade time become rows', () => {
  it('backfills the start, abort, void and refund still owed, with the messages the service builds', async () => {
    const tmp = tempDir();
    const file = join(tmp.dir, 'v3.sqlite');
    try {
      // A database of the previous release (schema version 3) with payments in flight.
      const db = await SqliteDb.open(file);
      await db.exec('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      for (let v = 1; v <= 3; v++) {
        await db.exec(MIGRATIONS[v - 1] ?? '');
        await db.run('INSERT INTO schema_version (version) VALUES (?)', [v]);
      }
      const insert = (paymentId: string, state: string, extra: Record<string, string | number | null>) =>
        db.run(
          `INSERT INTO payments (payment_id, id, transaction_id, order_id, reference, merchant_name, method, installments, amount_minor,
             currency, callback_url, state, version, serial_number, agent_id, start_id, created_at, changed_at, updated_at,
             end_reason, outcome, terminal_ref, result_amount_minor)
           VALUES (?, ?, 'TX', 'O', 'R', 'M', 'credit', 2, 3190, 'BRL', 'https://gw.example/cb', ?, 1, 'SN1', 'agt_1', ?, 1000, 2000, 2000, ?, ?, ?, ?)`,
          [paymentId, `pb_${paymentId.toLowerCase()}`, state, `st_${paymentId}`, extra['end'] ?? null, extra['outcome'] ?? null, extra['ref'] ?? null, extra['amount'] ?? null],
        );
      await insert('PD', 'dispatched', {});
      await insert('PA', 'aborting', { end: 'expired' });
      await insert('PU', 'unknown', { end: 'cancelled', outcome: 'unknown', ref: '' });
      await insert('PR', 'reversing', { end: 'cancelled', outcome: 'approved', ref: 'ref-9', amount: 3000 });
      await insert('PF', 'approved', { outcome: 'approved', ref: '' , amount: 3190 });
      await insert('PX', 'accepted', {});
      await db.run(
        `INSERT INTO operations (operation_id, payment_id, kind, request_id, amount_minor, status, serial_number, created_at, updated_at)
         VALUES ('rf_1', 'PF', 'refund', 'F1', 500, 'pending', 'SN1', 3000, 3000), ('rf_2', 'PF', 'refund', 'F2', 500, 'denied', 'SN1', 3000, 3000)`,
      );
      await db.close();

      const store = await openSqliteStore({ filename: file });
      try {
        const open = async (paymentId: string) => (await store.listCommands(paymentId)).map((c) => [c.commandId, c.kind, c.status]);
        expect(await open('PD')).toEqual([['st_PD', 'start', 'open']]);
        expect(await open('PA')).toEqual([['ab_pb_pa', 'abort', 'open']]);
        expect(await open('PU')).toEqual([['ab_pb_pu', 'abort', 'open']]);
        expect(await open('PR')).toEqual([['vd_pb_pr', 'void', 'open']]);
        expect(await open('PF')).toEqual([['rf_1', 'refund', 'open']]);
        expect(await open('PX')).toEqual([]);
        // The same message the service would have written (compared as the wire encodes it).
        const wire = async (id: string) => encodeMessage(JSON.parse((await store.getCommand(id))?.message ?? '{}') as ServerMessage);
        const payment = async (id: string) => {
          const p = await store.getPayment(id);
          if (!p) throw new Error(id);
          return p;
        };
        expect(await wire('st_PD')).toBe(startCommandOf(await payment('PD')).message);
        expect(await wire('ab_pb_pa')).toBe(abortCommandOf(await payment('PA')).message);
        expect(await wire('ab_pb_pu')).toBe(abortCommandOf(await payment('PU')).message);
        expect(await wire('vd_pb_pr')).toBe(voidCommandOf(await payment('PR')).message);
        expect(await wire('rf_1')).toBe(refundCommandOf(await payment('PF'), 'rf_1', 500).message);
        expect((await store.getCommand('rf_1'))?.agentId).toBeNull();
        expect((await store.getCommand('st_PD'))?.agentId).toBe('agt_1');
      } finally {
        await store.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
