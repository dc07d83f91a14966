import { describe, expect, it } from 'vitest';
import type { PaymentResult } from '@posbridge/protocol/ws';
import { Outbox } from './outbox.ts';

const result = (id: string, paymentId = 'pay-1'): PaymentResult => ({
  v: 1,
  id,
  type: 'payment.result',
  paymentId,
  outcome: 'approved',
  amount: { amountMinor: 100, currency: 'BRL' },
  terminalRef: 'pabc',
});

describe('Outbox', () => {
  it('keeps a report until its ack and resends on the interval', () => {
    const box = new Outbox();
    box.put(result('r1'));
    expect(box.due(0, 1000).map((m) => m.id)).toEqual(['r1']);
    box.markSent('r1', 0);
    expect(box.due(500, 1000)).toEqual([]);
    expect(box.due(1000, 1000).map((m) => m.id)).toEqual(['r1']);
    expect(box.due(500, 0).map((m) => m.id)).toEqual(['r1']);
    expect(box.ack('nope')).toBeUndefined();
    expect(box.ack('r1')?.id).toBe('r1');
    expect(box.size).toBe(0);
  });

  it('replaces the report of the same payment', () => {
    const box = new Outbox();
    box.put(result('r1'));
    expect(box.put(result('r2'))?.id).toBe('r1');
    expect(box.ack('r1')).toBeUndefined();
    expect(box.has('pay-1')).toBe(true);
    expect(box.ack('r2')?.id).toBe('r2');
  });
});
