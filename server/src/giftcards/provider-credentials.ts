/**
 * Per-merchant Gift Card Provider credentials: the `X-PROVIDER-API-AppKey` /
 * `X-PROVIDER-API-AppToken` pair the merchant enters when registering posbridge in VTEX's Gift
 * Card Hub (docs/gift-cards.md "Registering posbridge in the Gift Card Hub"). Separate from the
 * merchant's PPP credentials: a leaked gift card pair cannot take card payments, and the reverse.
 *
 * Kept in the store's key/value metadata (../ports/meta.ts, shared by every instance), so no schema
 * change is needed: `giftcard.provider:<merchant>` holds `{appKey, appTokenSha256, issuedAt}`
 * and `giftcard.provider.key:<appKey>` the merchant name (to tell a wrong merchant, 403, from
 * wrong credentials, 401). The token is stored only as its sha256 (a 256-bit random secret needs
 * no slow hash) and compared in constant time over digests, so neither content nor length leaks.
 *
 * @see ./http/provider-auth.ts (the check), ../cli-giftcard.ts (`giftcard credentials issue`)
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { MetaPort } from '../ports/meta.ts';

/** The stored form of a merchant's provider credentials. */
export interface ProviderCredentialRecord {
  readonly appKey: string;
  /** sha256 hex of the appToken. */
  readonly appTokenSha256: string;
  /** ms since epoch. */
  readonly issuedAt: number;
}

/** Newly issued credentials: the token is shown this once. */
export interface IssuedProviderCredentials {
  readonly merchantName: string;
  readonly appKey: string;
  readonly appToken: string;
}

const RecordSchema = z.strictObject({
  appKey: z.string().min(1).max(128),
  appTokenSha256: z.string().regex(/^[0-9a-f]{64}$/),
  issuedAt: z.number().int(),
});

const recordKey = (merchantName: string) => `giftcard.provider:${merchantName}`;
const appKeyKey = (appKey: string) => `giftcard.provider.key:${appKey}`;
const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const DUMMY: ProviderCredentialRecord = { appKey: 'gcp_no-such-merchant', appTokenSha256: sha256('no-such-token').toString('hex'), issuedAt: 0 };

/** The merchant's provider credentials, or null when none were issued. @throws CodedError `STORE_FAILED`. */
export async function findProviderCredentials(meta: MetaPort, merchantName: string): Promise<ProviderCredentialRecord | null> {
  const text = await meta.getMeta(recordKey(merchantName));
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = RecordSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/** The merchant whose provider appKey is `appKey`, or null. @throws CodedError `STORE_FAILED`. */
export async function merchantOfProviderKey(meta: MetaPort, appKey: string): Promise<string | null> {
  if (appKey.length === 0 || appKey.length > 128) return null;
  return meta.getMeta(appKeyKey(appKey));
}

/**
 * Issues new credentials for `merchantName`, replacing (and so revoking) any earlier pair.
 * @throws CodedError `STORE_FAILED`; Error when another issue for the merchant raced this one.
 */
export async function issueProviderCredentials(meta: MetaPort, merchantName: string, now: number): Promise<IssuedProviderCredentials> {
  const old = await findProviderCredentials(meta, merchantName);
  if (old !== null) {
    await meta.deleteMeta(appKeyKey(old.appKey));
    await meta.deleteMeta(recordKey(merchantName));
  }
  const appKey = `gcp_${randomBytes(16).toString('hex')}`;
  const appToken = randomBytes(32).toString('base64url');
  const record: ProviderCredentialRecord = { appKey, appTokenSha256: sha256(appToken).toString('hex'), issuedAt: now };
  const stored = await meta.getOrSetMeta(recordKey(merchantName), JSON.stringify(record));
  if (stored !== JSON.stringify(record)) throw new Error(`provider credentials of ${merchantName} were issued concurrently; run the command again`);
  await meta.getOrSetMeta(appKeyKey(appKey), merchantName);
  return { merchantName, appKey, appToken };
}

/**
 * Whether `appKey`/`appToken` are `record`'s, in constant time: both compared over sha256
 * digests, always both, also when `record` is null (a dummy is compared), so timing tells
 * neither which merchants have credentials nor how much of a guess was right.
 */
export function credentialsMatch(record: ProviderCredentialRecord | null, appKey: string, appToken: string): boolean {
  const r = record ?? DUMMY;
  const keyOk = timingSafeEqual(sha256(appKey), sha256(r.appKey));
  const tokenOk = timingSafeEqual(sha256(appToken), Buffer.from(r.appTokenSha256, 'hex'));
  return record !== null && keyOk && tokenOk;
}
