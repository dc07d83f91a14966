/** The console's hash routes: each screen's address, and anything else the payment search. */
import { describe, expect, it } from 'vitest';
import type { AuditEntry, Terminal } from './api.ts';
import { mayUse, routeOf } from './app.tsx';
import { auditMatches } from './screens/audit.tsx';
import { pairCommand } from './screens/pairing.tsx';
import { upsertTerminal } from './screens/terminals.tsx';

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
    for (const name of ['pairing', 'users', 'tokens', 'audit'] as const) expect(routeOf(`#/${name}`)).toEqual({ name });
  });

  it('offers the admin screens to admins only, and the audit log to an unscoped admin only', () => {
    const of = (role: 'viewer' | 'operator' | 'admin', merchantId: string | null) => (['all', 'admin', 'unscopedAdmin'] as const).map((a) => mayUse({ role, merchantId }, a));
    expect(of('viewer', null)).toEqual([true, false, false]);
    expect(of('operator', null)).toEqual([true, false, false]);
    expect(of('admin', 'mch_a')).toEqual([true, true, false]);
    expect(of('admin', null)).toEqual([true, true, true]);
  });
});

describe('console screen logic', () => {
  const terminal = (serialNumber: string, online: boolean): Terminal => ({
    serialNumber,
    online,
    lastSeenAt: '2026-12-03T10:00:00.000Z',
    agentId: 'agt_1',
    agentName: 'caixa',
    storeId: 'sto_1',
    storeName: 'loja',
    merchantId: 'mch_1',
    merchantName: null,
  });

  it('puts a pushed terminal in place of the old one, or adds it, in serial order', () => {
    const list = [terminal('SN1', true), terminal('SN3', true)];
    expect(upsertTerminal(list, terminal('SN3', false)).map((t) => [t.serialNumber, t.online])).toEqual([['SN1', true], ['SN3', false]]);
    expect(upsertTerminal(list, terminal('SN2', true)).map((t) => t.serialNumber)).toEqual(['SN1', 'SN2', 'SN3']);
    expect(list.map((t) => t.online)).toEqual([true, true]);
  });

  it('filters audit rows by actor, action, outcome and any text', () => {
    const row: AuditEntry = { seq: 1, actor: 'user:Ana', action: 'token.add', target: 'tok_1', reason: 'wall screen: role viewer', outcome: 'ok', at: '2026-12-03T10:00:00.000Z' };
    const none = { actor: '', action: '', outcome: '', text: '' };
    expect(auditMatches(row, none)).toBe(true);
    expect(auditMatches(row, { ...none, actor: 'ana' })).toBe(true);
    expect(auditMatches(row, { ...none, actor: 'joao' })).toBe(false);
    expect(auditMatches(row, { ...none, action: 'token.' })).toBe(true);
    expect(auditMatches(row, { ...none, outcome: 'refused' })).toBe(false);
    expect(auditMatches({ ...row, outcome: 'ADMIN_UNAUTHORIZED' }, { ...none, outcome: 'refused' })).toBe(true);
    expect(auditMatches(row, { ...none, text: 'WALL' })).toBe(true);
    expect(auditMatches(row, { ...none, text: 'nothing' })).toBe(false);
  });

  it('writes the agent command for a code and the console origin', () => {
    expect(pairCommand('7K3QD-M9X2T', 'https://pos.example:8443')).toBe('posbridge-agent pair 7K3QD-M9X2T --server https://pos.example:8443');
  });
});
