/**
 * Contract of the admin audit log's guarantee (docs/admin-api.md "Audit log"): every port call
 * that makes an audited change (./admin.ts, ./payments.ts `applyTransition`, ./operations.ts
 * `resolveUnknownOperation`, ./agent-enrolment.ts) takes its `audit` row and commits it in the same transaction as
 * the change — both or neither. Every adapter runs these same assertions
 * (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts,
 * adapters/postgres/postgres-contract.test.ts). A row the store refuses (./admin.ts
 * `auditRowProblem`: here a time that is not ms since epoch) must roll the change back.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import type { AdminCredential, AdminUser, NewAuditEntry } from './admin.ts';
import { apply, approvedPayment, approvedResult, binding, newPayment, useStore, type StoreFactory } from './contract-helpers.ts';
import type { PaymentStore } from './index.ts';
import type { Payment } from './payments.ts';

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

const row = (action: string, target: string, over: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  actor: 'user:root',
  action,
  target,
  reason: `why ${action}`,
  outcome: 'ok',
  at: 7000,
  ...over,
});

/** A row every adapter refuses (`at` is not ms since epoch). */
const refused = (action: string, target: string): NewAuditEntry => row(action, target, { at: Number.NaN });

/** The stored rows, oldest first, without their seq. */
async function rows(store: PaymentStore): Promise<NewAuditEntry[]> {
  return (await store.listAudit(500)).reverse().map(({ seq: _seq, ...rest }) => rest);
}

/** The change of `event` on `p` at `at` with `audit` (and an approved callback when asked). */
function change(store: PaymentStore, p: Payment, event: PaymentEvent, at: number, audit: NewAuditEntry, withCallback = false): Promise<Payment | null> {
  const { state } = transition(p, event, at);
  return store.applyTransition({
    paymentId: p.paymentId,
    expectedVersion: p.version,
    expectedStatus: p.status,
    next: state,
    event,
    at,
    audit,
    ...(withCallback ? { callback: { url: p.callbackUrl, body: '{"status":"approved"}', status: 'approved' as const } } : {}),
  });
}

/** An approved payment `P1` with a settled callback and an unknown refund `rf1`. */
async function withUnknownRefund(store: PaymentStore): Promise<void> {
  await approvedPayment(store);
  await store.recordOperation({ operationId: 'se1', paymentId: 'P1', kind: 'settle', requestId: 'S1', amountMinor: 3190, status: 'approved', at: 4000 });
  await store.recordOperation({ operationId: 'rf1', paymentId: 'P1', kind: 'refund', requestId: 'R1', amountMinor: 100, status: 'unknown', at: 4000 });
}

/** Registers the audit contract against stores made by `factory`. */
export function adminAuditContract(factory: StoreFactory): void {
  describe('AdminPort audit contract: a change and its audit row commit together', () => {
    const store = useStore(factory);

    it('writes the row with a user, a disable, a credential and a revocation, exactly as given', async () => {
      await store().createUser(user(), row('user.add', 'ana', { reason: 'role operator' }));
      await store().createCredential(credential({ userId: 'usr_1' }), row('token.add', 'tok_1'));
      expect(await store().revokeCredential('tok_1', 7100, row('token.revoke', 'tok_1', { at: 7100 }))).toBe(true);
      // Nothing changes: no row either.
      expect(await store().revokeCredential('tok_1', 7200, row('token.revoke', 'tok_1', { at: 7200 }))).toBe(false);
      expect(await store().revokeCredential('tok_nope', 7200, row('token.revoke', 'tok_nope', { at: 7200 }))).toBe(false);
      expect(await store().disableUser('usr_1', 7300, row('user.disable', 'ana', { actor: 'cli:ops', reason: 'left the company', at: 7300 }))).toBe(true);
      expect(await store().disableUser('usr_nope', 7400, row('user.disable', 'nope', { at: 7400 }))).toBe(false);
      expect(await rows(store())).toEqual([
        row('user.add', 'ana', { reason: 'role operator' }),
        row('token.add', 'tok_1'),
        row('token.revoke', 'tok_1', { at: 7100 }),
        row('user.disable', 'ana', { actor: 'cli:ops', reason: 'left the company', at: 7300 }),
      ]);
    });

    it('rolls back a user, a disable, a credential and a revocation whose row is refused', async () => {
      await expect(store().createUser(user(), refused('user.add', 'ana'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().findUserByName('ana')).toBeNull();
      await store().createUser(user());
      await expect(store().createCredential(credential({ userId: 'usr_1' }), refused('token.add', 'tok_1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().listCredentials('api')).toEqual([]);
      await store().createCredential(credential({ userId: 'usr_1' }));
      await expect(store().revokeCredential('tok_1', 7100, refused('token.revoke', 'tok_1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect((await store().listCredentials('api'))[0]?.revokedAt).toBeNull();
      await expect(store().disableUser('usr_1', 7300, refused('user.disable', 'ana'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect((await store().getUser('usr_1'))?.disabled).toBe(false);
      expect((await store().listCredentials('api'))[0]?.revokedAt).toBeNull();
      expect(await rows(store())).toEqual([]);
      // The store still works, and the ids of the rolled-back rows are free.
      await store().createCredential(credential({ credentialId: 'tok_2', secretSha256: 'b'.repeat(64) }), row('token.add', 'tok_2'));
      expect(await rows(store())).toEqual([row('token.add', 'tok_2')]);
    });

    it('writes the row with a payment transition and with a redelivery, and not with a redelivery refused', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await change(store(), payment, { type: 'terminal.bound', binding }, 1100, row('payment.bind', 'P1', { at: 1100 }));
      expect(bound?.status).toBe('dispatched');
      await apply(store(), bound!, approvedResult, 1200, true);
      const [cb] = await store().listCallbacks('P1');
      const [claimed] = await store().claimDueCallbacks(2000, 10_000, 10, undefined, 'inst-a');
      expect(await store().redeliverCallback(cb!.id, 3000, row('callback.redeliver', `P1#${cb!.id}`, { at: 3000 }))).toBe('in_flight');
      await store().markCallbackFailed(claimed!.id, { owner: 'inst-a', until: claimed!.leaseUntil }, 8, 'HTTP 500', 500, 4000);
      expect(await store().redeliverCallback(cb!.id, 5000, row('callback.redeliver', `P1#${cb!.id}`, { at: 5000 }))).toBe('scheduled');
      expect(await store().redeliverCallback(999_999, 5000, row('callback.redeliver', 'P1#999999', { at: 5000 }))).toBe('not_found');
      expect(await rows(store())).toEqual([row('payment.bind', 'P1', { at: 1100 }), row('callback.redeliver', `P1#${cb!.id}`, { at: 5000 })]);
    });

    it('rolls back a payment transition (its event and callback too) and a redelivery whose row is refused', async () => {
      const { payment } = await store().createPayment(newPayment());
      const bound = await apply(store(), payment, { type: 'terminal.bound', binding }, 1100);
      const events = await store().listPaymentEvents('P1');
      await expect(change(store(), bound!, approvedResult, 1200, refused('payment.resolve', 'P1'), true)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().getPayment('P1')).toEqual(bound);
      expect(await store().listPaymentEvents('P1')).toEqual(events);
      expect(await store().listCallbacks('P1')).toEqual([]);
      // The same change, with a good row, goes through.
      expect((await change(store(), bound!, approvedResult, 1200, row('payment.resolve', 'P1'), true))?.status).toBe('approved');
      const [cb] = await store().claimDueCallbacks(1300, 10_000, 10, undefined, 'inst-a');
      await store().markCallbackDelivered(cb!.id, { owner: 'inst-a', until: cb!.leaseUntil }, 1, 200, 1300);
      const delivered = await store().listCallbacks('P1');
      await expect(store().redeliverCallback(cb!.id, 5000, refused('callback.redeliver', `P1#${cb!.id}`))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().listCallbacks('P1')).toEqual(delivered);
      expect(await rows(store())).toEqual([row('payment.resolve', 'P1')]);
    });

    it('writes the row with an operator resolution of an unknown refund, and rolls the resolution back when it is refused', async () => {
      await withUnknownRefund(store());
      const resolution = { operationId: 'rf1', status: 'approved' as const, message: 'refunded (confirmed by an operator)', operator: 'user:root', reason: 'receipt', at: 6000 };
      const events = await store().listPaymentEvents('P1');
      await expect(store().resolveUnknownOperation({ ...resolution, audit: refused('operation.resolve', 'rf1') })).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect((await store().getOperation('rf1'))?.status).toBe('unknown');
      expect(await store().listPaymentEvents('P1')).toEqual(events);
      expect(await rows(store())).toEqual([]);
      const good = row('operation.resolve', 'rf1', { reason: 'approved: receipt', at: 6000 });
      expect(await store().resolveUnknownOperation({ ...resolution, audit: good })).toMatchObject({ status: 'approved' });
      // Resolved already: nothing changes, no row.
      expect(await store().resolveUnknownOperation({ ...resolution, audit: good })).toBeNull();
      expect(await rows(store())).toEqual([good]);
    });

    it('writes the row with a pairing code, its redemption, a rotation and a revocation; rolls each back when its row is refused', async () => {
      const sha = (text: string) => createHash('sha256').update(text).digest('hex');
      await store().createMerchant({ merchantId: 'm1', name: 'shop', appKey: 'k1', appTokenSha256: sha('t'), callbackMode: 'notification', createdAt: 0 });
      await store().createStore({ storeId: 's1', merchantId: 'm1', name: 'one', createdAt: 0 });
      const code = { codeSha256: sha('CODE'), merchantId: 'm1', storeId: 's1', agentName: 'till', createdBy: 'cli:ops', createdAt: 1000, expiresAt: 1000 + 900_000 };
      const agent = { agentId: 'ag_1', tokenSha256: sha('token1') };

      await expect(store().createPairingCode(code, 10, refused('agent.pair_code.created', 'store:s1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().redeemPairingCode(code.codeSha256, agent, 2000)).toEqual({ kind: 'unknown' });
      expect(await store().createPairingCode(code, 10, row('agent.pair_code.created', 'store:s1', { actor: 'cli:ops', reason: '', at: 1000 }))).toBe('created');

      await expect(store().redeemPairingCode(code.codeSha256, agent, 2000, refused('agent.paired', 'agent:ag_1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().getAgent('ag_1')).toBeNull();
      const paired = row('agent.paired', 'agent:ag_1', { actor: 'agent:ag_1', reason: '', at: 2000 });
      expect((await store().redeemPairingCode(code.codeSha256, agent, 2000, paired)).kind).toBe('paired');
      // Used already: nothing changes, no row.
      expect((await store().redeemPairingCode(code.codeSha256, { agentId: 'ag_2', tokenSha256: sha('token2') }, 2100, paired)).kind).toBe('used');

      await expect(store().rotateAgentToken('ag_1', sha('token3'), 3000, refused('agent.token.rotated', 'agent:ag_1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().findAgentByTokenHash(sha('token1'))).toMatchObject({ agentId: 'ag_1' });
      expect(await store().rotateAgentToken('ag_1', sha('token3'), 3000, row('agent.token.rotated', 'agent:ag_1', { at: 3000 }))).toBe('rotated');

      await expect(store().revokeAgent('ag_1', sha('nobody'), 4000, refused('agent.revoked', 'agent:ag_1'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().findAgentByTokenHash(sha('token3'))).toMatchObject({ agentId: 'ag_1' });
      expect(await store().revokeAgent('ag_1', sha('nobody'), 4000, row('agent.revoked', 'agent:ag_1', { reason: 'till stolen', at: 4000 }))).toBe('revoked');
      expect(await store().revokeAgent('ag_1', sha('nobody again'), 4100, row('agent.revoked', 'agent:ag_1', { at: 4100 }))).toBe('already_revoked');
      expect(await store().rotateAgentToken('ag_1', sha('token4'), 4200, row('agent.token.rotated', 'agent:ag_1', { at: 4200 }))).toBe('revoked');

      expect(await rows(store())).toEqual([
        row('agent.pair_code.created', 'store:s1', { actor: 'cli:ops', reason: '', at: 1000 }),
        paired,
        row('agent.token.rotated', 'agent:ag_1', { at: 3000 }),
        row('agent.revoked', 'agent:ag_1', { reason: 'till stolen', at: 4000 }),
      ]);
    });

    it('refuses a row on its own that is not one (appendAudit)', async () => {
      await expect(store().appendAudit(refused('session.login', 'ana'))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().appendAudit(row('session.login', 'ana', { outcome: '' }))).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await rows(store())).toEqual([]);
    });
  });
}
