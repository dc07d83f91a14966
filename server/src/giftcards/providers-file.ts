/**
 * `POSBRIDGE_GIFTCARD_PROVIDERS_FILE`: the merchants whose gift cards live in their own system,
 * served through ./http-backend.ts (docs/gift-cards.md "An external provider"). A JSON object,
 * one key per merchant name:
 *
 * ```json
 * { "acme": { "baseUrl": "https://loyalty.acme.example/vtex", "appKey": "posbridge",
 *             "appTokenFile": "/run/secrets/acme-loyalty-token", "currency": "BRL", "timeoutMs": 3000 } }
 * ```
 *
 * The token lives in its own file (secrets only in the environment or files, never in the
 * config). Read once at start; any problem fails the start with one `CFG_INVALID` naming every one.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { issueLines } from '@posbridge/kit/zod-issues';
import { CodedError } from '@posbridge/protocol/errors';
import { currencyInfo } from '@posbridge/protocol/money';
import { MERCHANT_NAME_PATTERN } from './http/provider-auth.ts';

/** One merchant's upstream, as the file gives it (the token read from its file). */
export interface ExternalProviderSettings {
  readonly baseUrl: string;
  readonly appKey: string;
  readonly appToken: string;
  readonly currency: string;
  readonly timeoutMs: number;
}

const EntrySchema = z.strictObject({
  baseUrl: z
    .string()
    .max(2048)
    .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http(s) URL'),
  appKey: z.string().min(1).max(256),
  appTokenFile: z.string().min(1).max(4096),
  currency: z.string().refine((c) => {
    try {
      return currencyInfo(c).alpha === c;
    } catch {
      return false;
    }
  }, 'must be an upper-case ISO 4217 code'),
  /** @default 3000 */
  timeoutMs: z.number().int().min(100).max(4000).default(3000),
});

const FileSchema = z.record(z.string().regex(MERCHANT_NAME_PATTERN, 'merchant names are 1-64 of A-Z a-z 0-9 . _ -'), EntrySchema);

/**
 * Reads and checks the file.
 * @returns the settings by merchant name.
 * @throws CodedError `CFG_INVALID` listing every problem (unreadable file, not JSON, bad fields, unreadable or empty token file).
 */
export function loadGiftCardProviders(file: string): ReadonlyMap<string, ExternalProviderSettings> {
  const fail = (problems: string[]) => new CodedError('CFG_INVALID', `POSBRIDGE_GIFTCARD_PROVIDERS_FILE ${file}: ${problems.join('; ')}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw fail([`cannot be read as JSON (${(err as Error).message})`]);
  }
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) throw fail(issueLines(parsed.error.issues));
  const problems: string[] = [];
  const out = new Map<string, ExternalProviderSettings>();
  for (const [merchant, e] of Object.entries(parsed.data)) {
    let appToken: string;
    try {
      appToken = readFileSync(e.appTokenFile, 'utf8').trim();
    } catch (err) {
      problems.push(`${merchant}.appTokenFile cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    if (appToken === '') problems.push(`${merchant}.appTokenFile is empty`);
    out.set(merchant, { baseUrl: e.baseUrl, appKey: e.appKey, appToken, currency: e.currency, timeoutMs: e.timeoutMs });
  }
  if (problems.length > 0) throw fail(problems);
  return out;
}
