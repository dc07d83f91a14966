/**
 * Contract of the admin port (./admin.ts `AdminPort`): every adapter runs these same assertions
 * (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts,
 * adapters/postgres/postgres-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AdminCredential, AdminUser } from './admin.ts';
import { apply, approvedPayment, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';
import { BOOTSTRAP_MERCHANT_ID, BOOTSTRAP_STORE_ID } from './directory.ts';
import type { PaymentStore } from './index.ts';

const user = (over: Partial<AdminUser> = {}): AdminUser => ({
  userId: 'usr_1',
  name: 'ana',
  role: 'operator',
  merchantId: null,
  passwordHash: 'scrypt$16384$8$1$c2FsdA$aGFzaA',
  disabled: false,
  createdAt: 10,
  ...over,
});

const credential = (over: Partial<AdminCredential> = {}): AdminCredential => ({
  credentialId: 'tok_1',
  kind: 'api',
  secretSha256: 'a'.repeat(64),
  label: 'ci',
  userId: null,
  role: 'viewer',
  merchantId: null,
  createdAt: 20,
  expiresAt: null,
  revokedAt: null,
  ...over,
});

/** Two merchants, a store of the second, and an agent in each store. */
async function directory(store: PaymentStore): Promise<void> {
  await store.upsertBootstrapMerchant({
    merchantId: BOOTSTRAP_MERCHANT_ID,
    name: null,
    appKey: 'k0',
    appTokenSha256: '0'.repeat(64),
    callbackMode: 'notification',
    createdAt: 1,
  });
  await store.createMerchant({ merchantId: 'mch_2', name: 'two', appKey: 'k2', appTokenSha256: '2'.repeat(64), callbackMode: 'retry', createdAt: 2 });
  await store.createStore({ storeId: 'sto_2', merchantId: 'mch_2', name: 'centro', createdAt: 3 });
  await store.createAgent({ agentId: 'ag1', name: 'caixa', createdAt: 4 }, 'h1');
  await store.createAgent({ agentId: 'ag2', name: 'balcao', createdAt: 5, storeId: 'sto_2' }, 'h2');
}

/** Registers the admin contract against stores made by `factory`. */
export function adminContract(factory: StoreFactory): void {
  describe('AdminPort contract', () => {
    const store = useStore(factory);

    it('searches payments by each identifier, newest first, in bounded pages with a cursor', async () => {
      await directory(store());
      const a = await approvedPayment(store(), { paymentId: 'PA', orderId: 'OA', transactionId: 'TA', createdAt: 1000 });
      await store().createPayment(newPayment({ paymentId: 'PB', orderId: 'OB', transactionId: 'TB', createdAt: 2000, merchantId: 'mch_2' }));
      const { payment: c } = await store().createPayment(newPayment({ paymentId: 'PC', orderId: 'OA', transactionId: 'TC', createdAt: 3000 }));
      await apply(store(), c, { type: 'terminal.bound', binding: { serialNumber: 'SN2', agentId: 'ag2', startId: 'st_c' } }, 3001);

      const ids = async (q: Parameters<PaymentStore['searchPayments']>[0]) => (await store().searchPayments(q)).payments.map((p) => p.paymentId);
      expect(await ids({ limit: 10 })).toEqual(['PC', 'PB', 'PA']);
      expect(await ids({ paymentId: 'PB', limit: 10 })).toEqual(['PB']);
      expect(await ids({ orderId: 'OA', limit: 10 })).toEqual(['PC', 'PA']);
      expect(await ids({ transactionId: 'TA', limit: 10 })).toEqual(['PA']);
      expect(await ids({ tid: a.id, limit: 10 })).toEqual(['PA']);
      expect(await ids({ tid: 'T', limit: 10 })).toEqual(['PA']); // the terminal's tid of the outcome
      expect(await ids({ nsu: '7', limit: 10 })).toEqual(['PA']);
      expect(await ids({ authorizationId: 'A1', limit: 10 })).toEqual(['PA']);
      expect(await ids({ serialNumber: binding.serialNumber, limit: 10 })).toEqual(['PA']);
      expect(await ids({ storeId: 'sto_2', limit: 10 })).toEqual(['PC']);
      expect(await ids({ storeId: BOOTSTRAP_STORE_ID, limit: 10 })).toEqual(['PA']);
      expect(await ids({ merchantId: 'mch_2', limit: 10 })).toEqual(['PB']);
      expect(await ids({ statuses: ['approved', 'dispatched'], limit: 10 })).toEqual(['PC', 'PA']);
      expect(await ids({ createdFrom: 2000, createdTo: 3000, limit: 10 })).toEqual(['PB']);
      expect(await ids({ orderId: 'OA', merchantId: 'mch_2', limit: 10 })).toEqual([]);

      const first = await store().searchPayments({ limit: 2 });
      expect(first.payments.map((p) => p.paymentId)).toEqual(['PC', 'PB']);
      expect(first.next).toEqual({ createdAt: 2000, paymentId: 'PB' });
      const second = await store().searchPayments({ limit: 2, after: first.next! });
      expect(second.payments.map((p) => p.paymentId)).toEqual(['PA']);
      expect(second.next).toBeNull();
      expect(second.payments[0]).toEqual(a);
    });

    it('lists operations newest first, by payment, status and merchant', async () => {
      await directory(store());
      await approvedPayment(store(), { paymentId: 'PO', createdAt: 1000 });
      await store().createPayment(newPayment({ paymentId: 'PQ', merchantId: 'mch_2', createdAt: 1500 }));
      const op = (operationId: string, paymentId: string, kind: 'cancel' | 'settle' | 'refund', amountMinor: number, status: 'approved' | 'unknown' | 'pending', at: number) =>
        store().recordOperation({ operationId, paymentId, kind, requestId: `req_${operationId}`, amountMinor, status, at });
      expect((await op('se1', 'PO', 'settle', 3190, 'approved', 2000)).kind).toBe('created');
      expect((await op('rf1', 'PO', 'refund', 1000, 'unknown', 3000)).kind).toBe('created');
      expect((await op('ca1', 'PQ', 'cancel', 0, 'pending', 2500)).kind).toBe('created');
      const list = async (f: Omit<Parameters<PaymentStore['listOperations']>[0], 'limit'>, limit = 10) =>
        (await store().listOperations({ ...f, limit })).map((o) => `${o.operationId}:${o.merchantId}`);
      expect(await list({})).toEqual(['rf1:mch_bootstrap', 'ca1:mch_2', 'se1:mch_bootstrap']);
      expect(await list({ statuses: ['unknown'] })).toEqual(['rf1:mch_bootstrap']);
      expect(await list({ paymentId: 'PO' })).toEqual(['rf1:mch_bootstrap', 'se1:mch_bootstrap']);
      expect(await list({ merchantId: 'mch_2' })).toEqual(['ca1:mch_2']);
      expect(await list({}, 1)).toEqual(['rf1:mch_bootstrap']);
      const [refund] = await store().listOperations({ paymentId: 'PO', statuses: ['unknown'], limit: 1 });
      expect(refund).toEqual({ ...(await store().getOperation('rf1')), merchantId: BOOTSTRAP_MERCHANT_ID });
    });

    it('orders payments created at the same time by paymentId, across pages', async () => {
      // By code point, whatever the database's collation: 'b' > 'Z' > 'A'.
      for (const id of ['A1', 'b1', 'Z1']) await store().createPayment(newPayment({ paymentId: id, createdAt: 500 }));
      const one = await store().searchPayments({ limit: 1 });
      const two = await store().searchPayments({ limit: 1, after: one.next! });
      const three = await store().searchPayments({ limit: 1, after: two.next! });
      expect([one, two, three].map((p) => p.payments[0]?.paymentId)).toEqual(['b1', 'Z1', 'A1']);
      expect(three.next).toBeNull();
    });

    it('lists stores and agents with their merchant, version and serials, scoped by merchant', async () => {
      await directory(store());
      await store().registerTerminal({ serialNumber: 'SN9', agentId: 'ag2', lastSeenAt: 7 });
      await store().registerTerminal({ serialNumber: 'SN8', agentId: 'ag2', lastSeenAt: 7 });
      expect(await store().recordAgentHello('ag2', '1.4.0', 77)).toBe(true);
      expect(await store().recordAgentHello('nobody', '1', 77)).toBe(false);
      expect(await store().listStores('mch_2')).toEqual([{ storeId: 'sto_2', merchantId: 'mch_2', name: 'centro', createdAt: 3 }]);
      expect((await store().listStores()).map((s) => s.storeId)).toEqual(['sto_2', BOOTSTRAP_STORE_ID]);
      expect(await store().listAgents('mch_2')).toEqual([
        { agentId: 'ag2', name: 'balcao', storeId: 'sto_2', merchantId: 'mch_2', createdAt: 5, agentVersion: '1.4.0', lastHelloAt: 77, serialNumbers: ['SN8', 'SN9'] },
      ]);
      expect(await store().listAgents()).toEqual([
        expect.objectContaining({ agentId: 'ag2' }),
        { agentId: 'ag1', name: 'caixa', storeId: BOOTSTRAP_STORE_ID, merchantId: BOOTSTRAP_MERCHANT_ID, createdAt: 4, agentVersion: null, lastHelloAt: null, serialNumbers: [] },
      ]);
    });

    it('keeps users with unique names, and disabling one revokes every credential of theirs at once', async () => {
      await store().createUser(user());
      await expect(store().createUser(user({ userId: 'usr_2' }))).rejects.toMatchObject({ code: 'CFG_INVALID' });
      await store().createUser(user({ userId: 'usr_0', name: 'bia', role: 'viewer' }));
      expect(await store().findUserByName('ana')).toEqual(user());
      expect(await store().getUser('usr_0')).toMatchObject({ name: 'bia', role: 'viewer' });
      expect(await store().findUserByName('nobody')).toBeNull();
      expect((await store().listUsers()).map((u) => u.name)).toEqual(['ana', 'bia']);

      await store().createCredential(credential({ credentialId: 'ses_1', kind: 'session', userId: 'usr_1', secretSha256: 'b'.repeat(64) }));
      await store().createCredential(credential({ credentialId: 'tok_2', userId: 'usr_1', secretSha256: 'c'.repeat(64), createdAt: 30 }));
      expect(await store().disableUser('usr_1', 99)).toBe(true);
      expect(await store().disableUser('usr_x', 99)).toBe(false);
      expect(await store().findUserByName('ana')).toMatchObject({ disabled: true });
      expect(await store().findCredentialByHash('b'.repeat(64))).toMatchObject({ revokedAt: 99 });
      expect(await store().findCredentialByHash('c'.repeat(64))).toMatchObject({ revokedAt: 99 });
    });

    it('keeps credentials by hash with unique ids and hashes; a revoked one stays revoked', async () => {
      await store().createCredential(credential());
      await expect(store().createCredential(credential({ credentialId: 'tok_9' }))).rejects.toMatchObject({ code: 'CFG_INVALID' });
      await expect(store().createCredential(credential({ secretSha256: 'f'.repeat(64) }))).rejects.toMatchObject({ code: 'CFG_INVALID' });
      await store().createCredential(credential({ credentialId: 'tok_3', secretSha256: 'd'.repeat(64), createdAt: 40, expiresAt: 500, merchantId: null }));
      expect(await store().findCredentialByHash('a'.repeat(64))).toEqual(credential());
      expect(await store().findCredentialByHash('e'.repeat(64))).toBeNull();
      expect((await store().listCredentials('api')).map((c) => c.credentialId)).toEqual(['tok_3', 'tok_1']);
      expect(await store().listCredentials('session')).toEqual([]);
      expect(await store().revokeCredential('tok_1', 50)).toBe(true);
      expect(await store().revokeCredential('tok_1', 60)).toBe(false);
      expect(await store().revokeCredential('tok_x', 60)).toBe(false);
      expect(await store().findCredentialByHash('a'.repeat(64))).toMatchObject({ revokedAt: 50 });
    });

    it('prunes sessions that expired or were revoked before a time, never API tokens', async () => {
      await store().createUser(user());
      const session = (id: string, hash: string, over: Partial<AdminCredential>) =>
        credential({ credentialId: id, kind: 'session', userId: 'usr_1', secretSha256: hash.repeat(64), ...over });
      await store().createCredential(session('ses_old', '1', { expiresAt: 100 }));
      await store().createCredential(session('ses_revoked', '2', { expiresAt: 10_000, revokedAt: 150 }));
      await store().createCredential(session('ses_live', '3', { expiresAt: 10_000 }));
      await store().createCredential(credential({ credentialId: 'tok_old', secretSha256: '4'.repeat(64), expiresAt: 100 }));
      expect(await store().pruneSessions(200)).toBe(2);
      expect(await store().pruneSessions(200)).toBe(0);
      expect((await store().listCredentials('session')).map((c) => c.credentialId)).toEqual(['ses_live']);
      expect((await store().listCredentials('api')).map((c) => c.credentialId)).toEqual(['tok_old']);
    });

    it('appends audit rows, bounded, newest first, paged by seq', async () => {
      await store().appendAudit({ actor: 'user:ana', action: 'payment.resolve', target: 'P1', reason: 'receipt shows approved', outcome: 'ok', at: 5 });
      await store().appendAudit({ actor: 'x'.repeat(300), action: 'callback.redeliver', target: 'y'.repeat(300), reason: 'z'.repeat(600), outcome: 'ok', at: 6 });
      const rows = await store().listAudit(10);
      expect(rows.map((r) => r.action)).toEqual(['callback.redeliver', 'payment.resolve']);
      expect(rows[0]).toMatchObject({ actor: 'x'.repeat(200), target: 'y'.repeat(200), reason: 'z'.repeat(500), at: 6 });
      expect(rows[1]).toEqual({ seq: expect.any(Number), actor: 'user:ana', action: 'payment.resolve', target: 'P1', reason: 'receipt shows approved', outcome: 'ok', at: 5 });
      expect(await store().listAudit(10, rows[0]!.seq)).toEqual([rows[1]]);
      expect(await store().listAudit(1)).toEqual([rows[0]]);
    });

    it('redelivers a settled callback, but not one a worker holds', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 1100);
      await apply(store(), bound!, approvedResult, 1200, true);
      const [entry] = await store().listCallbacks('P1');
      const [claimed] = await store().claimDueCallbacks(2000, 10_000, 10, undefined, 'inst-a');
      expect(await store().redeliverCallback(entry!.id, 3000)).toBe('in_flight');
      await store().markCallbackFailed(claimed!.id, { owner: 'inst-a', until: claimed!.leaseUntil }, 8, 'HTTP 500', 500, 4000);
      expect(await store().redeliverCallback(entry!.id, 5000)).toBe('scheduled');
      expect(await store().redeliverCallback(999_999, 5000)).toBe('not_found');
      expect(await store().listCallbacks('P1')).toEqual([
        expect.objectContaining({ status: 'pending', attempts: 0, nextAttemptAt: 5000, expiresAt: null, leaseOwner: null, lastHttpStatus: 500 }),
      ]);
      expect(await store().claimDueCallbacks(5000, 10_000, 10, undefined, 'inst-b')).toHaveLength(1);
    });
  });
}
