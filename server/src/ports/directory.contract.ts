/**
 * Contract of the directory (./directory.ts `DirectoryPort`): every adapter runs these same
 * assertions (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { useStore, type StoreFactory } from './contract-helpers.ts';
import { BOOTSTRAP_MERCHANT_ID, type MerchantRecord } from './directory.ts';

const merchant = (overrides: Partial<MerchantRecord> = {}): MerchantRecord => ({
  merchantId: 'mch_a',
  name: 'shopA',
  appKey: 'key-a',
  appTokenSha256: 'tok-a',
  callbackMode: 'notification',
  createdAt: 10,
  ...overrides,
});

/** Registers the directory contract against stores made by `factory`. */
export function directoryContract(factory: StoreFactory): void {
  describe('DirectoryPort contract', () => {
    const store = useStore(factory);

    it('stores agents by token hash, terminals and meta', async () => {
      await store().createAgent({ agentId: 'ag1', name: 'shop', createdAt: 1 }, 'hash1');
      expect(await store().findAgentByTokenHash('hash1')).toEqual({ agentId: 'ag1', name: 'shop', createdAt: 1, storeId: null });
      expect(await store().findAgentByTokenHash('nope')).toBeNull();
      await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
      expect(await store().touchTerminal('SN1', 'ag1', 6)).toBe(true);
      expect(await store().findTerminal('SN1')).toEqual({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 6 });
      expect(await store().getOrSetMeta('k', 'v1')).toBe('v1');
      expect(await store().getOrSetMeta('k', 'v2')).toBe('v1');
    });

    it('keeps a terminal with its first registrant; moves only by compare-and-set, audited', async () => {
      await store().createAgent({ agentId: 'ag1', name: 'one', createdAt: 1 }, 'h1');
      await store().createAgent({ agentId: 'ag2', name: 'two', createdAt: 1 }, 'h2');
      expect(await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 })).toMatchObject({ created: true, terminal: { agentId: 'ag1' } });
      // A second registration never changes the owner, nor its last-seen time.
      expect(await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag2', lastSeenAt: 7 })).toEqual({
        created: false,
        terminal: { serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 },
      });
      expect(await store().touchTerminal('SN1', 'ag2', 8)).toBe(false);
      expect(await store().findTerminal('SN1')).toEqual({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
      const move = { serialNumber: 'SN1', fromAgentId: 'ag2', toAgentId: 'ag1', actor: 'cli:ops', reason: 'wrong owner', at: 9 };
      expect(await store().moveTerminal(move)).toBe(false);
      expect(await store().moveTerminal({ ...move, fromAgentId: 'ag1', toAgentId: 'ag2' })).toBe(true);
      expect(await store().findTerminal('SN1')).toMatchObject({ agentId: 'ag2' });
      expect(await store().listTerminalEvents('SN1')).toEqual([
        { seq: expect.any(Number), serialNumber: 'SN1', type: 'registered', fromAgentId: null, toAgentId: 'ag1', actor: 'hub', reason: expect.any(String), at: 5 },
        { seq: expect.any(Number), serialNumber: 'SN1', type: 'moved', fromAgentId: 'ag1', toAgentId: 'ag2', actor: 'cli:ops', reason: 'wrong owner', at: 9 },
      ]);
      expect(await store().getAgent('ag2')).toMatchObject({ agentId: 'ag2', name: 'two' });
      expect(await store().getAgent('nope')).toBeNull();
    });

    it('registers a serial once under concurrent first announcements', async () => {
      await store().createAgent({ agentId: 'ag1', name: 'one', createdAt: 1 }, 'h1');
      await store().createAgent({ agentId: 'ag2', name: 'two', createdAt: 1 }, 'h2');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store().registerTerminal({ serialNumber: 'SN1', agentId: i % 2 ? 'ag1' : 'ag2', lastSeenAt: i })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.terminal.agentId)).size).toBe(1);
      expect(await store().listTerminalEvents('SN1')).toHaveLength(1);
    });

    it('refuses a terminal of an unknown agent, a move to an unknown agent, and a duplicate agent (STORE_FAILED), writing nothing', async () => {
      await expect(store().registerTerminal({ serialNumber: 'SN1', agentId: 'ghost', lastSeenAt: 5 })).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().findTerminal('SN1')).toBeNull();
      expect(await store().listTerminalEvents('SN1')).toEqual([]);
      await store().createAgent({ agentId: 'ag1', name: 'one', createdAt: 1 }, 'h1');
      await expect(store().createAgent({ agentId: 'ag1', name: 'again', createdAt: 2 }, 'h9')).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createAgent({ agentId: 'ag9', name: 'same token', createdAt: 2 }, 'h1')).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createAgent({ agentId: 'ag8', name: 'no store', createdAt: 2, storeId: 'sto_ghost' }, 'h8')).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().getAgent('ag9')).toBeNull();
      await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
      await expect(store().moveTerminal({ serialNumber: 'SN1', fromAgentId: 'ag1', toAgentId: 'ghost', actor: 'hub', reason: 'x', at: 6 })).rejects.toMatchObject({
        code: 'STORE_FAILED',
      });
      expect(await store().findTerminal('SN1')).toMatchObject({ agentId: 'ag1' });
      expect(await store().listTerminalEvents('SN1')).toHaveLength(1);
    });

    it('keeps the first 200 characters of a move\'s actor and 500 of its reason', async () => {
      await store().createAgent({ agentId: 'ag1', name: 'one', createdAt: 1 }, 'h1');
      await store().createAgent({ agentId: 'ag2', name: 'two', createdAt: 1 }, 'h2');
      await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag1', lastSeenAt: 5 });
      expect(await store().moveTerminal({ serialNumber: 'SN1', fromAgentId: 'ag1', toAgentId: 'ag2', actor: 'a'.repeat(300), reason: 'r'.repeat(600), at: 9 })).toBe(true);
      expect((await store().listTerminalEvents('SN1'))[1]).toMatchObject({ actor: 'a'.repeat(200), reason: 'r'.repeat(500) });
    });

    it('creates merchants with unique ids, names and appKeys (CFG_INVALID otherwise)', async () => {
      await store().createMerchant(merchant());
      await store().createMerchant(merchant({ merchantId: 'mch_b', name: 'shopB', appKey: 'key-b', createdAt: 5, callbackMode: 'retry' }));
      for (const taken of [{ name: 'shopA' }, { appKey: 'key-a' }, { merchantId: 'mch_a' }]) {
        await expect(store().createMerchant(merchant({ merchantId: 'mch_c', name: 'shopC', appKey: 'key-c', ...taken }))).rejects.toMatchObject({ code: 'CFG_INVALID' });
      }
      expect((await store().listMerchants()).map((m) => m.merchantId)).toEqual(['mch_b', 'mch_a']);
      expect(await store().findMerchantByAppKey('key-b')).toEqual(merchant({ merchantId: 'mch_b', name: 'shopB', appKey: 'key-b', createdAt: 5, callbackMode: 'retry' }));
      expect((await store().findMerchantByName('shopA'))?.merchantId).toBe('mch_a');
      expect((await store().getMerchant('mch_a'))?.appKey).toBe('key-a');
      expect(await store().findMerchantByAppKey('nope')).toBeNull();
      expect(await store().findMerchantByName('nope')).toBeNull();
      expect(await store().getMerchant('nope')).toBeNull();
    });

    it('keeps a merchant\'s Test Suite mode off by default; an admin turns it on and off, kept across a bootstrap upsert', async () => {
      await store().createMerchant(merchant());
      expect((await store().getMerchant('mch_a'))?.testSuiteMode ?? false).toBe(false);
      expect(await store().setMerchantTestSuite({ merchantId: 'mch_a', on: true, actor: 'cli:ops', at: 20 })).toBe(true);
      expect(await store().findMerchantByAppKey('key-a')).toMatchObject({ testSuiteMode: true });
      expect(await store().setMerchantTestSuite({ merchantId: 'nope', on: true, actor: 'cli:ops', at: 20 })).toBe(false);
      const boot = merchant({ merchantId: BOOTSTRAP_MERCHANT_ID, name: 'boot', appKey: 'key-b' });
      await store().upsertBootstrapMerchant(boot);
      await store().setMerchantTestSuite({ merchantId: BOOTSTRAP_MERCHANT_ID, on: true, actor: 'cli:ops', at: 21 });
      await store().upsertBootstrapMerchant(boot);
      expect((await store().getMerchant(BOOTSTRAP_MERCHANT_ID))?.testSuiteMode).toBe(true);
      expect(await store().setMerchantTestSuite({ merchantId: 'mch_a', on: false, actor: 'cli:ops', at: 22 })).toBe(true);
      expect((await store().findMerchantByName('shopA'))?.testSuiteMode ?? false).toBe(false);
      expect((await store().listMerchants()).map((m) => m.testSuiteMode ?? false)).toEqual([false, true]);
    });

    it("opens VTEX's own Payment Apps by default; an admin sets the partner's app and clears it, kept across a bootstrap upsert", async () => {
      await store().createMerchant(merchant());
      expect((await store().getMerchant('mch_a'))?.paymentApp).toBeUndefined();
      expect(await store().setMerchantPaymentApp({ merchantId: 'mch_a', paymentApp: 'acme.posbridge-pay', actor: 'cli:ops', at: 30 })).toBe(true);
      expect(await store().findMerchantByAppKey('key-a')).toMatchObject({ paymentApp: 'acme.posbridge-pay' });
      expect((await store().findMerchantByName('shopA'))?.paymentApp).toBe('acme.posbridge-pay');
      expect(await store().setMerchantPaymentApp({ merchantId: 'nope', paymentApp: 'acme.x', actor: 'cli:ops', at: 30 })).toBe(false);
      const boot = merchant({ merchantId: BOOTSTRAP_MERCHANT_ID, name: 'boot', appKey: 'key-b' });
      await store().upsertBootstrapMerchant(boot);
      await store().setMerchantPaymentApp({ merchantId: BOOTSTRAP_MERCHANT_ID, paymentApp: 'boot.pay-app', actor: 'cli:ops', at: 31 });
      await store().upsertBootstrapMerchant(boot);
      expect((await store().getMerchant(BOOTSTRAP_MERCHANT_ID))?.paymentApp).toBe('boot.pay-app');
      expect(await store().setMerchantPaymentApp({ merchantId: 'mch_a', paymentApp: null, actor: 'cli:ops', at: 32 })).toBe(true);
      expect((await store().findMerchantByAppKey('key-a'))?.paymentApp).toBeUndefined();
      expect((await store().listMerchants()).map((m) => m.paymentApp ?? null)).toEqual([null, 'boot.pay-app']);
    });

    it('upserts the bootstrap merchant and its default store; refuses credentials of another merchant', async () => {
      const boot = merchant({ merchantId: 'mch_bootstrap', name: null, appKey: 'env-key', createdAt: 1 });
      await store().upsertBootstrapMerchant(boot);
      await store().upsertBootstrapMerchant({ ...boot, appKey: 'env-key-2', appTokenSha256: 'tok-2', callbackMode: 'retry', createdAt: 99 });
      expect(await store().getMerchant('mch_bootstrap')).toEqual({ ...boot, appKey: 'env-key-2', appTokenSha256: 'tok-2', callbackMode: 'retry' });
      expect(await store().findStore('mch_bootstrap', 'default')).toEqual({ storeId: 'sto_bootstrap', merchantId: 'mch_bootstrap', name: 'default', createdAt: 1 });
      await store().createMerchant(merchant());
      await expect(store().upsertBootstrapMerchant({ ...boot, appKey: 'key-a' })).rejects.toMatchObject({ code: 'CFG_INVALID' });
      await expect(store().upsertBootstrapMerchant({ ...boot, name: 'shopA' })).rejects.toMatchObject({ code: 'CFG_INVALID' });
      expect((await store().getMerchant('mch_bootstrap'))?.appKey).toBe('env-key-2');
    });

    it('creates stores with unique names per merchant, and tells whom an agent serves', async () => {
      await store().createMerchant(merchant());
      await store().createMerchant(merchant({ merchantId: 'mch_b', name: 'shopB', appKey: 'key-b' }));
      await store().createStore({ storeId: 'sto_a1', merchantId: 'mch_a', name: 'downtown', createdAt: 11 });
      await store().createStore({ storeId: 'sto_b1', merchantId: 'mch_b', name: 'downtown', createdAt: 12 });
      await expect(store().createStore({ storeId: 'sto_a2', merchantId: 'mch_a', name: 'downtown', createdAt: 13 })).rejects.toMatchObject({ code: 'CFG_INVALID' });
      await expect(store().createStore({ storeId: 'sto_a1', merchantId: 'mch_a', name: 'uptown', createdAt: 13 })).rejects.toMatchObject({ code: 'CFG_INVALID' });
      expect(await store().findStore('mch_a', 'downtown')).toEqual({ storeId: 'sto_a1', merchantId: 'mch_a', name: 'downtown', createdAt: 11 });
      expect(await store().findStore('mch_a', 'uptown')).toBeNull();
      await store().createAgent({ agentId: 'ag_a', name: 'till A', createdAt: 20, storeId: 'sto_a1' }, 'ha');
      await store().createAgent({ agentId: 'ag_boot', name: 'till', createdAt: 21 }, 'hb');
      expect(await store().agentOwner('ag_a')).toEqual({ merchantId: 'mch_a', storeId: 'sto_a1' });
      expect(await store().agentOwner('ag_boot')).toEqual({ merchantId: 'mch_bootstrap', storeId: 'sto_bootstrap' });
      expect(await store().agentOwner('nope')).toBeNull();
      expect(await store().getAgent('ag_a')).toEqual({ agentId: 'ag_a', name: 'till A', createdAt: 20, storeId: 'sto_a1' });
    });

    it('lists terminals with their agent, store and merchant, by serial, optionally of one merchant', async () => {
      await store().upsertBootstrapMerchant(merchant({ merchantId: 'mch_bootstrap', name: null, appKey: 'env-key', createdAt: 1 }));
      await store().createMerchant(merchant());
      await store().createStore({ storeId: 'sto_a1', merchantId: 'mch_a', name: 'downtown', createdAt: 11 });
      await store().createAgent({ agentId: 'ag_a', name: 'till A', createdAt: 20, storeId: 'sto_a1' }, 'ha');
      await store().createAgent({ agentId: 'ag_boot', name: 'till', createdAt: 21 }, 'hb');
      await store().registerTerminal({ serialNumber: 'SN2', agentId: 'ag_a', lastSeenAt: 30 });
      await store().registerTerminal({ serialNumber: 'SN1', agentId: 'ag_boot', lastSeenAt: 31 });
      const all = await store().listTerminals();
      expect(all).toEqual([
        { serialNumber: 'SN1', agentId: 'ag_boot', lastSeenAt: 31, agentName: 'till', storeId: 'sto_bootstrap', storeName: 'default', merchantId: 'mch_bootstrap', merchantName: null },
        { serialNumber: 'SN2', agentId: 'ag_a', lastSeenAt: 30, agentName: 'till A', storeId: 'sto_a1', storeName: 'downtown', merchantId: 'mch_a', merchantName: 'shopA' },
      ]);
      expect((await store().listTerminals('mch_a')).map((t) => t.serialNumber)).toEqual(['SN2']);
      expect(await store().listTerminals('mch_none')).toEqual([]);
    });
  });
}
