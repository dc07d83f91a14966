/**
 * What only the SQLite gift card store has: several connections to one file (a server and an
 * operator command on the same database) and the schema's append-only journal. Everything the
 * port promises is in the contract suite (../../ports/giftcards.contract.ts).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { giftCard } from '../../ports/giftcards.contract.ts';
import type { EntryRequest, PaymentStore } from '../../ports/index.ts';
import { tempDir } from '../../testing/helpers.ts';
import { openSqliteStore } from './index.ts';
import { SqliteDb } from './sqlite-db.ts';

let tmp: ReturnType<typeof tempDir>;
let file: string;
let stores: PaymentStore[];

beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'store.sqlite');
  stores = [await openSqliteStore({ filename: file }), await openSqliteStore({ filename: file })];
});
afterEach(async () => {
  for (const s of stores) await s.close();
  tmp.cleanup();
});

const debit = (i: number, amountMinor: number): EntryRequest => ({ cardId: 'gc_a', entryId: `gct_${i}`, requestId: `r_${i}`, kind: 'debit', amountMinor });

describe('SQLite gift card store', () => {
  it('never drives a balance below zero with parallel debits from two connections to one file', async () => {
    const [a, b] = stores as [PaymentStore, PaymentStore];
    await a.createGiftCard(giftCard('gc_a'));
    await a.appendGiftCardEntry('M', { cardId: 'gc_a', entryId: 'gct_load', requestId: 'load', kind: 'credit', amountMinor: 1000 }, 2000);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).appendGiftCardEntry('M', debit(i, 70), 2001)));
    expect(results.filter((r) => r.kind === 'appended')).toHaveLength(14); // 14 × 70 = 980 ≤ 1000 < 15 × 70
    expect(await b.getGiftCardBalance('M', 'gc_a')).toBe(20);
    const { entries } = await a.listGiftCardEntries('M', 'gc_a', 0, 100);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  });

  it('refuses to update or delete a journal entry', async () => {
    const [a] = stores as [PaymentStore];
    await a.createGiftCard(giftCard('gc_a'));
    await a.appendGiftCardEntry('M', { cardId: 'gc_a', entryId: 'gct_load', requestId: 'load', kind: 'credit', amountMinor: 1000 }, 2000);
    const raw = await SqliteDb.open(file);
    try {
      await expect(raw.run("UPDATE gift_card_entries SET amount_minor = 999999 WHERE entry_id = 'gct_load'")).rejects.toThrow(/append-only/);
      await expect(raw.run("DELETE FROM gift_card_entries WHERE entry_id = 'gct_load'")).rejects.toThrow(/append-only/);
    } finally {
      await raw.close();
    }
    expect(await a.getGiftCardBalance('M', 'gc_a')).toBe(1000);
  });
});
