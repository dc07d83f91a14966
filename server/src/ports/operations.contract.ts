/**
 * Contract of the operations port (./operations.ts `OperationsPort`): every adapter runs these
 * same assertions (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts).
 * The money rules themselves are tested once, in domain/operation-limits.test.ts; this suite
 * checks that an adapter applies them atomically with the write.
 */
import { describe, expect, it } from 'vitest';
import { apply, approvedPayment, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';
import type { NewAgentCommand } from './agent-commands.ts';
import type { NewOperation } from './operations.ts';

const op = (overrides: Partial<NewOperation> & Pick<NewOperation, 'operationId' | 'kind' | 'requestId'>): NewOperation => ({
  paymentId: 'P1',
  amountMinor: 0,
  status: 'approved',
  at: 4000,
  ...overrides,
});

/** The `operation.start` command a refund opens with its row. */
const refundCommand = (operationId: string): NewAgentCommand => ({
  commandId: operationId,
  kind: 'refund',
  paymentId: 'P1',
  merchantId: 'm1',
  serialNumber: 'SN1',
  agentId: null,
  message: JSON.stringify({ id: operationId, type: 'operation.start' }),
});

/** Registers the operations contract against stores made by `factory`. */
export function operationsContract(factory: StoreFactory): void {
  describe('OperationsPort contract', () => {
    const store = useStore(factory);

    it('a settlement bumps the payment version: a cancellation computed before it fails its CAS', async () => {
      const { payment } = await store().createPayment(newPayment());
      const approved = await apply(store(), (await apply(store(), payment, { type: 'terminal.bound', binding }, 2000))!, approvedResult, 3000);
      expect(approved?.status).toBe('approved');
      // The cancellation read the payment (nothing settled yet); a settlement commits before its write.
      const settled = await store().recordOperation({ operationId: 'se1', paymentId: 'P1', kind: 'settle', requestId: 'S1', amountMinor: 3190, status: 'approved', at: 4000 });
      expect(settled.kind).toBe('created');
      expect(await apply(store(), approved!, { type: 'cancel.requested', canReverse: true }, 4001)).toBeNull();
      expect((await store().getPayment('P1'))?.version).toBe(approved!.version + 1);
      // Once reversing, a settlement is refused and says the payment's current state.
      const fresh = (await store().getPayment('P1'))!;
      const reversing = await apply(store(), fresh, { type: 'cancel.requested', canReverse: true }, 4002);
      expect(reversing?.status).toBe('reversing');
      expect(await store().recordOperation({ operationId: 'se2', paymentId: 'P1', kind: 'settle', requestId: 'S2', amountMinor: 1, status: 'approved', at: 4003 })).toEqual({
        kind: 'refused',
        reason: 'not_approved',
        limitMinor: 0,
        payment: { status: 'reversing', endReason: 'cancelled' },
      });
    });

    it('records an operation once per (payment, kind, requestId), whatever the repeat says', async () => {
      await approvedPayment(store());
      const created = await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 1000, serialNumber: 'SN1' }));
      expect(created).toEqual({
        kind: 'created',
        operation: {
          operationId: 'se1',
          paymentId: 'P1',
          kind: 'settle',
          requestId: 'S1',
          amountMinor: 1000,
          status: 'approved',
          serialNumber: 'SN1',
          terminalRef: null,
          authorizationId: null,
          nsu: null,
          responseCode: null,
          message: null,
          answer: null,
          createdAt: 4000,
          updatedAt: 4000,
        },
      });
      const repeat = await store().recordOperation(op({ operationId: 'se9', kind: 'settle', requestId: 'S1', amountMinor: 999_999 }));
      expect(repeat).toEqual({ kind: 'existing', operation: created.kind === 'created' ? created.operation : null });
      // The same requestId of another kind is another operation.
      expect((await store().recordOperation(op({ operationId: 'rf1', kind: 'refund', requestId: 'S1', amountMinor: 10, status: 'pending' }))).kind).toBe('created');
      expect(await store().getOperation('se9')).toBeNull();
      expect((await store().findOperation('P1', 'settle', 'S1'))?.operationId).toBe('se1');
      expect(await store().findOperation('P1', 'cancel', 'S1')).toBeNull();
      expect((await store().getOperation('rf1'))?.kind).toBe('refund');
    });

    it('settles up to the authorized amount, not one minor unit more', async () => {
      await approvedPayment(store(), {}, 3000);
      expect((await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 2000 }))).kind).toBe('created');
      expect(await store().recordOperation(op({ operationId: 'se2', kind: 'settle', requestId: 'S2', amountMinor: 1001 }))).toEqual({
        kind: 'refused',
        reason: 'exceeds',
        limitMinor: 1000,
      });
      expect((await store().recordOperation(op({ operationId: 'se3', kind: 'settle', requestId: 'S3', amountMinor: 1000 }))).kind).toBe('created');
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3000, refundedMinor: 0, refundingMinor: 0 });
      expect(await store().getOperation('se2')).toBeNull();
    });

    it('refuses a settlement or refund of a missing or not approved payment; records a cancellation anyway', async () => {
      expect(await store().recordOperation(op({ operationId: 'se1', paymentId: 'nope', kind: 'settle', requestId: 'S1', amountMinor: 1 }))).toEqual({
        kind: 'refused',
        reason: 'not_approved',
        limitMinor: 0,
        payment: null,
      });
      await store().createPayment(newPayment());
      expect(await store().recordOperation(op({ operationId: 'rf1', kind: 'refund', requestId: 'R1', amountMinor: 1 }))).toEqual({
        kind: 'refused',
        reason: 'not_approved',
        limitMinor: 0,
        payment: { status: 'awaiting_terminal', endReason: null },
      });
      const cancel = await store().recordOperation(op({ operationId: 'ca1', kind: 'cancel', requestId: 'C1', status: 'pending' }));
      expect(cancel).toMatchObject({ kind: 'created', operation: { kind: 'cancel', status: 'pending', amountMinor: 0 } });
      expect((await store().getPayment('P1'))?.version).toBe(0);
    });

    it('reserves pending and unknown refunds against the settled amount; a denied one frees its reserve', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3000 }));
      await store().recordOperation(op({ operationId: 'rf1', kind: 'refund', requestId: 'R1', amountMinor: 1000, status: 'pending', serialNumber: 'SN1' }));
      await store().recordOperation(op({ operationId: 'rf2', kind: 'refund', requestId: 'R2', amountMinor: 1000, status: 'pending', serialNumber: 'SN1' }));
      expect(await store().setOperationOutcome('rf2', { status: 'unknown', at: 4100 })).toMatchObject({ status: 'unknown' });
      expect(await store().recordOperation(op({ operationId: 'rf3', kind: 'refund', requestId: 'R3', amountMinor: 1001, status: 'pending' }))).toEqual({
        kind: 'refused',
        reason: 'exceeds',
        limitMinor: 1000,
      });
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3000, refundedMinor: 0, refundingMinor: 2000 });
      await store().setOperationOutcome('rf1', { status: 'denied', at: 4200 });
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3000, refundedMinor: 0, refundingMinor: 1000 });
      expect((await store().recordOperation(op({ operationId: 'rf4', kind: 'refund', requestId: 'R4', amountMinor: 2000, status: 'pending' }))).kind).toBe('created');
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3000, refundedMinor: 0, refundingMinor: 3000 });
    });

    it('concurrent refunds never exceed what was settled', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3190 }));
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store().recordOperation(op({ operationId: `rf${i}`, kind: 'refund', requestId: `R${i}`, amountMinor: 1000, status: 'pending' }))),
      );
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(3);
      expect(results.filter((r) => r.kind === 'refused')).toHaveLength(7);
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3190, refundedMinor: 0, refundingMinor: 3000 });
    });

    it('sets the outcome of a pending or unknown operation once, keeping fields the change leaves out', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3190 }));
      await store().recordOperation(op({ operationId: 'rf1', kind: 'refund', requestId: 'R1', amountMinor: 100, status: 'pending', serialNumber: 'SN1' }));
      const unknown = await store().setOperationOutcome('rf1', { status: 'unknown', terminalRef: 't1', nsu: '9', message: 'timeout', at: 4100 });
      expect(unknown).toMatchObject({ status: 'unknown', terminalRef: 't1', nsu: '9', authorizationId: null, message: 'timeout', updatedAt: 4100 });
      const done = await store().setOperationOutcome('rf1', { status: 'approved', authorizationId: 'AU', responseCode: '00', message: null, at: 4200 });
      expect(done).toMatchObject({ status: 'approved', terminalRef: 't1', nsu: '9', authorizationId: 'AU', responseCode: '00', message: 'timeout', updatedAt: 4200 });
      expect(await store().setOperationOutcome('rf1', { status: 'denied', at: 4300 })).toBeNull();
      expect(await store().setOperationOutcome('nope', { status: 'denied', at: 4300 })).toBeNull();
      expect(await store().getOperation('rf1')).toEqual(done);
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3190, refundedMinor: 100, refundingMinor: 0 });
    });

    it('resolves an unknown operation by an operator, with an operation.resolved event, once', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3190 }));
      await store().recordOperation(op({ operationId: 'rf1', kind: 'refund', requestId: 'R1', amountMinor: 100, status: 'unknown' }));
      expect(await store().countUnknownOperations()).toBe(1);
      const resolution = { operationId: 'rf1', status: 'approved' as const, message: 'seen on the acquirer portal', operator: 'ops', reason: 'ticket 7', at: 5000 };
      expect(await store().resolveUnknownOperation({ ...resolution, operationId: 'se1' })).toBeNull();
      const resolved = await store().resolveUnknownOperation(resolution);
      expect(resolved).toMatchObject({ operationId: 'rf1', status: 'approved', message: 'seen on the acquirer portal', updatedAt: 5000 });
      expect(await store().resolveUnknownOperation(resolution)).toBeNull();
      expect(await store().resolveUnknownOperation({ ...resolution, operationId: 'nope' })).toBeNull();
      expect(await store().countUnknownOperations()).toBe(0);
      const events = await store().listPaymentEvents('P1');
      expect(events.at(-1)).toEqual({
        seq: expect.any(Number),
        paymentId: 'P1',
        type: 'operation.resolved',
        fromStatus: 'approved',
        toStatus: 'approved',
        data: { operationId: 'rf1', kind: 'refund', outcome: 'approved', operator: 'ops', reason: 'ticket 7' },
        at: 5000,
      });
    });

    it('stores the first answer only, and repeats it', async () => {
      await store().createPayment(newPayment());
      await store().recordOperation(op({ operationId: 'ca1', kind: 'cancel', requestId: 'C1', status: 'pending' }));
      const first = await store().setOperationAnswer('ca1', 200, { cancellationId: 'ca1', code: null }, 4100);
      expect(first).toMatchObject({ answer: { httpStatus: 200, body: { cancellationId: 'ca1', code: null } }, updatedAt: 4100 });
      const second = await store().setOperationAnswer('ca1', 501, { other: true }, 4200);
      expect(second).toEqual(first);
      await expect(store().setOperationAnswer('nope', 200, {}, 4300)).rejects.toMatchObject({ code: 'STORE_FAILED' });
    });

    it('releases a refund that never ran (pending, unanswered), and nothing else', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3190 }));
      for (const id of ['rf1', 'rf2', 'rf3']) {
        await store().recordOperation(op({ operationId: id, kind: 'refund', requestId: id, amountMinor: 100, status: 'pending', command: refundCommand(id) }));
      }
      await store().setOperationAnswer('rf2', 200, { refundId: 'rf2' }, 4100);
      await store().setOperationOutcome('rf3', { status: 'unknown', at: 4100 });
      expect(await store().releaseOperation('se1', 4200)).toBe(false);
      expect(await store().releaseOperation('rf2', 4200)).toBe(false);
      expect(await store().releaseOperation('rf3', 4200)).toBe(false);
      expect(await store().releaseOperation('rf1', 4200)).toBe(true);
      expect(await store().getCommand('rf1')).toMatchObject({ status: 'closed', closedAt: 4200, closeReason: 'released' });
      expect(await store().releaseOperation('rf1', 4300)).toBe(false);
      expect(await store().getOperation('rf1')).toBeNull();
      // The repeat of the request records a new attempt.
      expect((await store().recordOperation(op({ operationId: 'rf1b', kind: 'refund', requestId: 'rf1', amountMinor: 100, status: 'pending' }))).kind).toBe('created');
      expect(await store().operationTotals('P1')).toEqual({ settledMinor: 3190, refundedMinor: 0, refundingMinor: 300 });
    });

    it('lists the open refunds of some serials, oldest first', async () => {
      await approvedPayment(store());
      await store().recordOperation(op({ operationId: 'se1', kind: 'settle', requestId: 'S1', amountMinor: 3190 }));
      const refund = (id: string, serialNumber: string, at: number) =>
        store().recordOperation(op({ operationId: id, kind: 'refund', requestId: id, amountMinor: 10, status: 'pending', serialNumber, at }));
      await refund('rf_b', 'SN1', 5000);
      await refund('rf_a', 'SN2', 4000);
      await refund('rf_c', 'SN1', 5000);
      await refund('rf_x', 'SN3', 3000);
      await refund('rf_d', 'SN1', 6000);
      await store().setOperationOutcome('rf_c', { status: 'unknown', at: 6100 });
      await store().setOperationOutcome('rf_d', { status: 'approved', at: 6100 });
      expect((await store().listOpenRefunds(['SN1', 'SN2'])).map((o) => o.operationId)).toEqual(['rf_a', 'rf_b', 'rf_c']);
      expect(await store().listOpenRefunds([])).toEqual([]);
    });

    it('refuses a second operation with the same id (STORE_FAILED)', async () => {
      await store().createPayment(newPayment());
      await store().recordOperation(op({ operationId: 'ca1', kind: 'cancel', requestId: 'C1' }));
      await expect(store().recordOperation(op({ operationId: 'ca1', kind: 'cancel', requestId: 'C2' }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().findOperation('P1', 'cancel', 'C2')).toBeNull();
    });
  });
}
