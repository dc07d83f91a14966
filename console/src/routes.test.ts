/** The console's hash routes: each screen's address, and anything else the payment search. */
import { describe, expect, it } from 'vitest';
import { routeOf } from './app.tsx';

describe('console routes', () => {
  it('reads the screen and its parameters from the hash', () => {
    expect(routeOf('#/payments/PAY%2F1')).toEqual({ name: 'payment', id: 'PAY/1' });
    expect(routeOf('#/unknown')).toEqual({ name: 'unknown' });
    expect(routeOf('#/terminals')).toEqual({ name: 'terminals' });
    expect(routeOf('#/directory')).toEqual({ name: 'directory' });
    const cards = routeOf('#/giftcards?merchant=shop&profile=p-1');
    expect(cards.name === 'giftcards' ? Object.fromEntries(cards.params) : null).toEqual({ merchant: 'shop', profile: 'p-1' });
    const card = routeOf('#/giftcards/gc_A%2F1?merchant=shop');
    expect(card.name === 'giftcard' ? [card.id, card.params.get('merchant')] : null).toEqual(['gc_A/1', 'shop']);
    const search = routeOf('#/payments?orderId=123&status=unknown');
    expect(search.name).toBe('payments');
    expect(search.name === 'payments' ? Object.fromEntries(search.params) : null).toEqual({ orderId: '123', status: 'unknown' });
    for (const other of ['', '#', '#/nothing', '#/payments/']) expect(routeOf(other).name).toBe('payments');
  });
});
