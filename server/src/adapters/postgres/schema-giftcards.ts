/**
 * PostgreSQL schema of the built-in gift card ledger (issue 17): the same tables as the SQLite
 * migration planned as 8 (../sqlite/migrations.ts), with `timestamptz` times and `bigint`
 * amounts. Redemption codes only as HMAC digests (../../giftcards/redemption-code.ts); the
 * balance is never stored, only each entry's balance after it; (card_id, request_id) is the
 * idempotency key; a trigger refuses every UPDATE and DELETE of a journal entry.
 *
 * {@link GIFTCARDS_DDL} is one migration step (./migrations.ts), run once inside its transaction.
 */

/** DDL of `gift_cards` and `gift_card_entries` (plain `CREATE`: a versioned migration runs it once). */
export const GIFTCARDS_DDL = `
CREATE TABLE gift_cards (
  card_id              text PRIMARY KEY CHECK (length(card_id) BETWEEN 1 AND 128),
  merchant_name        text NOT NULL CHECK (length(merchant_name) BETWEEN 1 AND 128),
  profile_id           text NOT NULL CHECK (length(profile_id) BETWEEN 1 AND 128),
  relation_name        text NOT NULL CHECK (length(relation_name) BETWEEN 1 AND 128),
  caption              text NOT NULL CHECK (length(caption) <= 512),
  currency             text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  emitted_at           timestamptz NOT NULL,
  expires_at           timestamptz,
  restricted_to_owner  boolean NOT NULL,
  multiple_redemptions boolean NOT NULL,
  multiple_credits     boolean NOT NULL,
  code_digest          text NOT NULL CHECK (code_digest ~ '^[0-9a-f]{64}$'),
  created_at           timestamptz NOT NULL,
  UNIQUE (merchant_name, code_digest)
);
CREATE INDEX gift_cards_owner ON gift_cards (merchant_name, profile_id, created_at, card_id);

CREATE TABLE gift_card_entries (
  entry_id            text PRIMARY KEY CHECK (length(entry_id) BETWEEN 1 AND 128),
  card_id             text NOT NULL REFERENCES gift_cards (card_id),
  seq                 integer NOT NULL CHECK (seq >= 1),
  kind                text NOT NULL CHECK (kind IN ('debit', 'credit', 'cancellation', 'settlement')),
  amount_minor        bigint NOT NULL CHECK (amount_minor >= 1),
  transaction_id      text,
  request_id          text NOT NULL CHECK (length(request_id) BETWEEN 1 AND 128),
  fingerprint         text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  description         text NOT NULL CHECK (length(description) <= 512),
  order_id            text,
  at                  timestamptz NOT NULL,
  balance_after_minor bigint NOT NULL CHECK (balance_after_minor >= 0),
  UNIQUE (card_id, seq),
  UNIQUE (card_id, request_id),
  CHECK ((kind IN ('cancellation', 'settlement')) = (transaction_id IS NOT NULL))
);

CREATE FUNCTION gift_card_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'gift card journal entries are append-only';
END $$;
CREATE TRIGGER gift_card_entries_append_only BEFORE UPDATE OR DELETE ON gift_card_entries
  FOR EACH ROW EXECUTE FUNCTION gift_card_entries_append_only();
`;
