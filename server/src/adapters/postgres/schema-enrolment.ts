/**
 * PostgreSQL DDL of agent enrolment (issue 14 items 4–5, ports/agent-enrolment.ts): pairing
 * codes (sha256 hex only), the token-change columns of `agents`. Version 10 of ./migrations.ts (the totals read payments by `payments_merchant_created`, version 8).
 */
export const ENROLMENT_PG_DDL = `
CREATE TABLE pairing_codes (
  code_sha256 text PRIMARY KEY CHECK (length(code_sha256) = 64),
  merchant_id text NOT NULL REFERENCES merchants(merchant_id),
  store_id    text NOT NULL REFERENCES stores(store_id),
  agent_name  text NOT NULL CHECK (length(agent_name) BETWEEN 1 AND 100),
  created_by  text NOT NULL CHECK (length(created_by) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL CHECK (expires_at > created_at),
  used_at     timestamptz,
  agent_id    text REFERENCES agents(agent_id),
  CHECK ((used_at IS NULL) = (agent_id IS NULL))
);
CREATE INDEX pairing_codes_store ON pairing_codes(store_id, expires_at);
CREATE INDEX pairing_codes_expiry ON pairing_codes(expires_at);

ALTER TABLE agents ADD COLUMN revoked_at timestamptz;
ALTER TABLE agents ADD COLUMN credentials_changed_at timestamptz;
CREATE INDEX agents_credentials_changed ON agents(credentials_changed_at) WHERE credentials_changed_at IS NOT NULL;
`;
