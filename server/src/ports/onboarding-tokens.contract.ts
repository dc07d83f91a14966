/**
 * Contract of the configuration flow's pending flows (./onboarding-tokens.ts
 * `OnboardingTokensPort`): every adapter runs these same assertions (memory and SQLite through
 * ./contracts.ts, PostgreSQL in adapters/postgres/shared-state.test.ts). Takes just the port.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { usePort, type PortFixture } from './contract-helpers.ts';
import { ONBOARDING_PURGE_PER_CREATE, type NewOnboardingToken, type OnboardingTokensPort } from './onboarding-tokens.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A flow of token `name` from `source`, expiring at `expiresAt`. */
function flow(name: string, source = '192.0.2.1', expiresAt = 10_000): NewOnboardingToken {
  return { tokenSha256: sha(name), source, returnUrl: `https://${name}.myvtex.com/admin/return?code=`, expiresAt };
}

const WIDE = { maxPerSource: 100, maxPending: 1000 };

/** Registers the onboarding-token contract of `name` against fixtures made by `make` (each: a new, empty store). */
export function onboardingTokensContract(name: string, make: () => Promise<PortFixture<OnboardingTokensPort>>): void {
  describe(`OnboardingTokensPort contract: ${name}`, () => {
    const port = usePort(make);

    it('starts a flow and reads it until it expires', async () => {
      expect(await port().createOnboardingToken(flow('t1'), WIDE, 0)).toEqual({ kind: 'created' });
      expect(await port().getOnboardingToken(sha('t1'), 9999)).toEqual({
        source: '192.0.2.1',
        returnUrl: 'https://t1.myvtex.com/admin/return?code=',
        expiresAt: 10_000,
        authorized: false,
      });
      expect(await port().getOnboardingToken(sha('t1'), 10_000)).toBeNull();
      expect(await port().getOnboardingToken(sha('unknown'), 0)).toBeNull();
    });

    it('caps pending flows per source, telling when the oldest of that source expires', async () => {
      const caps = { maxPerSource: 2, maxPending: 1000 };
      expect(await port().createOnboardingToken(flow('a1', 'A', 5000), caps, 0)).toEqual({ kind: 'created' });
      expect(await port().createOnboardingToken(flow('b1', 'B', 3000), caps, 0)).toEqual({ kind: 'created' });
      expect(await port().createOnboardingToken(flow('a2', 'A', 4000), caps, 0)).toEqual({ kind: 'created' });
      expect(await port().createOnboardingToken(flow('a3', 'A', 6000), caps, 10)).toEqual({
        kind: 'full',
        full: 'source',
        pendingOfSource: 2,
        pending: 3,
        oldestExpiresAt: 4000,
      });
      expect(await port().getOnboardingToken(sha('a3'), 10)).toBeNull();
      // Another source still may; and once A's oldest expires, A may again.
      expect(await port().createOnboardingToken(flow('b2', 'B'), caps, 10)).toEqual({ kind: 'created' });
      expect(await port().createOnboardingToken(flow('a3', 'A', 9000), caps, 4000)).toEqual({ kind: 'created' });
    });

    it('caps pending flows in total, telling when the oldest of all expires', async () => {
      const caps = { maxPerSource: 100, maxPending: 3 };
      for (const [i, at] of [7000, 2000, 5000].entries()) {
        expect(await port().createOnboardingToken(flow(`s${i}`, `S${i}`, at), caps, 0)).toEqual({ kind: 'created' });
      }
      expect(await port().createOnboardingToken(flow('s9', 'S9'), caps, 0)).toEqual({
        kind: 'full',
        full: 'server',
        pendingOfSource: 0,
        pending: 3,
        oldestExpiresAt: 2000,
      });
      expect(await port().createOnboardingToken(flow('s9', 'S9'), caps, 2000)).toEqual({ kind: 'created' });
    });

    it('holds a cap under concurrent creations', async () => {
      const caps = { maxPerSource: 3, maxPending: 1000 };
      const results = await Promise.all(Array.from({ length: 12 }, (_, i) => port().createOnboardingToken(flow(`c${i}`, 'C'), caps, 0)));
      expect(results.filter((r) => r.kind === 'created')).toHaveLength(3);
      expect(results.filter((r) => r.kind === 'full')).toHaveLength(9);
    });

    it('refuses a digest already stored, and inputs out of bounds', async () => {
      await port().createOnboardingToken(flow('dup'), WIDE, 0);
      await expect(port().createOnboardingToken(flow('dup', 'other'), WIDE, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createOnboardingToken({ ...flow('x'), tokenSha256: 'raw-token' }, WIDE, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createOnboardingToken({ ...flow('x'), source: '' }, WIDE, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().createOnboardingToken({ ...flow('x'), returnUrl: 'x'.repeat(5000) }, WIDE, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      await expect(port().authorizeOnboardingToken(sha('dup'), { codeSha256: 'CODE', merchantName: 'm' }, 0)).rejects.toMatchObject({ code: 'STORE_FAILED' });
      expect((await port().getOnboardingToken(sha('dup'), 0))?.source).toBe('192.0.2.1');
    });

    it('authorizes a pending flow once (compare-and-set), never an expired or unknown one', async () => {
      await port().createOnboardingToken(flow('t1'), WIDE, 0);
      const grant = { codeSha256: sha('code1'), merchantName: 'mystore' };
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => port().authorizeOnboardingToken(sha('t1'), { ...grant, codeSha256: sha(`code${i}`) }, 10)));
      expect(wins.filter(Boolean)).toHaveLength(1);
      expect(await port().authorizeOnboardingToken(sha('t1'), grant, 20)).toBe(false);
      expect((await port().getOnboardingToken(sha('t1'), 20))?.authorized).toBe(true);
      expect(await port().authorizeOnboardingToken(sha('unknown'), grant, 20)).toBe(false);
      await port().createOnboardingToken(flow('t2', 'B', 100), WIDE, 0);
      expect(await port().authorizeOnboardingToken(sha('t2'), { codeSha256: sha('late'), merchantName: 'late' }, 100)).toBe(false);
    });

    it('hands a code out once (concurrent takes: one winner), and a taken flow frees its slot', async () => {
      const caps = { maxPerSource: 1, maxPending: 1000 };
      await port().createOnboardingToken(flow('t1', 'A'), caps, 0);
      expect(await port().takeOnboardingCode(sha('no code yet'), 1)).toBeNull();
      await port().authorizeOnboardingToken(sha('t1'), { codeSha256: sha('code1'), merchantName: 'mystore' }, 1);
      expect((await port().createOnboardingToken(flow('t2', 'A'), caps, 2)).kind).toBe('full');
      const takes = await Promise.all(Array.from({ length: 6 }, () => port().takeOnboardingCode(sha('code1'), 3)));
      expect(takes.filter((t) => t !== null)).toEqual([{ merchantName: 'mystore', source: 'A', returnUrl: 'https://t1.myvtex.com/admin/return?code=' }]);
      expect(await port().takeOnboardingCode(sha('code1'), 4)).toBeNull();
      expect(await port().getOnboardingToken(sha('t1'), 4)).toBeNull();
      expect(await port().createOnboardingToken(flow('t2', 'A'), caps, 5)).toEqual({ kind: 'created' });
    });

    it('never hands out the code of an expired flow', async () => {
      await port().createOnboardingToken(flow('t1', 'A', 100), WIDE, 0);
      await port().authorizeOnboardingToken(sha('t1'), { codeSha256: sha('code1'), merchantName: 'mystore' }, 50);
      expect(await port().takeOnboardingCode(sha('code1'), 100)).toBeNull();
    });

    it('purges expired flows only, at most `limit` per call, and each creation purges a few', async () => {
      for (let i = 0; i < 6; i++) await port().createOnboardingToken(flow(`old${i}`, `S${i}`, 100), WIDE, 0);
      await port().createOnboardingToken(flow('live', 'L', 10_000), WIDE, 0);
      expect(await port().purgeExpiredOnboardingTokens(100, 2)).toBe(2);
      await port().createOnboardingToken(flow('new', 'N', 10_000), WIDE, 100);
      expect(await port().purgeExpiredOnboardingTokens(100, 100)).toBe(4 - ONBOARDING_PURGE_PER_CREATE);
      expect(await port().purgeExpiredOnboardingTokens(100, 100)).toBe(0);
      expect(await port().getOnboardingToken(sha('live'), 100)).not.toBeNull();
      expect(await port().getOnboardingToken(sha('new'), 100)).not.toBeNull();
    });
  });
}
