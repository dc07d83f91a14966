/**
 * SQLite schema, as ordered migrations. Migration N brings the schema from version N-1 to N;
 * the applied version is kept in `schema_version`. Never edit a shipped migration: append one.
 */

/** Ordered SQL migrations; index 0 is version 1. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE agents (
    agent_id     TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL
  );

  CREATE TABLE terminals (
    serial_number TEXT PRIMARY KEY,
    agent_id      TEXT NOT NULL REFERENCES agents(agent_id),
    last_seen_at  INTEGER NOT NULL
  );

  CREATE TABLE payments (
    payment_id          TEXT PRIMARY KEY,
    id                  TEXT NOT NULL UNIQUE,
    transaction_id      TEXT NOT NULL,
    order_id            TEXT NOT NULL,
    reference           TEXT NOT NULL,
    merchant_name       TEXT NOT NULL,
    method              TEXT NOT NULL CHECK (method IN ('credit', 'debit')),
    installments        INTEGER NOT NULL,
    amount_minor        INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency            TEXT NOT NULL,
    callback_url        TEXT NOT NULL,
    state               TEXT NOT NULL,
    version             INTEGER NOT NULL DEFAULT 0,
    serial_number       TEXT,
    agent_id            TEXT,
    start_id            TEXT,
    progress_stage      TEXT,
    outcome             TEXT,
    terminal_ref        TEXT,
    authorization_id    TEXT,
    nsu                 TEXT,
    result_tid          TEXT,
    response_code       TEXT,
    result_message      TEXT,
    card_brand          TEXT,
    card_first_digits   TEXT,
    card_last_digits    TEXT,
    result_amount_minor INTEGER,
    created_at          INTEGER NOT NULL,
    changed_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
  );
  CREATE INDEX payments_state_serial ON payments(state, serial_number);
  CREATE INDEX payments_start_id ON payments(start_id);

  CREATE TABLE payment_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  TEXT NOT NULL REFERENCES payments(payment_id),
    type        TEXT NOT NULL,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    data        TEXT NOT NULL,
    at          INTEGER NOT NULL
  );
  CREATE INDEX payment_events_payment ON payment_events(payment_id, seq);

  CREATE TABLE callback_outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id       TEXT NOT NULL REFERENCES payments(payment_id),
    kind             TEXT NOT NULL,
    url              TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT,
    last_http_status INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (payment_id, kind)
  );
  CREATE INDEX callback_outbox_due ON callback_outbox(status, next_attempt_at);
  `,
];
