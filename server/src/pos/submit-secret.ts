/**
 * Where the HMAC key of submit tokens (./submit-token.ts) comes from, kept out of the database:
 *
 * 1. `POSBRIDGE_SUBMIT_SECRET` when configured;
 * 2. otherwise the secret file (`POSBRIDGE_SUBMIT_SECRET_FILE`, default `<db>.submit-secret`):
 *    read when it exists, else created owner-only (0600) with 32 random bytes (base64url), so
 *    submitUrls survive restarts;
 * 3. a `:memory:` database (no file) gets a secret for the life of the process.
 *
 * In a cluster (`shared`: several instances on one store, ../config.ts `isClusterStore`) nothing
 * is generated: the key is `POSBRIDGE_SUBMIT_SECRET` or the configured file, which must exist
 * (every instance reads the same one), else the server refuses to start (`CFG_INVALID`). A key
 * generated per instance would make a submitUrl minted by one instance fail on the others.
 *
 * A database written by an older server kept the secret in its `meta` table (`submit_secret`):
 * it is moved to the secret file (when none exists yet, so that database's submitUrls keep
 * working) and then deleted from the database, also when the secret is configured.
 *
 * Log messages avoid the words "submit" and "payment": they are not about one payment
 * (test/e2e/ppp-logs.test.ts requires a `paymentId` on every line that is).
 *
 * @see docs/ppp.md "Routes" (the Payment App token)
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { PaymentStore } from '../ports/index.ts';

/** Meta key under which older servers kept the generated secret. */
export const LEGACY_SUBMIT_SECRET_META = 'submit_secret';

/** Shortest secret accepted from the file (as POSBRIDGE_SUBMIT_SECRET). */
const MIN_LENGTH = 16;

/** Inputs of {@link resolveSubmitSecret}. */
export interface SubmitSecretSource {
  /** `POSBRIDGE_SUBMIT_SECRET`, if set. */
  readonly configured: string | undefined;
  /** The secret file; undefined = none (in-memory database). */
  readonly file: string | undefined;
  /** True when several instances share the store: the secret is never generated. @default false */
  readonly shared?: boolean;
  readonly store: PaymentStore;
  readonly logger: Logger;
}

function readSecretFile(file: string, log: Logger): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if ((statSync(file).mode & 0o077) !== 0) {
    try {
      chmodSync(file, 0o600);
      log.warn({ file }, 'token signing key file was readable by others; made owner-only (0600)');
    } catch (err) {
      // A read-only or foreign mount (a cluster's shared secret): the operator's to tighten.
      log.warn({ file, err }, 'token signing key file is readable by others and could not be made owner-only');
    }
  }
  const secret = text.trim();
  if (secret.length < MIN_LENGTH) {
    throw invalid(`${file}: the submit secret must be at least ${MIN_LENGTH} characters`);
  }
  return secret;
}

/** Writes `secret` to a new owner-only file; when another process created it meanwhile, reads that one. */
function createSecretFile(file: string, secret: string, log: Logger): string {
  try {
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      const existing = readSecretFile(file, log);
      if (existing !== undefined) return existing;
    }
    throw err;
  }
}

/** `CFG_INVALID` naming `problem`, in the shape config.ts reports. */
function invalid(problem: string): CodedError {
  return new CodedError('CFG_INVALID', `configuration is invalid:\n  - ${problem}`, { details: { problems: [problem] } });
}

/** The configured key of a cluster: `configured`, else the existing `file`. */
function sharedSecret(source: SubmitSecretSource, log: Logger): string {
  if (source.configured !== undefined) return source.configured;
  const why = 'in a cluster every instance must sign submitUrls with the same configured key';
  if (source.file === undefined) throw invalid(`POSBRIDGE_SUBMIT_SECRET: required (${why})`);
  const secret = readSecretFile(source.file, log);
  if (secret === undefined) throw invalid(`POSBRIDGE_SUBMIT_SECRET_FILE: ${source.file} does not exist (${why}: create it once, where every instance reads it)`);
  return secret;
}

/**
 * The submit secret of this server (see the module comment for the order).
 * @throws CodedError `CFG_INVALID` when the secret file holds fewer than 16 characters, or in a
 *   cluster when no key is configured or the configured file does not exist; the file-system
 *   error when the file cannot be read or created.
 */
export async function resolveSubmitSecret(source: SubmitSecretSource): Promise<string> {
  const log = source.logger.child({ component: 'server' });
  if (source.shared === true) return sharedSecret(source, log);
  const legacy = await source.store.getMeta(LEGACY_SUBMIT_SECRET_META);
  let secret: string;
  if (source.configured !== undefined) secret = source.configured;
  else if (source.file === undefined) secret = legacy ?? randomBytes(32).toString('base64url');
  else {
    const existing = readSecretFile(source.file, log);
    secret = existing ?? createSecretFile(source.file, legacy ?? randomBytes(32).toString('base64url'), log);
    if (existing === undefined) log.info({ file: source.file, movedFromDatabase: legacy !== null }, 'token signing key file created');
  }
  if (legacy !== null) {
    // Only once the secret is safe elsewhere (or not needed): drop the database's copy.
    await source.store.deleteMeta(LEGACY_SUBMIT_SECRET_META);
    log.info({ keptInFile: source.configured === undefined && source.file !== undefined }, 'token signing key removed from the database');
  }
  return secret;
}
