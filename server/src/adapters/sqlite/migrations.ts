/**
 * SQLite schema, as ordered migrations. Migration N brings the schema from version N-1 to N;
 * the applied version is kept in `schema_version`. Never edit a shipped migration: append one.
 */

import { ENROLMENT_SQLITE_DDL } from './schema-enrolment.ts';

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
  // 2: merchants and stores, operations (cancel/settle/refund), deadlines, callback windows.
  `
  CREATE TABLE merchants (
    merchant_id      TEXT PRIMARY KEY,
    name             TEXT UNIQUE,
    app_key          TEXT NOT NULL UNIQUE,
    app_token_sha256 TEXT NOT NULL,
    callback_mode    TEXT NOT NULL DEFAULT 'notification' CHECK (callback_mode IN ('notification', 'retry')),
    created_at       INTEGER NOT NULL
  );

  CREATE TABLE stores (
    store_id    TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(merchant_id),
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (merchant_id, name)
  );

  ALTER TABLE agents ADD COLUMN store_id TEXT REFERENCES stores(store_id);

  ALTER TABLE payments ADD COLUMN merchant_id TEXT NOT NULL DEFAULT 'mch_bootstrap';
  ALTER TABLE payments ADD COLUMN end_reason TEXT CHECK (end_reason IN ('cancelled', 'expired'));
  ALTER TABLE payments ADD COLUMN deadline_at INTEGER;
  ALTER TABLE payments ADD COLUMN test_suite INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX payments_deadline ON payments(deadline_at) WHERE deadline_at IS NOT NULL;

  ALTER TABLE callback_outbox ADD COLUMN expires_at INTEGER;

  CREATE TABLE operations (
    operation_id     TEXT PRIMARY KEY,
    payment_id       TEXT NOT NULL REFERENCES payments(payment_id),
    kind             TEXT NOT NULL CHECK (kind IN ('cancel', 'settle', 'refund')),
    request_id       TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor >= 0),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'unknown')),
    serial_number    TEXT,
    terminal_ref     TEXT,
    authorization_id TEXT,
    nsu              TEXT,
    response_code    TEXT,
    message          TEXT,
    answer_status    INTEGER,
    answer           TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (payment_id, kind, request_id)
  );
  CREATE INDEX operations_open ON operations(kind, status, serial_number);
  `,
  // 3 (terminal ownership, docs/protocol/ws.md): audit of who registered or moved a terminal, and why.
  `
  CREATE TABLE terminal_events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    serial_number TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('registered', 'moved')),
    from_agent_id TEXT,
    to_agent_id   TEXT NOT NULL REFERENCES agents(agent_id),
    actor         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    at            INTEGER NOT NULL
  );
  CREATE INDEX terminal_events_serial ON terminal_events(serial_number, seq);
  `,
  // 4 (effects as rows, issue 11 item 1): the agent-command log (ports/agent-commands.ts), and the
  // commands owed at upgrade time (what the hub re-derived from payment state until then).
  `
  CREATE TABLE agent_commands (
    command_id        TEXT PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('start', 'abort', 'void', 'refund')),
    payment_id        TEXT NOT NULL REFERENCES payments(payment_id),
    merchant_id       TEXT NOT NULL,
    serial_number     TEXT NOT NULL,
    agent_id          TEXT,
    message           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at        INTEGER NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_sent_at      INTEGER,
    sent_session_id   TEXT,
    next_attempt_at   INTEGER,
    acked_at          INTEGER,
    acked_session_id  TEXT,
    passed_session_id TEXT,
    closed_at         INTEGER,
    close_reason      TEXT,
    updated_at        INTEGER NOT NULL
  );
  CREATE INDEX agent_commands_open ON agent_commands(serial_number, created_at) WHERE status = 'open';
  CREATE INDEX agent_commands_payment ON agent_commands(payment_id, created_at);

  INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, created_at, updated_at)
  SELECT start_id, 'start', payment_id, merchant_id, serial_number, agent_id,
         json_object('v', 1, 'id', start_id, 'type', 'payment.start', 'paymentId', payment_id, 'serialNumber', serial_number,
                     'amount', json_object('amountMinor', amount_minor, 'currency', currency), 'method', method, 'installments', installments),
         changed_at, changed_at
    FROM payments WHERE state = 'dispatched' AND start_id IS NOT NULL AND serial_number IS NOT NULL AND agent_id IS NOT NULL;

  INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, created_at, updated_at)
  SELECT 'ab_' || id, 'abort', payment_id, merchant_id, serial_number, agent_id,
         json_object('v', 1, 'id', 'ab_' || id, 'type', 'payment.abort', 'paymentId', payment_id, 'reason', COALESCE(end_reason, 'cancelled')),
         changed_at, changed_at
    FROM payments
   WHERE (state = 'aborting' OR (state = 'unknown' AND end_reason = 'cancelled')) AND serial_number IS NOT NULL AND agent_id IS NOT NULL;

  INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, created_at, updated_at)
  SELECT 'vd_' || id, 'void', payment_id, merchant_id, serial_number, NULL,
         json_object('v', 1, 'id', 'vd_' || id, 'type', 'operation.start', 'operationId', 'vd_' || id, 'paymentId', payment_id,
                     'kind', 'void', 'serialNumber', serial_number,
                     'amount', json_object('amountMinor', COALESCE(result_amount_minor, amount_minor), 'currency', currency),
                     'originalTerminalRef', COALESCE(NULLIF(terminal_ref, ''), payment_id)),
         changed_at, changed_at
    FROM payments WHERE state = 'reversing' AND serial_number IS NOT NULL;

  INSERT INTO agent_commands (command_id, kind, payment_id, merchant_id, serial_number, agent_id, message, created_at, updated_at)
  SELECT o.operation_id, 'refund', o.payment_id, p.merchant_id, o.serial_number, NULL,
         json_object('v', 1, 'id', o.operation_id, 'type', 'operation.start', 'operationId', o.operation_id, 'paymentId', o.payment_id,
                     'kind', 'refund', 'serialNumber', o.serial_number,
                     'amount', json_object('amountMinor', o.amount_minor, 'currency', p.currency),
                     'originalTerminalRef', COALESCE(NULLIF(p.terminal_ref, ''), p.payment_id)),
         o.created_at, o.created_at
    FROM operations o JOIN payments p ON p.payment_id = o.payment_id
   WHERE o.kind = 'refund' AND o.status IN ('pending', 'unknown') AND o.serial_number IS NOT NULL AND p.serial_number IS NOT NULL;
  `,
  // 5 (work shared between instances, issue 12 item 3, ports/leases.ts): who holds a callback's
  // or a deadline's lease, and until when. A callback claimed by an older version (its
  // next_attempt_at moved to the end of its lease) is simply due at that time, with no lease.
  `
  ALTER TABLE callback_outbox ADD COLUMN lease_owner TEXT;
  ALTER TABLE callback_outbox ADD COLUMN lease_until INTEGER;
  ALTER TABLE payments ADD COLUMN deadline_lease_owner TEXT;
  ALTER TABLE payments ADD COLUMN deadline_lease_until INTEGER;
  `,
  // 6 (cluster, issue 12 item 4): state every server instance on one database shares: the
  // fixed-window counters of the rate limits, and the configuration flow's pending flows (token
  // and code kept only as sha256 hex).
  `
  CREATE TABLE rate_counters (
    key      TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
    count    INTEGER NOT NULL CHECK (count >= 0),
    reset_at INTEGER NOT NULL
  );
  CREATE INDEX rate_counters_reset ON rate_counters(reset_at);

  CREATE TABLE onboarding_tokens (
    token_sha256  TEXT PRIMARY KEY CHECK (length(token_sha256) = 64),
    source        TEXT NOT NULL CHECK (length(source) BETWEEN 1 AND 128),
    return_url    TEXT NOT NULL CHECK (length(return_url) <= 4096),
    expires_at    INTEGER NOT NULL,
    code_sha256   TEXT UNIQUE CHECK (code_sha256 IS NULL OR length(code_sha256) = 64),
    merchant_name TEXT CHECK (merchant_name IS NULL OR length(merchant_name) BETWEEN 1 AND 64)
  );
  CREATE INDEX onboarding_tokens_expiry ON onboarding_tokens(expires_at);
  CREATE INDEX onboarding_tokens_source ON onboarding_tokens(source, expires_at);
  `,
  // 7 (VTEX homologation, issue 16): a merchant's Test Suite mode (off by default) and who last
  // changed it, when (an admin action, ports/directory.ts TestSuiteModeChange).
  `
  ALTER TABLE merchants ADD COLUMN test_suite INTEGER NOT NULL DEFAULT 0 CHECK (test_suite IN (0, 1));
  ALTER TABLE merchants ADD COLUMN test_suite_changed_by TEXT CHECK (test_suite_changed_by IS NULL OR length(test_suite_changed_by) <= 200);
  ALTER TABLE merchants ADD COLUMN test_suite_changed_at INTEGER;
  `,
  // 8 (gift cards, issue 17): the built-in ledger's cards and their append-only journal.
  // Redemption codes only as HMAC
  // digests (../../giftcards/redemption-code.ts); the balance is never stored, only each entry's
  // balance after it, and (card_id, request_id) is the idempotency key.
  `
  CREATE TABLE gift_cards (
    card_id              TEXT PRIMARY KEY CHECK (length(card_id) BETWEEN 1 AND 128),
    merchant_name        TEXT NOT NULL CHECK (length(merchant_name) BETWEEN 1 AND 128),
    profile_id           TEXT NOT NULL CHECK (length(profile_id) BETWEEN 1 AND 128),
    relation_name        TEXT NOT NULL CHECK (length(relation_name) BETWEEN 1 AND 128),
    caption              TEXT NOT NULL CHECK (length(caption) <= 512),
    currency             TEXT NOT NULL CHECK (length(currency) = 3),
    emitted_at           INTEGER NOT NULL,
    expires_at           INTEGER,
    restricted_to_owner  INTEGER NOT NULL CHECK (restricted_to_owner IN (0, 1)),
    multiple_redemptions INTEGER NOT NULL CHECK (multiple_redemptions IN (0, 1)),
    multiple_credits     INTEGER NOT NULL CHECK (multiple_credits IN (0, 1)),
    code_digest          TEXT NOT NULL CHECK (length(code_digest) = 64),
    created_at           INTEGER NOT NULL,
    UNIQUE (merchant_name, code_digest)
  );
  CREATE INDEX gift_cards_owner ON gift_cards(merchant_name, profile_id, created_at, card_id);

  CREATE TABLE gift_card_entries (
    entry_id            TEXT PRIMARY KEY CHECK (length(entry_id) BETWEEN 1 AND 128),
    card_id             TEXT NOT NULL REFERENCES gift_cards(card_id),
    seq                 INTEGER NOT NULL CHECK (seq >= 1),
    kind                TEXT NOT NULL CHECK (kind IN ('debit', 'credit', 'cancellation', 'settlement')),
    amount_minor        INTEGER NOT NULL CHECK (amount_minor >= 1),
    transaction_id      TEXT,
    request_id          TEXT NOT NULL CHECK (length(request_id) BETWEEN 1 AND 128),
    fingerprint         TEXT NOT NULL CHECK (length(fingerprint) = 64),
    description         TEXT NOT NULL CHECK (length(description) <= 512),
    order_id            TEXT,
    at                  INTEGER NOT NULL,
    balance_after_minor INTEGER NOT NULL CHECK (balance_after_minor >= 0),
    UNIQUE (card_id, seq),
    UNIQUE (card_id, request_id),
    CHECK ((kind IN ('cancellation', 'settlement')) = (transaction_id IS NOT NULL))
  );

  CREATE TRIGGER gift_card_entries_no_update BEFORE UPDATE ON gift_card_entries
  BEGIN SELECT RAISE(ABORT, 'gift card journal entries are append-only'); END;
  CREATE TRIGGER gift_card_entries_no_delete BEFORE DELETE ON gift_card_entries
  BEGIN SELECT RAISE(ABORT, 'gift card journal entries are append-only'); END;
  `,
  // 9 (VTEX sandbox mode, issue 16 item 3, docs/homologation.md "Sandbox mode"): a payment sent
  // from a VTEX sandbox, and the merchant's rule for such payments on its real terminals (deny by
  // default) with who last changed it, when.
  `
  ALTER TABLE payments ADD COLUMN sandbox INTEGER NOT NULL DEFAULT 0 CHECK (sandbox IN (0, 1));
  ALTER TABLE merchants ADD COLUMN sandbox_terminals INTEGER NOT NULL DEFAULT 0 CHECK (sandbox_terminals IN (0, 1));
  ALTER TABLE merchants ADD COLUMN sandbox_terminals_changed_by TEXT CHECK (sandbox_terminals_changed_by IS NULL OR length(sandbox_terminals_changed_by) <= 200);
  ALTER TABLE merchants ADD COLUMN sandbox_terminals_changed_at INTEGER;
  `,
  // 10 (Payment App in its real hosts, issue 15): the partner's VTEX IO Payment App a merchant's payments open (`vendor.name`,
  // null = VTEX's own apps) and who last changed it, when (ports/directory.ts PaymentAppChange).
  `
  ALTER TABLE merchants ADD COLUMN payment_app TEXT CHECK (payment_app IS NULL OR length(payment_app) BETWEEN 3 AND 129);
  ALTER TABLE merchants ADD COLUMN payment_app_changed_by TEXT CHECK (payment_app_changed_by IS NULL OR length(payment_app_changed_by) <= 200);
  ALTER TABLE merchants ADD COLUMN payment_app_changed_at INTEGER;
  `,
  // 11 (operations console, issue 14 items 1–2): console users, their API tokens and sessions
  // (secrets only as sha256 hex, passwords only as scrypt strings), the admin audit log, what an
  // agent last said of itself (for listings), and the index of the payment search's sort.
  `
  CREATE TABLE admin_users (
    user_id       TEXT PRIMARY KEY CHECK (length(user_id) BETWEEN 1 AND 64),
    name          TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    merchant_id   TEXT REFERENCES merchants(merchant_id),
    password_hash TEXT NOT NULL CHECK (length(password_hash) <= 512),
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    INTEGER NOT NULL
  );

  CREATE TABLE admin_credentials (
    credential_id TEXT PRIMARY KEY CHECK (length(credential_id) BETWEEN 1 AND 64),
    kind          TEXT NOT NULL CHECK (kind IN ('api', 'session')),
    secret_sha256 TEXT NOT NULL UNIQUE CHECK (length(secret_sha256) = 64),
    label         TEXT NOT NULL CHECK (length(label) <= 100),
    user_id       TEXT REFERENCES admin_users(user_id),
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    merchant_id   TEXT REFERENCES merchants(merchant_id),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER,
    revoked_at    INTEGER
  );
  CREATE INDEX admin_credentials_kind ON admin_credentials(kind, created_at);
  CREATE INDEX admin_credentials_user ON admin_credentials(user_id);

  CREATE TABLE admin_audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    actor   TEXT NOT NULL CHECK (length(actor) <= 200),
    action  TEXT NOT NULL CHECK (length(action) <= 64),
    target  TEXT NOT NULL CHECK (length(target) <= 200),
    reason  TEXT NOT NULL CHECK (length(reason) <= 500),
    outcome TEXT NOT NULL CHECK (length(outcome) <= 64),
    at      INTEGER NOT NULL
  );
  CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
  BEGIN SELECT RAISE(ABORT, 'admin audit rows are append-only'); END;
  CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
  BEGIN SELECT RAISE(ABORT, 'admin audit rows are append-only'); END;

  ALTER TABLE agents ADD COLUMN agent_version TEXT CHECK (agent_version IS NULL OR length(agent_version) <= 64);
  ALTER TABLE agents ADD COLUMN last_hello_at INTEGER;

  CREATE INDEX payments_created ON payments(created_at DESC, payment_id DESC);
  CREATE INDEX payments_order ON payments(order_id);
  CREATE INDEX payments_transaction ON payments(transaction_id);
  CREATE INDEX payments_nsu ON payments(nsu) WHERE nsu IS NOT NULL;
  CREATE INDEX payments_authorization ON payments(authorization_id) WHERE authorization_id IS NOT NULL;
  CREATE INDEX payments_result_tid ON payments(result_tid) WHERE result_tid IS NOT NULL;
  CREATE INDEX payments_merchant_created ON payments(merchant_id, created_at DESC);
  `,
  // 12 (hot path, issue 13): the `created` event of a new payment is written by the INSERT itself,
  // so a group-committed Create Payment (./create-batch.ts) is one autocommit statement — payment
  // rows and their events, atomically — instead of BEGIN, two inserts and COMMIT (four trips to
  // the database thread). INSERT OR IGNORE of an existing id fires nothing. The data is the object
  // of createdEventData (../../domain/audit-data.ts): {amount:{amountMinor,currency},method,
  // installments} plus sandbox: true for a sandbox payment (./sqlite-hot-path.test.ts compares them).
  `
  CREATE TRIGGER payments_created_event AFTER INSERT ON payments
  BEGIN
    INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at)
    VALUES (NEW.payment_id, 'created', NULL, 'awaiting_terminal',
            CASE WHEN NEW.sandbox = 1
              THEN json_object('amount', json_object('amountMinor', NEW.amount_minor, 'currency', NEW.currency),
                               'method', NEW.method, 'installments', NEW.installments, 'sandbox', json('true'))
              ELSE json_object('amount', json_object('amountMinor', NEW.amount_minor, 'currency', NEW.currency),
                               'method', NEW.method, 'installments', NEW.installments)
            END,
            NEW.created_at);
  END;
  `,
  // 13 (agent enrolment and end-of-day totals, issue 14 items 4–5; ./schema-enrolment.ts):
  // pairing codes and agent token rotation/revocation.
  ENROLMENT_SQLITE_DDL,
  // 14 (one trace across hops, issue 14 item 3; docs/tracing.md): the payment's W3C trace id and
  // the stages its agent reported (bounded per payment by the port, redacted by the hub).
  `
  ALTER TABLE payments ADD COLUMN trace_id TEXT CHECK (trace_id IS NULL OR (length(trace_id) = 32 AND trace_id NOT GLOB '*[^0-9a-f]*'));
  CREATE TABLE payment_trace_events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id   TEXT NOT NULL REFERENCES payments(payment_id),
    agent_id     TEXT NOT NULL CHECK (length(agent_id) <= 64),
    stage        TEXT NOT NULL CHECK (length(stage) <= 32),
    detail       TEXT NOT NULL CHECK (length(detail) <= 1024),
    at           INTEGER NOT NULL,
    received_at  INTEGER NOT NULL
  );
  CREATE INDEX payment_trace_events_payment ON payment_trace_events(payment_id, seq);
  `,
];

