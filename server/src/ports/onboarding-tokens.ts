/**
 * Pending flows of the PPP configuration flow (../ppp/authorization-router.ts), kept in the store
 * so a token issued by one server instance is redeemed on any other: `POST /authorization/token`
 * issues a token, `GET /authorization/redirect` turns it into a single-use authorization code
 * bound to the confirmed VTEX account name, `GET /authorization/credentials` takes the code.
 *
 * Only sha256 digests of the token and the code are stored (hex), so a copy of the database
 * cannot complete anybody's flow. A flow is pending from its token's creation until its code is
 * taken or it expires (`expiresAt`, fixed at creation); the caps on pending flows (per source
 * and in total) are checked and the new flow inserted in one atomic step, whatever instance the
 * concurrent requests land on. Every creation also removes up to
 * {@link ONBOARDING_PURGE_PER_CREATE} expired flows, so expired rows never pile up.
 *
 * Times are ms since epoch, passed in (no adapter reads a clock).
 * @see docs/protocol/vtex-ppp.md §8
 */

/** Expired flows each creation removes. */
export const ONBOARDING_PURGE_PER_CREATE = 2;

/** Longest `returnUrl` stored, characters (the route accepts at most 2048). */
export const MAX_ONBOARDING_RETURN_URL_LENGTH = 4096;

/** Longest source key, characters (an IPv4 address or an IPv6 /56, ../http/rate-limit.ts `sourceKeyOf`). */
export const MAX_ONBOARDING_SOURCE_LENGTH = 128;

/** A flow to start. */
export interface NewOnboardingToken {
  /** sha256 of the token handed to VTEX, lowercase hex (64 characters). */
  readonly tokenSha256: string;
  /** Who asked: the source key the per-source cap counts by. */
  readonly source: string;
  /** Where the merchant is sent back, with the code appended. */
  readonly returnUrl: string;
  /** End of the flow, ms since epoch (token and code alike). */
  readonly expiresAt: number;
}

/** The caps {@link OnboardingTokensPort.createOnboardingToken} enforces on pending flows. */
export interface OnboardingCaps {
  /** Pending flows one source may hold (≥ 1). */
  readonly maxPerSource: number;
  /** Pending flows in total (≥ 1). */
  readonly maxPending: number;
}

/** Outcome of {@link OnboardingTokensPort.createOnboardingToken}. */
export type OnboardingCreateResult =
  | { readonly kind: 'created' }
  | {
      readonly kind: 'full';
      /** Which cap was reached (`source` wins when both are). */
      readonly full: 'source' | 'server';
      /** Pending flows of the source. */
      readonly pendingOfSource: number;
      /** Pending flows in total. */
      readonly pending: number;
      /** When the oldest flow counted by the reached cap expires, ms since epoch (a slot frees then at the latest). */
      readonly oldestExpiresAt: number;
    };

/** A pending flow, as the sign-up page needs it. */
export interface OnboardingTokenRecord {
  readonly source: string;
  readonly returnUrl: string;
  readonly expiresAt: number;
  /** True once a code was issued for it (the token cannot be used again). */
  readonly authorized: boolean;
}

/** What taking a code yields: the account confirmed on the sign-up page. */
export interface OnboardingGrant {
  readonly merchantName: string;
  readonly source: string;
  readonly returnUrl: string;
}

/** Pending configuration flows. All methods may reject with `CodedError('STORE_FAILED')`, also for inputs out of bounds. */
export interface OnboardingTokensPort {
  /**
   * Starts a flow unless the source or the server already holds its cap of pending flows at
   * `now` (checked and inserted atomically). A digest already stored is refused (`STORE_FAILED`).
   */
  createOnboardingToken(token: NewOnboardingToken, caps: OnboardingCaps, now: number): Promise<OnboardingCreateResult>;
  /** The pending flow of `tokenSha256` at `now`, or null (unknown, taken or expired). */
  getOnboardingToken(tokenSha256: string, now: number): Promise<OnboardingTokenRecord | null>;
  /**
   * Binds a code (its sha256, hex) and the confirmed account name to the pending, not yet
   * authorized flow of `tokenSha256` (compare-and-set: of concurrent calls at most one wins).
   * @returns false when the flow is unknown, expired or already authorized.
   */
  authorizeOnboardingToken(tokenSha256: string, grant: { readonly codeSha256: string; readonly merchantName: string }, now: number): Promise<boolean>;
  /**
   * Takes the flow of code `codeSha256` (deleting it, atomically: of concurrent calls on any
   * instance at most one gets it). @returns null when unknown, already taken or expired.
   */
  takeOnboardingCode(codeSha256: string, now: number): Promise<OnboardingGrant | null>;
  /** Removes at most `limit` flows expired by `now`. @returns how many. */
  purgeExpiredOnboardingTokens(now: number, limit: number): Promise<number>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Why `token` is out of bounds, or undefined (the adapters refuse such calls with `STORE_FAILED`). */
export function onboardingTokenProblem(token: NewOnboardingToken): string | undefined {
  if (!SHA256_HEX.test(token.tokenSha256)) return 'token digest must be 64 lowercase hex characters';
  if (token.source.length === 0 || token.source.length > MAX_ONBOARDING_SOURCE_LENGTH) return `source must be 1…${MAX_ONBOARDING_SOURCE_LENGTH} characters`;
  if (token.returnUrl.length > MAX_ONBOARDING_RETURN_URL_LENGTH) return `returnUrl must be at most ${MAX_ONBOARDING_RETURN_URL_LENGTH} characters`;
  if (!Number.isSafeInteger(token.expiresAt)) return 'expiresAt must be an integer';
  return undefined;
}

/** Why a grant is out of bounds, or undefined. */
export function onboardingGrantProblem(grant: { readonly codeSha256: string; readonly merchantName: string }): string | undefined {
  if (!SHA256_HEX.test(grant.codeSha256)) return 'code digest must be 64 lowercase hex characters';
  if (grant.merchantName.length === 0 || grant.merchantName.length > 64) return 'merchantName must be 1…64 characters';
  return undefined;
}
