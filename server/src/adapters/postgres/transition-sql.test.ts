/**
 * The one-statement transition (./transition-sql.ts) on a real PostgreSQL: its effect rows are
 * written with the change and never without it, and the changes one statement cannot hold (one
 * command id opened and closed) still apply, through the transaction.
 * @requires-program postgres
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type ThrowawayPostgres } from '@posbridge/testkit';
import { transition, type PaymentEvent } from '../../domain/payment-machine.ts';
import type { CommandWrites, NewAgentCommand } from '../../ports/agent-commands.ts';
import { binding, newPayment } from '../../ports/contract-helpers.ts';
import type { Payment } from '../../ports/payments.ts';
import { openPostgresStore, type PostgresStore } from './index.ts';
import { oneStatementFits } from './transition-sql.ts';

let server: ThrowawayPostgres;
let store: PostgresStore;

beforeAll(async () => {
  server = await startPostgres();
  store = await openPostgresStore({ connectionString: server.url });
}, 60_000);
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

const command = (commandId: string, paymentId: string, kind: NewAgentCommand['kind'] = 'start'): NewAgentCommand => ({
  commandId,
  kind,
  paymentId,
  merchantId: 'mch_bootstrap',
  serialNumber: 'SN1',
  agentId: kind === 'refund' ? null : 'ag1',
  message: JSON.stringify({ id: commandId }),
});

/** The machine's transition of `p` on `event`, stored with `commands` (and a callback when asked). */
function change(p: Payment, event: PaymentEvent, at: number, commands: CommandWrites, callback = false): Promise<Payment | null> {
  const { state } = transition(p, event, at);
  return store.applyTransition({
    paymentId: p.paymentId,
    expectedVersion: p.version,
    expectedStatus: p.status,
    next: state,
    event,
    at,
    commands,
    ...(callback ? { callback: { url: p.callbackUrl, body: '{"status":"approved"}', status: 'approved' as const, expiresAt: at + 60_000 } } : {}),
  });
}

const bound: PaymentEvent = { type: 'terminal.bound', binding };
const approved: PaymentEvent = {
  type: 'result.received',
  outcome: { outcome: 'approved', terminalRef: 'T1', authorizationId: 'A1', nsu: null, tid: null, responseCode: '00', message: null, card: null, amountMinor: 1000 },
};

describe('PostgreSQL one-statement transition', () => {
  it('writes the change, its event, callback and commands together, and none of them when the compare-and-set misses', async () => {
    const { payment } = await store.createPayment(newPayment({ paymentId: 'TX1', id: 'pb_tx1' }));
    const dispatched = await change(payment, bound, 2000, { open: [command('st_tx1', 'TX1'), command('rf_tx1', 'TX1', 'refund')] });
    expect(dispatched).toMatchObject({ status: 'dispatched', version: 1, binding });
    expect((await store.listCommands('TX1')).map((c) => [c.commandId, c.status, c.agentId, c.createdAt])).toEqual([
      ['rf_tx1', 'open', null, 2000],
      ['st_tx1', 'open', 'ag1', 2000],
    ]);

    // Stale (computed from version 0): nothing at all is written.
    expect(await change(payment, bound, 2500, { open: [command('st_stale', 'TX1')], close: [{ commandId: 'st_tx1', reason: 'stale' }] })).toBeNull();
    expect(await store.getCommand('st_stale')).toBeNull();
    expect((await store.getCommand('st_tx1'))?.status).toBe('open');
    expect((await store.listPaymentEvents('TX1')).map((e) => e.type)).toEqual(['created', 'terminal.bound']);

    const done = await change(dispatched!, approved, 3000, { close: [{ commandId: 'st_tx1', reason: 'result.received' }] }, true);
    expect(done).toMatchObject({ status: 'approved', version: 2 });
    expect(await store.getCommand('st_tx1')).toMatchObject({ status: 'closed', closedAt: 3000, closeReason: 'result.received' });
    expect((await store.getCommand('rf_tx1'))?.status).toBe('open');
    expect((await store.listCallbacks('TX1')).map((c) => [c.status, c.body, c.expiresAt])).toEqual([['pending', '{"status":"approved"}', 63_000]]);
    const events = await store.listPaymentEvents('TX1');
    expect(events.map((e) => [e.type, e.fromStatus, e.toStatus, e.at])).toEqual([
      ['created', null, 'awaiting_terminal', payment.createdAt],
      ['terminal.bound', 'awaiting_terminal', 'dispatched', 2000],
      ['result.received', 'dispatched', 'approved', 3000],
    ]);
  });

  it('a change that opens and closes the same command id goes through the transaction, in order (ends closed)', async () => {
    expect(oneStatementFits({ open: [command('a', 'P')], close: [{ commandId: 'b', reason: 'r' }] })).toBe(true);
    expect(oneStatementFits({ open: [command('a', 'P')], close: [{ commandId: 'a', reason: 'r' }] })).toBe(false);
    expect(oneStatementFits({ open: [command('a', 'P'), command('a', 'P')] })).toBe(false);
    expect(oneStatementFits(undefined)).toBe(true);

    const { payment } = await store.createPayment(newPayment({ paymentId: 'TX2', id: 'pb_tx2' }));
    const dispatched = await change(payment, bound, 2000, { open: [command('st_tx2', 'TX2')], close: [{ commandId: 'st_tx2', reason: 'same change' }] });
    expect(dispatched?.status).toBe('dispatched');
    expect(await store.getCommand('st_tx2')).toMatchObject({ status: 'closed', closeReason: 'same change' });
  });

  it('a repeated create writes no second event and answers the stored payment', async () => {
    const first = await store.createPayment(newPayment({ paymentId: 'TX3', id: 'pb_tx3' }));
    const again = await store.createPayment(newPayment({ paymentId: 'TX3', id: 'pb_tx3' }));
    expect([first.created, again.created]).toEqual([true, false]);
    expect(again.payment).toEqual(first.payment);
    expect((await store.listPaymentEvents('TX3')).map((e) => e.type)).toEqual(['created']);
  });
});
