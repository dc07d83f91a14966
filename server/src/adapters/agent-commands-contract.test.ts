/**
 * Runs the agent-command contract (../ports/agent-commands.contract.ts) against the memory and
 * SQLite adapters with the same assertions, plus what only a store with transactions can show:
 * a command opened or closed by a state change commits with it, or not at all.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commandWritesOf, startCommandOf } from '../payments/command-rows.ts';
import { transition, type PaymentEvent } from '../payments/payment-machine.ts';
import { agentCommandsContract } from '../ports/agent-commands.contract.ts';
import type { AgentCommandsPort } from '../ports/agent-commands.ts';
import { SqliteDb } from '../store/sqlite-db.ts';
import { openSqliteStore } from '../store/sqlite-store.ts';
import type { NewPayment, Payment, PaymentStore } from '../store/store.ts';
import { tempDir } from '../testing/helpers.ts';
import { MemoryAgentCommands } from './memory/agent-commands.ts';
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

agentCommandsContract('memory', () => {
  const port = new MemoryAgentCommands();
  return Promise.resolve({
    port,
    apply: (writes, at) => {
      port.apply(writes, at);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
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
    port: store.commands,
    apply: (writes, at) => db.exclusive(() => db.transaction(() => applyCommandWrites(db, writes, at))),
    close: async () => {
      await db.close();
      await store.close();
      tmp.cleanup();
    },
  };
});

describe('SQLite: command rows commit with the state change that carries them', () => {
  let tmp: ReturnType<typeof tempDir>;
  let store: PaymentStore & { readonly commands: AgentCommandsPort };

  beforeEach(async () => {
    tmp = tempDir();
    store = await openSqliteStore({ filename: join(tmp.dir, 'store.sqlite') });
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
    expect(await store.commands.getCommand('st_1')).toBeNull();
    expect((await store.getPayment('P1'))?.status).toBe('awaiting_terminal');

    // A change whose command write fails (a command of an unknown kind breaks the table's
    // constraint) rolls back the state change too.
    const broken = change(payment, bound, 2000);
    const bad = { ...startCommandOf({ ...payment, ...broken.next }), commandId: 'st_bad', kind: 'bogus' as never };
    await expect(store.applyTransition({ ...broken, commands: { open: [...(broken.commands.open ?? []), bad] } })).rejects.toMatchObject({
      code: 'STORE_FAILED',
    });
    expect((await store.getPayment('P1'))?.status).toBe('awaiting_terminal');
    expect(await store.commands.getCommand('st_1')).toBeNull();
    expect(await store.listPaymentEvents('P1')).toHaveLength(1);

    // The real change commits both.
    const dispatched = await store.applyTransition(change(payment, bound, 2000));
    expect(dispatched?.status).toBe('dispatched');
    const start = await store.commands.getCommand('st_1');
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
    expect(await store.commands.getCommand('st_1')).toMatchObject({ status: 'closed', closedAt: 3000, closeReason: 'agent.acked' });
    expect(await store.commands.countOpenCommands()).toBe(0);
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
    expect(await store.commands.getCommand('rf_1')).toBeNull();
    // A cancellation is recorded unconditionally: its command (here a stand-in) commits with it.
    const recorded = await store.recordOperation({
      operationId: 'cn_1', paymentId: 'P2', kind: 'cancel', requestId: 'C1', amountMinor: 0, status: 'pending', at: 2600,
      command: { ...refund, commandId: 'cn_1' },
    });
    expect(recorded.kind).toBe('created');
    expect(await store.commands.getCommand('cn_1')).toMatchObject({ status: 'open', createdAt: 2600 });
    // Its repeat writes nothing new.
    const again = await store.recordOperation({
      operationId: 'cn_2', paymentId: 'P2', kind: 'cancel', requestId: 'C1', amountMinor: 0, status: 'pending', at: 2700,
      command: { ...refund, commandId: 'cn_2' },
    });
    expect(again.kind).toBe('existing');
    expect(await store.commands.getCommand('cn_2')).toBeNull();
    // A final outcome closes it with the operation; an unknown one keeps it open.
    await store.setOperationOutcome('cn_1', { status: 'unknown', at: 2800 });
    expect(await store.commands.getCommand('cn_1')).toMatchObject({ status: 'open' });
    await store.setOperationOutcome('cn_1', { status: 'approved', at: 2900 });
    expect(await store.commands.getCommand('cn_1')).toMatchObject({ status: 'closed', closedAt: 2900, closeReason: 'approved' });
  });
});
