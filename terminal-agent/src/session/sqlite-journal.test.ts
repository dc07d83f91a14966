/** The on-disk journal: survives a reopen (a restart), keeps an append-only history, refuses duplicates. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteJournal } from './sqlite-journal.ts';
import { newTransaction, txKey, type Transaction } from './transaction-machine.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmpFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'agent-journal-'));
  dirs.push(d);
  return join(d, 'journal.sqlite');
};
const tx = (paymentId: string, at: number, extra: Partial<Transaction> = {}): Transaction => ({
  ...newTransaction(
    { paymentId, serialNumber: 'SN-1', rid: `r-${paymentId}`, amount: { amountMinor: 100, currency: 'BRL' }, method: 'debit', installments: 1, startMessageId: 'm' },
    at,
  ),
  ...extra,
});

describe('SqliteJournal', () => {
  it('stores, updates and lists unreported transactions across a reopen', async () => {
    const file = tmpFile();
    const j = await SqliteJournal.open(file);
    await j.put({ ...tx('a', 1), phase: 'requested' });
    await j.put({ ...tx('b', 2), phase: 'requested' });
    await j.put({ ...tx('pay-v', 3, { kind: 'void', operationId: 'op-1', originalTerminalRef: 'r-x' }), phase: 'requested' });
    await j.update({ ...tx('b', 2), phase: 'reported', updatedAt: 5 });
    await expect(j.put({ ...tx('a', 1), phase: 'requested' })).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await expect(j.update(tx('zzz', 1))).rejects.toMatchObject({ code: 'STORE_FAILED' });
    await j.close();

    const again = await SqliteJournal.open(file);
    expect((await again.listUnreported()).map((t) => txKey(t))).toEqual(['a', 'op:op-1']);
    expect(await again.get('b')).toMatchObject({ phase: 'reported' });
    expect(await again.get('op:op-1')).toMatchObject({ kind: 'void', paymentId: 'pay-v' });
    expect(await again.history('b')).toEqual([
      { phase: 'requested', at: 2 },
      { phase: 'reported', at: 5 },
    ]);
    await again.close();
  });

  it('fails with STORE_FAILED when the file cannot be opened', async () => {
    await expect(SqliteJournal.open('/nonexistent-dir/x/journal.sqlite')).rejects.toMatchObject({ code: 'STORE_FAILED' });
  });
});
