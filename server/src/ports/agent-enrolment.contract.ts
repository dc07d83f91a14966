/**
 * Contract of agent enrolment (./agent-enrolment.ts `AgentEnrolmentPort`): every adapter runs
 * these same assertions (memory, SQLite and PostgreSQL through ./contracts.ts). Needs the whole
 * store: codes refer to stores, redemption creates agents the directory then finds.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useStore, type StoreFactory } from './contract-helpers.ts';
import { PAIRING_KEEP_MS, type NewPairingCode } from './agent-enrolment.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const MIN15 = 15 * 60 * 1000;

/** Registers the agent-enrolment contract against stores made by `factory`. */
export function agentEnrolmentContract(factory: StoreFactory): void {
  describe('AgentEnrolmentPort contract', () => {
    const store = useStore(factory);

    /** A merchant M with store S1 (and S2); returns their ids. */
    async function merchantWithStores(): Promise<{ merchantId: string; s1: string; s2: string }> {
      await store().createMerchant({ merchantId: 'm1', name: 'shop', appKey: 'k1', appTokenSha256: sha('t'), callbackMode: 'notification', createdAt: 0 });
      await store().createStore({ storeId: 's1', merchantId: 'm1', name: 'one', createdAt: 0 });
      await store().createStore({ storeId: 's2', merchantId: 'm1', name: 'two', createdAt: 0 });
      return { merchantId: 'm1', s1: 's1', s2: 's2' };
    }

    const code = (text: string, storeId = 's1', createdAt = 1000): NewPairingCode => ({
      codeSha256: sha(text),
      merchantId: 'm1',
      storeId,
      agentName: `till ${text}`,
      createdBy: 'cli:ops',
      createdAt,
      expiresAt: createdAt + MIN15,
    });

    it('redeems a code once: the agent is created in the code store and found by its token', async () => {
      await merchantWithStores();
      expect(await store().createPairingCode(code('AAAA'), 10)).toBe('created');
      const first = await store().redeemPairingCode(sha('AAAA'), { agentId: 'ag_new', tokenSha256: sha('token1') }, 2000);
      expect(first).toEqual({
        kind: 'paired',
        agent: { agentId: 'ag_new', name: 'till AAAA', createdAt: 2000, storeId: 's1' },
        merchantId: 'm1',
        storeId: 's1',
        createdBy: 'cli:ops',
      });
      expect(await store().findAgentByTokenHash(sha('token1'))).toEqual({ agentId: 'ag_new', name: 'till AAAA', createdAt: 2000, storeId: 's1' });
      expect(await store().agentOwner('ag_new')).toEqual({ merchantId: 'm1', storeId: 's1' });
      expect(await store().redeemPairingCode(sha('AAAA'), { agentId: 'ag_other', tokenSha256: sha('token2') }, 2001)).toEqual({ kind: 'used', usedAt: 2000 });
      expect(await store().getAgent('ag_other')).toBeNull();
    });

    it('refuses an expired code (at expiresAt exactly) and an unknown one, writing nothing', async () => {
      await merchantWithStores();
      await store().createPairingCode(code('EXP'), 10);
      expect(await store().redeemPairingCode(sha('EXP'), { agentId: 'ag_x', tokenSha256: sha('tx') }, 1000 + MIN15)).toEqual({
        kind: 'expired',
        expiredAt: 1000 + MIN15,
      });
      expect(await store().redeemPairingCode(sha('NOPE'), { agentId: 'ag_x', tokenSha256: sha('tx') }, 1000)).toEqual({ kind: 'unknown' });
      expect(await store().getAgent('ag_x')).toBeNull();
      // Still redeemable just before the end.
      await store().createPairingCode(code('LATE'), 10);
      expect((await store().redeemPairingCode(sha('LATE'), { agentId: 'ag_y', tokenSha256: sha('ty') }, 999 + MIN15)).kind).toBe('paired');
    });

    it('gives a code to exactly one of concurrent redemptions', async () => {
      await merchantWithStores();
      await store().createPairingCode(code('RACE'), 10);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store().redeemPairingCode(sha('RACE'), { agentId: `ag_${i}`, tokenSha256: sha(`tok${i}`) }, 1500)),
      );
      expect(results.filter((r) => r.kind === 'paired')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'used')).toHaveLength(7);
    });

    it('caps pending codes per store; used and expired ones do not count', async () => {
      await merchantWithStores();
      expect(await store().createPairingCode(code('P1'), 2)).toBe('created');
      expect(await store().createPairingCode(code('P2'), 2)).toBe('created');
      expect(await store().createPairingCode(code('P3'), 2)).toBe('full');
      expect(await store().createPairingCode(code('Q1', 's2'), 2)).toBe('created');
      await store().redeemPairingCode(sha('P1'), { agentId: 'ag_p1', tokenSha256: sha('tp1') }, 1100);
      expect(await store().createPairingCode(code('P3', 's1', 1200), 2)).toBe('created');
      expect(await store().createPairingCode(code('P4', 's1', 1200 + MIN15), 2)).toBe('created');
      expect(await store().redeemPairingCode(sha('P3'), { agentId: 'ag_p3', tokenSha256: sha('tp3') }, 1000)).toMatchObject({ kind: 'paired' });
    });

    it('forgets codes a day after their expiry (a late attempt is then unknown)', async () => {
      await merchantWithStores();
      await store().createPairingCode(code('OLD'), 10);
      expect(await store().redeemPairingCode(sha('OLD'), { agentId: 'ag_o', tokenSha256: sha('to') }, 1000 + MIN15 + 5)).toMatchObject({ kind: 'expired' });
      await store().createPairingCode(code('NEW', 's1', 1000 + MIN15 + PAIRING_KEEP_MS), 10);
      expect(await store().redeemPairingCode(sha('OLD'), { agentId: 'ag_o', tokenSha256: sha('to') }, 1000 + MIN15 + PAIRING_KEEP_MS)).toEqual({ kind: 'unknown' });
    });

    it('refuses a code for a store of another merchant, a digest twice, and inputs out of bounds', async () => {
      await merchantWithStores();
      await store().createMerchant({ merchantId: 'm2', name: 'other', appKey: 'k2', appTokenSha256: sha('t2'), callbackMode: 'notification', createdAt: 0 });
      await expect(store().createPairingCode({ ...code('X'), merchantId: 'm2' }, 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createPairingCode(code('X', 'no-such-store'), 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await store().createPairingCode(code('DUP'), 10);
      await expect(store().createPairingCode(code('DUP'), 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createPairingCode({ ...code('Y'), codeSha256: 'YYYY' }, 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createPairingCode({ ...code('Y'), agentName: 'n'.repeat(101) }, 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().createPairingCode({ ...code('Y'), expiresAt: 1000 }, 10)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(store().redeemPairingCode(sha('DUP'), { agentId: 'ag_z', tokenSha256: 'raw' }, 1000)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect(await store().redeemPairingCode(sha('DUP'), { agentId: 'ag_z', tokenSha256: sha('tz') }, 1000)).toMatchObject({ kind: 'paired' });
    });

    it('finds the store a code is made for, with its merchant', async () => {
      await merchantWithStores();
      expect(await store().storeForPairing('s2')).toEqual({ storeId: 's2', merchantId: 'm1', name: 'two' });
      expect(await store().storeForPairing('nope')).toBeNull();
    });

    it('rotates a token: the old one finds nobody, the new one the agent; the change is listed', async () => {
      await merchantWithStores();
      await store().createAgent({ agentId: 'ag1', name: 'till', createdAt: 0, storeId: 's1' }, sha('old'));
      expect(await store().listAgentCredentialChanges(0, 10)).toEqual([]);
      expect(await store().rotateAgentToken('ag1', sha('new'), 5000)).toBe('rotated');
      expect(await store().findAgentByTokenHash(sha('old'))).toBeNull();
      expect(await store().findAgentByTokenHash(sha('new'))).toMatchObject({ agentId: 'ag1' });
      expect(await store().listAgentCredentialChanges(5000, 10)).toEqual([{ agentId: 'ag1', tokenSha256: sha('new'), revoked: false, changedAt: 5000 }]);
      expect(await store().listAgentCredentialChanges(5001, 10)).toEqual([]);
      expect(await store().rotateAgentToken('ag_none', sha('x'), 5000)).toBe('unknown');
    });

    it('revokes an agent for good: its token finds nobody, rotation cannot revive it', async () => {
      await merchantWithStores();
      await store().createAgent({ agentId: 'ag1', name: 'till', createdAt: 0, storeId: 's1' }, sha('tok'));
      await store().createAgent({ agentId: 'ag2', name: 'till 2', createdAt: 0, storeId: 's1' }, sha('tok2'));
      expect(await store().revokeAgent('ag1', sha('discarded-1'), 7000)).toBe('revoked');
      expect(await store().findAgentByTokenHash(sha('tok'))).toBeNull();
      expect(await store().getAgent('ag1')).toMatchObject({ agentId: 'ag1' });
      expect(await store().revokeAgent('ag1', sha('discarded-2'), 7001)).toBe('already_revoked');
      expect(await store().rotateAgentToken('ag1', sha('again'), 7002)).toBe('revoked');
      expect(await store().findAgentByTokenHash(sha('again'))).toBeNull();
      expect(await store().revokeAgent('ag_none', sha('discarded-3'), 7000)).toBe('unknown');
      await store().rotateAgentToken('ag2', sha('tok2b'), 6000);
      expect(await store().listAgentCredentialChanges(0, 10)).toEqual([
        { agentId: 'ag2', tokenSha256: sha('tok2b'), revoked: false, changedAt: 6000 },
        { agentId: 'ag1', tokenSha256: sha('discarded-1'), revoked: true, changedAt: 7000 },
      ]);
      expect(await store().listAgentCredentialChanges(0, 1)).toHaveLength(1);
      expect(await store().findAgentByTokenHash(sha('tok2b'))).toMatchObject({ agentId: 'ag2' });
    });
  });
}
