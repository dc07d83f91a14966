/**
 * PostgreSQL schema of the operations console (issue 14 items 1–2): the same tables as SQLite
 * migration 12 (../sqlite/migrations.ts) with `timestamptz` times — console users, their API
 * tokens and sessions (secrets only as sha256 hex, passwords only as scrypt strings), the
 * append-only admin audit log (a trigger refuses UPDATE and DELETE), what an agent last said of
 * itself, and the indexes of the payment search (../admin-search-sql.ts).
 *
 * {@link ADMIN_DDL} is migration version 9 (./migrations.ts), run once inside its transaction.
 */

/** DDL of the console tables (plain `CREATE`: a versioned migration runs it once). */
export const ADMIN_DDL = `
CREATE TABLE admin_users (
  user_id       text PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 64),
  name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  merchant_id   text REFERENCES merchants (merchant_id),
  password_hash text NOT NULL CHECK (length(password_hash) <= 512),
  disabled      boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL
);

CREATE TABLE admin_credentials (
  credential_id text PRIMARY KEY CHECK (length(credential_id) BETWEEN 1 AND 64),
  kind          text NOT NULL CHECK (kind IN ('api', 'session')),
  secret_sha256 text NOT NULL UNIQUE CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
  label         text NOT NULL CHECK (length(label) <= 100),
  user_id       text REFERENCES admin_users (user_id),
  role          text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  merchant_id   text REFERENCES merchants (merchant_id),
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX admin_credentials_kind ON admin_credentials (kind, created_at);
CREATE INDEX admin_credentials_user ON admin_credentials (user_id);

CREATE TABLE admin_audit (
  seq     bigserial PRIMARY KEY,
  actor   text NOT NULL CHECK (length(actor) <= 200),
  action  text NOT NULL CHECK (length(action) <= 64),
  target  text NOT NULL CHECK (length(target) <= 200),
  reason  text NOT NULL CHECK (length(reason) <= 500),
  outcome text NOT NULL CHECK (length(outcome) <= 64),
  at      timestamptz NOT NULL
);
CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'admin audit rows are append-only';
END $$;
CREATE TRIGGER admin_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit
  FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();

ALTER TABLE agents ADD COLUMN agent_version text CHECK (agent_version IS NULL OR length(agent_version) <= 64);
ALTER TABLE agents ADD COLUMN last_hello_at timestamptz;

CREATE INDEX payments_created ON payments (created_at DESC, payment_id COLLATE "C" DESC);
CREATE INDEX payments_order ON payments (order_id);
CREATE INDEX payments_transaction ON payments (transaction_id);
CREATE INDEX payments_nsu ON payments (nsu) WHERE nsu IS NOT NULL;
CREATE INDEX payments_authorization ON payments (authorization_id) WHERE authorization_id IS NOT NULL;
CREATE INDEX payments_result_tid ON payments (result_tid) WHERE result_tid IS NOT NULL;
CREATE INDEX payments_merchant_created ON payments (merchant_id, created_at DESC);
`;
