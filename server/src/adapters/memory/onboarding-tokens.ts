/**
 * {@link OnboardingTokensPort} in memory: flows by token digest, and the token digest of each
 * issued code digest. Caps are checked and the flow inserted in one transaction of the state.
 */
import {
  ONBOARDING_PURGE_PER_CREATE,
  onboardingGrantProblem,
  onboardingTokenProblem,
  type NewOnboardingToken,
  type OnboardingCaps,
  type OnboardingCreateResult,
  type OnboardingGrant,
  type OnboardingTokenRecord,
  type OnboardingTokensPort,
} from '../../ports/onboarding-tokens.ts';
import { ConstraintError, type MemoryConnection, type MemoryTables, type OnboardingTokenRow } from './state.ts';

/** Removes `row` and its code (inside a transaction). */
function forget(tables: MemoryTables, row: OnboardingTokenRow): void {
  tables.onboardingTokens.delete(row.tokenSha256);
  if (row.codeSha256 !== null) tables.onboardingCodes.delete(row.codeSha256);
}

/** Removes at most `limit` flows expired by `now` (inside a transaction). */
function purge(tables: MemoryTables, now: number, limit: number): number {
  const expired: OnboardingTokenRow[] = [];
  for (const row of tables.onboardingTokens.values()) {
    if (expired.length >= limit) break;
    if (row.expiresAt <= now) expired.push(row);
  }
  for (const row of expired) forget(tables, row);
  return expired.length;
}

/** Pending configuration flows over a memory connection. */
export class MemoryOnboardingTokens implements OnboardingTokensPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  createOnboardingToken(token: NewOnboardingToken, caps: OnboardingCaps, now: number): Promise<OnboardingCreateResult> {
    return this.#conn.run('createOnboardingToken', (): OnboardingCreateResult => {
      const problem = onboardingTokenProblem(token);
      if (problem !== undefined) throw new RangeError(problem);
      const { tables } = this.#conn;
      if (tables.onboardingTokens.has(token.tokenSha256)) throw new ConstraintError('unique', 'onboarding_tokens.token_sha256');
      purge(tables, now, ONBOARDING_PURGE_PER_CREATE);
      let pending = 0;
      let pendingOfSource = 0;
      let oldest = Number.POSITIVE_INFINITY;
      let oldestOfSource = Number.POSITIVE_INFINITY;
      for (const row of tables.onboardingTokens.values()) {
        if (row.expiresAt <= now) continue;
        pending++;
        oldest = Math.min(oldest, row.expiresAt);
        if (row.source === token.source) {
          pendingOfSource++;
          oldestOfSource = Math.min(oldestOfSource, row.expiresAt);
        }
      }
      if (pendingOfSource >= caps.maxPerSource) return { kind: 'full', full: 'source', pendingOfSource, pending, oldestExpiresAt: oldestOfSource };
      if (pending >= caps.maxPending) return { kind: 'full', full: 'server', pendingOfSource, pending, oldestExpiresAt: oldest };
      tables.onboardingTokens.set(token.tokenSha256, { ...token, codeSha256: null, merchantName: null });
      return { kind: 'created' };
    });
  }

  getOnboardingToken(tokenSha256: string, now: number): Promise<OnboardingTokenRecord | null> {
    return this.#conn.run('getOnboardingToken', () => {
      const row = this.#conn.tables.onboardingTokens.get(tokenSha256);
      if (row === undefined || row.expiresAt <= now) return null;
      return { source: row.source, returnUrl: row.returnUrl, expiresAt: row.expiresAt, authorized: row.codeSha256 !== null };
    });
  }

  authorizeOnboardingToken(tokenSha256: string, grant: { readonly codeSha256: string; readonly merchantName: string }, now: number): Promise<boolean> {
    return this.#conn.run('authorizeOnboardingToken', () => {
      const problem = onboardingGrantProblem(grant);
      if (problem !== undefined) throw new RangeError(problem);
      const { tables } = this.#conn;
      const row = tables.onboardingTokens.get(tokenSha256);
      if (row === undefined || row.expiresAt <= now || row.codeSha256 !== null) return false;
      if (tables.onboardingCodes.has(grant.codeSha256)) throw new ConstraintError('unique', 'onboarding_tokens.code_sha256');
      tables.onboardingTokens.set(tokenSha256, { ...row, codeSha256: grant.codeSha256, merchantName: grant.merchantName });
      tables.onboardingCodes.set(grant.codeSha256, tokenSha256);
      return true;
    });
  }

  takeOnboardingCode(codeSha256: string, now: number): Promise<OnboardingGrant | null> {
    return this.#conn.run('takeOnboardingCode', () => {
      const { tables } = this.#conn;
      const tokenSha256 = tables.onboardingCodes.get(codeSha256);
      const row = tokenSha256 === undefined ? undefined : tables.onboardingTokens.get(tokenSha256);
      if (row === undefined) return null;
      forget(tables, row);
      if (row.expiresAt <= now || row.merchantName === null) return null;
      return { merchantName: row.merchantName, source: row.source, returnUrl: row.returnUrl };
    });
  }

  purgeExpiredOnboardingTokens(now: number, limit: number): Promise<number> {
    return this.#conn.run('purgeExpiredOnboardingTokens', () => purge(this.#conn.tables, now, limit));
  }
}
