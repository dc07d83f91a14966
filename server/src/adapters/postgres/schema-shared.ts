/**
 * PostgreSQL schema of the state every server instance shares besides payments (issue 12 item
 * 4): the rate limits' fixed-window counters (./counters.ts) and the configuration flow's pending
 * flows (./onboarding-tokens.ts, token and code only as sha256 hex). The same tables as SQLite
 * migration 5 (../sqlite/migrations.ts), with `timestamptz` times and `bigint` counts.
 *
 * {@link SHARED_STATE_DDL} is one migration step: run it once, inside the migration's
 * transaction, after the payments schema (it references nothing else).
 */

/** DDL of `rate_counters` and `onboarding_tokens` (plain `CREATE`: a versioned migration runs it once). */
export const SHARED_STATE_DDL = `
CREATE TABLE rate_counters (
  key      text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
  count    bigint NOT NULL CHECK (count >= 0),
  reset_at timestamptz NOT NULL
);
CREATE INDEX rate_counters_reset ON rate_counters (reset_at);

CREATE TABLE onboarding_tokens (
  token_sha256  text PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
  source        text NOT NULL CHECK (length(source) BETWEEN 1 AND 128),
  return_url    text NOT NULL CHECK (length(return_url) <= 4096),
  expires_at    timestamptz NOT NULL,
  code_sha256   text UNIQUE CHECK (code_sha256 ~ '^[0-9a-f]{64}$'),
  merchant_name text CHECK (length(merchant_name) BETWEEN 1 AND 64)
);
CREATE INDEX onboarding_tokens_expiry ON onboarding_tokens (expires_at);
CREATE INDEX onboarding_tokens_source ON onboarding_tokens (source, expires_at);
`;

/**
 * Transaction-level advisory lock key (`pg_advisory_xact_lock`) that serialises creations of
 * onboarding flows, so the pending caps are checked and the flow inserted as one step on every
 * instance. ASCII "PONB"; distinct from the migration lock.
 */
export const ONBOARDING_LOCK_KEY = 0x504f4e42;
