/**
 * `posbridge-server giftcard …` on a SQLite file: credentials, issue (the code works at the
 * server's search: CLI and server derive one pepper), credit (idempotent by --request-id), show
 * (the whole journal), list, usage errors and --help (also through the bin).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from './adapters/sqlite/index.ts';
import { runGiftcardCli } from './cli-giftcard.ts';
import { findProviderCredentials, issueProviderCredentials } from './giftcards/provider-credentials.ts';
import type { PaymentStore } from './ports/index.ts';
import { startTestServer, tempDir } from './testing/helpers.ts';

const exec = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/posbridge-server.js', import.meta.url));

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function cli(args: string[], db: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runGiftcardCli([...args, '--db', db], {}, () => Date.parse('2026-12-02T10:00:00Z'), { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

async function withMerchant(db: string, name: string): Promise<void> {
  const store = await openSqliteStore({ filename: db });
  try {
    await store.createMerchant({ merchantId: `mch_${name}`, name, appKey: `key-${name}`, appTokenSha256: 'a'.repeat(64), callbackMode: 'notification', createdAt: 0 });
  } finally {
    await store.close();
  }
}

describe('posbridge-server giftcard', () => {
  it('issues provider credentials for a known merchant only, keeping only the token hash', async () => {
    const db = join(tmp.dir, 'db.sqlite');
    const unknown = await cli(['credentials', 'issue', '--merchant', 'acme'], db);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no merchant named "acme"');
    await withMerchant(db, 'acme');
    const issued = await cli(['credentials', 'issue', '--merchant', 'acme'], db);
    expect(issued.code).toBe(0);
    const appKey = /appKey:\s+(\S+)/.exec(issued.out)?.[1];
    const appToken = /appToken:\s+(\S+)/.exec(issued.out)?.[1];
    expect(issued.out).toContain('/giftcard-provider/acme');
    const store = await openSqliteStore({ filename: db });
    try {
      const record = await findProviderCredentials(store, 'acme');
      expect(record?.appKey).toBe(appKey);
      expect(JSON.stringify(record)).not.toContain(appToken!);
    } finally {
      await store.close();
    }
  });

  it('issue, credit, show, list: the CLI code is found by the server; credits repeat once; the journal is shown', async () => {
    const t = await startTestServer({}, tmp.dir);
    const db = join(tmp.dir, 'db.sqlite');
    try {
      await withMerchantOn(t.server.store, 'acme');
      const issued = await cli(['issue', '--merchant', 'acme', '--profile', 'profile-1', '--currency', 'BRL', '--value', '50.00', '--caption', 'Loyalty'], db);
      expect(issued.err).toBe('');
      expect(issued.code).toBe(0);
      const cardId = /cardId:\s+(\S+)/.exec(issued.out)?.[1] ?? '';
      const code = /redemptionCode:\s+(\S+)/.exec(issued.out)?.[1] ?? '';
      expect(issued.out).toMatch(/balance:\s+.*50[.,]00/);

      const credited = await cli(['credit', cardId, '--merchant', 'acme', '--value', '12.5', '--request-id', 'topup-1'], db);
      expect(credited.out).toMatch(/^credited/);
      const again = await cli(['credit', cardId, '--merchant', 'acme', '--value', '12.5', '--request-id', 'topup-1'], db);
      expect(again.out).toMatch(/^already credited/);
      const bad = await cli(['credit', cardId, '--merchant', 'acme', '--value', '1.005'], db);
      expect(bad.code).toBe(2);

      const show = await cli(['show', cardId, '--merchant', 'acme'], db);
      expect(show.out).toContain('(62.5)');
      expect(show.out.match(/ credit /g)).toHaveLength(2);
      expect(show.out).toContain('requestId topup-1');
      expect(show.out).not.toContain(code);
      const list = await cli(['list', '--merchant', 'acme', '--profile', 'profile-1'], db);
      expect(list.out).toContain(cardId);

      // The running server finds the card by the code the CLI printed.
      const cred = await issueProviderCredentials(t.server.store, 'acme', Date.now());
      const res = await fetch(`${t.server.url}/giftcard-provider/acme/giftcards/_search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-PROVIDER-API-AppKey': cred.appKey, 'X-PROVIDER-API-AppToken': cred.appToken },
        body: JSON.stringify({ client: { id: 'x', email: 'x@example.com', document: '1' }, cart: { redemptionCode: code } }),
      });
      expect(await res.json()).toEqual([expect.objectContaining({ id: cardId, balance: 62.5 })]);
    } finally {
      await t.server.close();
    }
  });

  it('usage errors exit 2; --help exits 0, also through the bin', async () => {
    const db = join(tmp.dir, 'db.sqlite');
    expect((await cli(['show', 'gc_x'], db)).code).toBe(2);
    expect((await cli(['issue', '--merchant', 'acme'], db)).code).toBe(2);
    expect((await cli(['frobnicate', '--merchant', 'acme'], db)).code).toBe(2);
    const { stdout } = await exec(process.execPath, [...SOURCE_NODE_ARGS, BIN, 'giftcard', '--help'], { encoding: 'utf8' });
    expect(stdout).toContain('giftcard credentials issue --merchant M');
    const top = await exec(process.execPath, [...SOURCE_NODE_ARGS, BIN, '--help'], { encoding: 'utf8' });
    expect(top.stdout).toContain('posbridge-server giftcard --help');
  }, 30_000);
});

async function withMerchantOn(store: PaymentStore, name: string): Promise<void> {
  await store.createMerchant({ merchantId: `mch_${name}`, name, appKey: `key-${name}`, appTokenSha256: 'a'.repeat(64), callbackMode: 'notification', createdAt: 0 });
}
