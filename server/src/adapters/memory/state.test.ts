import { describe, expect, it } from 'vitest';
import { newPayment } from '../../ports/contract-helpers.ts';
import { createMemoryStore } from './index.ts';
import { createMemoryState } from './state.ts';

describe('memory state', () => {
  it('rolls a failed transaction back whole: rows, deletions and sequences', () => {
    const state = createMemoryState();
    state.transaction(() => {
      state.tables.meta.set('kept', 'v');
      state.tables.meta.set('gone', 'w');
    });
    expect(() =>
      state.transaction(() => {
        state.tables.meta.set('kept', 'changed');
        state.tables.meta.delete('gone');
        state.tables.meta.set('new', 'x');
        expect(state.nextSeq('s')).toBe(1);
        state.transaction(() => state.tables.meta.set('nested', 'y')); // joins the outer one
        throw new Error('half way');
      }),
    ).toThrow('half way');
    expect([...state.tables.meta.values()]).toEqual(['v', 'w']);
    expect(state.tables.meta.get('kept')).toBe('v');
    expect(state.tables.meta.has('new')).toBe(false);
    expect(state.tables.meta.has('nested')).toBe(false);
    expect(state.transaction(() => state.nextSeq('s'))).toBe(1);
  });

  it('refuses a write outside a transaction', () => {
    const state = createMemoryState();
    expect(() => state.tables.meta.set('k', 'v')).toThrow(/outside a transaction/);
  });

  it('two stores on one state see each other\'s writes; a closed store refuses calls with STORE_FAILED', async () => {
    const state = createMemoryState();
    const a = createMemoryStore({ state });
    const b = createMemoryStore({ state });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).createPayment(newPayment({ paymentId: 'P2' }))));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await a.close();
    await expect(a.getPayment('P2')).rejects.toMatchObject({ code: 'STORE_FAILED' });
    expect((await b.getPayment('P2'))?.paymentId).toBe('P2');
    await b.close();
  });

  it('hands out copies: changing a returned payment changes nothing stored', async () => {
    const store = createMemoryStore();
    const { payment } = await store.createPayment(newPayment());
    (payment.amount as { amountMinor: number }).amountMinor = 1;
    expect((await store.getPayment('P1'))?.amount.amountMinor).toBe(3190);
    await store.close();
  });
});
