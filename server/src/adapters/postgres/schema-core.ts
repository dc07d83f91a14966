/**
 * The core schema of the PostgreSQL store: every table the SQLite store has (the final shape of
 * ../sqlite/migrations.ts after all its migrations), as migration 1 of ./migrations.ts. Other
 * schema modules (cluster presence, shared counters) export DDL of their own and are appended to
 * `PG_MIGRATIONS` as later versions; this text is never edited once shipped.
 *
 * Column rules (./pg-db.ts): money in integer minor units as `bigint`; times as `timestamptz`
 * (the ports' ms since epoch, converted by `toTs`/`fromTs`); flags as `boolean`; JSON documents
 * (event data, callback bodies, agent messages, stored answers) as `text`, so the exact bytes
 * written are the bytes read back. Uniqueness and foreign keys are SQLite's; identities
 * (`payment_events.seq`, `callback_outbox.id`, `terminal_events.seq`) are `bigint` identities.
 *
 * Leases (../../ports/leases.ts): `callback_outbox.lease_owner`/`lease_until` and
 * `payments.deadline_lease_owner`/`deadline_lease_until` are `text` and `timestamptz` like every
 * other time. A settle compares `lease_until` for equality with the ms value its claim returned:
 * that is exact because the value is always bound from JavaScript ms (`toTs`, a `Date`, written by
 * `pg` with its milliseconds) and `timestamptz` keeps microseconds, so the stored instant is that
 * very ms and reads back as it (never computed in SQL with intervals or `now()`).
 */

/** DDL of migration 1 (tables and indexes of the core ports). */
export const SCHEMA_CORE = `
CREATE TABLE meta (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE merchants (
  merchant_id      text PRIMARY KEY,
  name             text UNIQUE,
  app_key          text NOT NULL UNIQUE,
  app_token_sha256 text NOT NULL,
  callback_mode    text NOT NULL DEFAULT 'notification' CHECK (callback_mode IN ('notification', 'retry')),
  created_at       timestamptz NOT NULL
);

CREATE TABLE stores (
  store_id    text PRIMARY KEY,
  merchant_id text NOT NULL REFERENCES merchants(merchant_id),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL,
  UNIQUE (merchant_id, name)
);

CREATE TABLE agents (
  agent_id     text PRIMARY KEY,
  name         text NOT NULL,
  token_sha256 text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL,
  store_id     text REFERENCES stores(store_id)
);

CREATE TABLE terminals (
  serial_number text PRIMARY KEY,
  agent_id      text NOT NULL REFERENCES agents(agent_id),
  last_seen_at  timestamptz NOT NULL
);
CREATE INDEX terminals_agent ON terminals(agent_id);

CREATE TABLE terminal_events (
  seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  serial_number text NOT NULL,
  type          text NOT NULL CHECK (type IN ('registered', 'moved')),
  from_agent_id text,
  to_agent_id   text NOT NULL REFERENCES agents(agent_id),
  actor         text NOT NULL,
  reason        text NOT NULL,
  at            timestamptz NOT NULL
);
CREATE INDEX terminal_events_serial ON terminal_events(serial_number, seq);

CREATE TABLE payments (
  payment_id          text PRIMARY KEY,
  id                  text NOT NULL UNIQUE,
  transaction_id      text NOT NULL,
  order_id            text NOT NULL,
  reference           text NOT NULL,
  merchant_name       text NOT NULL,
  method              text NOT NULL CHECK (method IN ('credit', 'debit')),
  installments        integer NOT NULL,
  amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
  currency            text NOT NULL,
  callback_url        text NOT NULL,
  state               text NOT NULL,
  version             integer NOT NULL DEFAULT 0,
  serial_number       text,
  agent_id            text,
  start_id            text,
  progress_stage      text,
  outcome             text,
  terminal_ref        text,
  authorization_id    text,
  nsu                 text,
  result_tid          text,
  response_code       text,
  result_message      text,
  card_brand          text,
  card_first_digits   text,
  card_last_digits    text,
  result_amount_minor bigint,
  merchant_id         text NOT NULL DEFAULT 'mch_bootstrap',
  end_reason          text CHECK (end_reason IN ('cancelled', 'expired')),
  deadline_at         timestamptz,
  test_suite          boolean NOT NULL DEFAULT false,
  deadline_lease_owner text,
  deadline_lease_until timestamptz,
  created_at          timestamptz NOT NULL,
  changed_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE INDEX payments_state_serial ON payments(state, serial_number);
CREATE INDEX payments_serial ON payments(serial_number) WHERE serial_number IS NOT NULL;
CREATE INDEX payments_start_id ON payments(start_id);
-- The deadline claim's order (ports/payments.ts claimDuePayments); the payment machine clears the
-- deadline when a payment ends, so the index stays about the size of the waiting set.
CREATE INDEX payments_deadline ON payments(deadline_at, payment_id COLLATE "C") WHERE deadline_at IS NOT NULL;

CREATE TABLE payment_events (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_id text NOT NULL REFERENCES payments(payment_id),
  type       text NOT NULL,
  from_state text,
  to_state   text NOT NULL,
  data       text NOT NULL,
  at         timestamptz NOT NULL
);
CREATE INDEX payment_events_payment ON payment_events(payment_id, seq);

CREATE TABLE callback_outbox (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payment_id       text NOT NULL REFERENCES payments(payment_id),
  kind             text NOT NULL,
  url              text NOT NULL,
  body             text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text,
  last_http_status integer,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  expires_at       timestamptz,
  lease_owner      text,
  lease_until      timestamptz,
  UNIQUE (payment_id, kind)
);
-- The callback claim (ports/callback-outbox.ts claimDueCallbacks): the pending rows by due time;
-- leased rows stay in it (a claim keeps next_attempt_at) and are filtered on lease_until, which
-- the index carries. There are at most as many of them as deliveries in flight.
CREATE INDEX callback_outbox_due ON callback_outbox(next_attempt_at, id) INCLUDE (lease_until) WHERE status = 'pending';

CREATE TABLE operations (
  operation_id     text PRIMARY KEY,
  payment_id       text NOT NULL REFERENCES payments(payment_id),
  kind             text NOT NULL CHECK (kind IN ('cancel', 'settle', 'refund')),
  request_id       text NOT NULL,
  amount_minor     bigint NOT NULL CHECK (amount_minor >= 0),
  status           text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'unknown')),
  serial_number    text,
  terminal_ref     text,
  authorization_id text,
  nsu              text,
  response_code    text,
  message          text,
  answer_status    integer,
  answer           text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  UNIQUE (payment_id, kind, request_id)
);
CREATE INDEX operations_open ON operations(kind, status, serial_number);
CREATE INDEX operations_unknown ON operations(status) WHERE status = 'unknown';

CREATE TABLE agent_commands (
  command_id        text PRIMARY KEY,
  kind              text NOT NULL CHECK (kind IN ('start', 'abort', 'void', 'refund')),
  payment_id        text NOT NULL REFERENCES payments(payment_id),
  merchant_id       text NOT NULL,
  serial_number     text NOT NULL,
  agent_id          text,
  message           text NOT NULL,
  status            text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
  created_at        timestamptz NOT NULL,
  attempts          integer NOT NULL DEFAULT 0,
  last_sent_at      timestamptz,
  sent_session_id   text,
  next_attempt_at   timestamptz,
  acked_at          timestamptz,
  acked_session_id  text,
  passed_session_id text,
  closed_at         timestamptz,
  close_reason      text,
  updated_at        timestamptz NOT NULL
);
CREATE INDEX agent_commands_open ON agent_commands(serial_number, created_at) WHERE status = 'open';
CREATE INDEX agent_commands_payment ON agent_commands(payment_id, created_at);
`;
