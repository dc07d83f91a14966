/**
 * {@link OnboardingTokensPort} on SQLite: the `onboarding_tokens` table (migration 5). Caps are
 * counted and the flow inserted in one `BEGIN IMMEDIATE` transaction (the write lock makes the
 * check and the insert one step for every connection to the file); a code is taken with
 * `DELETE … RETURNING`.
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
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

interface TokenRow {
  source: string;
  return_url: string;
  expires_at: number;
  code_sha256: string | null;
  merchant_name: string | null;
}

interface CountRow {
  n: number;
  oldest: number | null;
}

const PURGE = 'DELETE FROM onboarding_tokens WHERE token_sha256 IN (SELECT token_sha256 FROM onboarding_tokens WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)';

/** Pending configuration flows over one connection. */
export class SqliteOnboardingTokens implements OnboardingTokensPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  createOnboardingToken(token: NewOnboardingToken, caps: OnboardingCaps, now: number): Promise<OnboardingCreateResult> {
    return this.#op('createOnboardingToken', () =>
      this.#db.transaction(async (): Promise<OnboardingCreateResult> => {
        const problem = onboardingTokenProblem(token);
        if (problem !== undefined) throw new RangeError(problem);
        await this.#db.run(PURGE, [now, ONBOARDING_PURGE_PER_CREATE]);
        const count = async (where: string, params: (string | number)[]) =>
          (await this.#db.get<CountRow>(`SELECT COUNT(*) AS n, MIN(expires_at) AS oldest FROM onboarding_tokens WHERE expires_at > ?${where}`, [now, ...params])) ?? {
            n: 0,
            oldest: null,
          };
        const all = await count('', []);
        const ofSource = await count(' AND source = ?', [token.source]);
        const full = (which: 'source' | 'server', oldest: number | null): OnboardingCreateResult => ({
          kind: 'full',
          full: which,
          pendingOfSource: ofSource.n,
          pending: all.n,
          oldestExpiresAt: oldest ?? now,
        });
        if (ofSource.n >= caps.maxPerSource) return full('source', ofSource.oldest);
        if (all.n >= caps.maxPending) return full('server', all.oldest);
        await this.#db.run('INSERT INTO onboarding_tokens (token_sha256, source, return_url, expires_at) VALUES (?, ?, ?, ?)', [
          token.tokenSha256,
          token.source,
          token.returnUrl,
          token.expiresAt,
        ]);
        return { kind: 'created' };
      }),
    );
  }

  getOnboardingToken(tokenSha256: string, now: number): Promise<OnboardingTokenRecord | null> {
    return this.#op('getOnboardingToken', async () => {
      const row = await this.#db.get<TokenRow>('SELECT * FROM onboarding_tokens WHERE token_sha256 = ? AND expires_at > ?', [tokenSha256, now]);
      return row ? { source: row.source, returnUrl: row.return_url, expiresAt: row.expires_at, authorized: row.code_sha256 !== null } : null;
    });
  }

  authorizeOnboardingToken(tokenSha256: string, grant: { readonly codeSha256: string; readonly merchantName: string }, now: number): Promise<boolean> {
    return this.#op('authorizeOnboardingToken', async () => {
      const problem = onboardingGrantProblem(grant);
      if (problem !== undefined) throw new RangeError(problem);
      const { changes } = await this.#db.run(
        'UPDATE onboarding_tokens SET code_sha256 = ?, merchant_name = ? WHERE token_sha256 = ? AND expires_at > ? AND code_sha256 IS NULL',
        [grant.codeSha256, grant.merchantName, tokenSha256, now],
      );
      return changes === 1;
    });
  }

  takeOnboardingCode(codeSha256: string, now: number): Promise<OnboardingGrant | null> {
    return this.#op('takeOnboardingCode', async () => {
      const [row] = await this.#db.all<TokenRow>('DELETE FROM onboarding_tokens WHERE code_sha256 = ? RETURNING *', [codeSha256]);
      if (!row || row.expires_at <= now || row.merchant_name === null) return null;
      return { merchantName: row.merchant_name, source: row.source, returnUrl: row.return_url };
    });
  }

  purgeExpiredOnboardingTokens(now: number, limit: number): Promise<number> {
    return this.#op('purgeExpiredOnboardingTokens', async () => (await this.#db.run(PURGE, [now, limit])).changes);
  }
}
