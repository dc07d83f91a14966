/**
 * {@link OnboardingTokensPort} on PostgreSQL: the `onboarding_tokens` table
 * (./schema-shared.ts). A creation takes the transaction-level advisory lock
 * {@link ONBOARDING_LOCK_KEY} first, so the pending caps are counted and the flow inserted as one
 * step whatever instance the concurrent requests reach (`READ COMMITTED` alone would let two
 * creations both see room for one). Authorising is a compare-and-set `UPDATE … WHERE code_sha256
 * IS NULL`; taking a code is `DELETE … RETURNING`, so of concurrent takes exactly one gets it.
 *
 * @see https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS
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
import { fromTs, toTs, type PgDb } from './pg-db.ts';
import { pgOp } from './rows.ts';
import { ONBOARDING_LOCK_KEY } from './schema-shared.ts';

interface TokenRow {
  source: string;
  return_url: string;
  expires_at: Date;
  code_sha256: string | null;
  merchant_name: string | null;
}

interface CountRow {
  n: number;
  oldest: Date | null;
}

const PURGE = `DELETE FROM onboarding_tokens WHERE token_sha256 IN (
  SELECT token_sha256 FROM onboarding_tokens WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`;

/** Pending configuration flows over a pool. */
export class PgOnboardingTokens implements OnboardingTokensPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return pgOp(operation, fn);
  }

  createOnboardingToken(token: NewOnboardingToken, caps: OnboardingCaps, now: number): Promise<OnboardingCreateResult> {
    return this.#op('createOnboardingToken', async () => {
      const problem = onboardingTokenProblem(token);
      if (problem !== undefined) throw new RangeError(problem);
      const at = toTs(now);
      return this.#db.transaction(async (tx): Promise<OnboardingCreateResult> => {
        await tx.one('SELECT pg_advisory_xact_lock($1)', [ONBOARDING_LOCK_KEY]);
        await tx.run(PURGE, [at, ONBOARDING_PURGE_PER_CREATE]);
        const counts = await tx.one<{ all_n: number; all_oldest: Date | null; src_n: number; src_oldest: Date | null }>(
          `SELECT COUNT(*) AS all_n, MIN(expires_at) AS all_oldest,
                  COUNT(*) FILTER (WHERE source = $2) AS src_n, MIN(expires_at) FILTER (WHERE source = $2) AS src_oldest
             FROM onboarding_tokens WHERE expires_at > $1`,
          [at, token.source],
        );
        const all: CountRow = { n: counts?.all_n ?? 0, oldest: counts?.all_oldest ?? null };
        const ofSource: CountRow = { n: counts?.src_n ?? 0, oldest: counts?.src_oldest ?? null };
        const full = (which: 'source' | 'server', oldest: Date | null): OnboardingCreateResult => ({
          kind: 'full',
          full: which,
          pendingOfSource: ofSource.n,
          pending: all.n,
          oldestExpiresAt: fromTs(oldest) ?? now,
        });
        if (ofSource.n >= caps.maxPerSource) return full('source', ofSource.oldest);
        if (all.n >= caps.maxPending) return full('server', all.oldest);
        await tx.run('INSERT INTO onboarding_tokens (token_sha256, source, return_url, expires_at) VALUES ($1, $2, $3, $4)', [
          token.tokenSha256,
          token.source,
          token.returnUrl,
          toTs(token.expiresAt),
        ]);
        return { kind: 'created' };
      });
    });
  }

  getOnboardingToken(tokenSha256: string, now: number): Promise<OnboardingTokenRecord | null> {
    return this.#op('getOnboardingToken', async () => {
      const row = await this.#db.one<TokenRow>('SELECT * FROM onboarding_tokens WHERE token_sha256 = $1 AND expires_at > $2', [tokenSha256, toTs(now)]);
      return row ? { source: row.source, returnUrl: row.return_url, expiresAt: fromTs(row.expires_at), authorized: row.code_sha256 !== null } : null;
    });
  }

  authorizeOnboardingToken(tokenSha256: string, grant: { readonly codeSha256: string; readonly merchantName: string }, now: number): Promise<boolean> {
    return this.#op('authorizeOnboardingToken', async () => {
      const problem = onboardingGrantProblem(grant);
      if (problem !== undefined) throw new RangeError(problem);
      const changed = await this.#db.run(
        'UPDATE onboarding_tokens SET code_sha256 = $1, merchant_name = $2 WHERE token_sha256 = $3 AND expires_at > $4 AND code_sha256 IS NULL',
        [grant.codeSha256, grant.merchantName, tokenSha256, toTs(now)],
      );
      return changed === 1;
    });
  }

  takeOnboardingCode(codeSha256: string, now: number): Promise<OnboardingGrant | null> {
    return this.#op('takeOnboardingCode', async () => {
      const row = await this.#db.one<TokenRow>('DELETE FROM onboarding_tokens WHERE code_sha256 = $1 RETURNING *', [codeSha256]);
      if (!row || fromTs(row.expires_at) <= now || row.merchant_name === null) return null;
      return { merchantName: row.merchant_name, source: row.source, returnUrl: row.return_url };
    });
  }

  purgeExpiredOnboardingTokens(now: number, limit: number): Promise<number> {
    return this.#op('purgeExpiredOnboardingTokens', () => this.#db.run(PURGE, [toTs(now), limit]));
  }
}
