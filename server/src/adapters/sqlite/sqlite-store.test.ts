/**
 * What only the SQLite adapter has: a file, several connections to it, migrations, and free
 * pages. Everything a port promises is in the contract suites (./sqlite-contract.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { apply, approvedResult, binding, newPayment } from '../../ports/contract-helpers.ts';
import type { PaymentStore } from '../../ports/index.ts';
import { tempDir } from '../../testing/helpers.ts';
import { openSqliteStore } from './index.ts';

let tmp: ReturnType<typeof tempDir>;
let store: PaymentStore;
let file: string;

beforeEach(async () => {
  tmp = tempDir();
  file = join(tmp.dir, 'store.sqlite');
  store = await openSqliteStore({ filename: file });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

/** The database file and its WAL, as bytes. */
function fileBytes(): string {
  let text = readFileSync(file).toString('latin1');
  try {
    text += readFileSync(`${file}-wal`).toString('latin1');
  } catch {
    // no WAL file: everything is in the main file
  }
  return text;
}

describe('SqlitePaymentStore', () => {
  it('concurrent creates from two connections to the same file make one row', async () => {
    const other = await openSqliteStore({ filename: file });
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).createPayment(newPayment({ paymentId: 'P2' }))),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.payment.id)).size).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('claims from two connections to the same file never share a callback or a deadline', async () => {
    const other = await openSqliteStore({ filename: file });
    try {
      for (let i = 0; i < 10; i += 1) {
        const { payment } = await store.createPayment(newPayment({ paymentId: `C${i}`, createdAt: 1000 + i }));
        const bound = await apply(store, payment, { type: 'terminal.bound', binding }, 2000);
        await apply(store, bound!, approvedResult, 2000, true);
        await store.createPayment(newPayment({ paymentId: `D${i}`, deadlineAt: 1000 + i }));
      }
      const claimers = Array.from({ length: 8 }, (_, i) => ({ s: i % 2 ? store : other, owner: i % 2 ? 'instance-a' : 'instance-b' }));
      const callbacks = await Promise.all(claimers.map(({ s, owner }) => s.claimDueCallbacks(5000, 10_000, 2, undefined, owner)));
      const deadlines = await Promise.all(claimers.map(({ s, owner }) => s.claimDuePayments(5000, 2, 10_000, owner)));
      const callbackIds = callbacks.flat().map((c) => c.id);
      const paymentIds = deadlines.flat().map((p) => p.paymentId);
      expect(new Set(callbackIds).size).toBe(10);
      expect(callbackIds).toHaveLength(10);
      expect(new Set(paymentIds).size).toBe(10);
      expect(paymentIds).toHaveLength(10);
    } finally {
      await other.close();
    }
  });

  it('survives reopening (migrations are not re-applied)', async () => {
    await store.createPayment(newPayment());
    await store.close();
    store = await openSqliteStore({ filename: file });
    expect((await store.getPayment('P1'))?.paymentId).toBe('P1');
  });

  it('deleteMeta leaves no copy of the value in the database file', async () => {
    const secret = 'S3CRET-value-that-must-go-0123456789';
    await store.getOrSetMeta('secret', secret);
    await store.getOrSetMeta('other', 'kept-value');
    await store.close();
    expect(fileBytes()).toContain(secret);
    store = await openSqliteStore({ filename: file });
    await store.deleteMeta('secret');
    await store.close();
    expect(fileBytes()).not.toContain(secret);
    expect(fileBytes()).toContain('kept-value');
    store = await openSqliteStore({ filename: file });
    expect(await store.getMeta('secret')).toBeNull();
  });
});
