/**
 * The cluster tables of the PostgreSQL adapter: the registered server instances and the presence
 * rows they share (ports/instances.ts, ports/terminal-holders.ts). Applied as one migration; the
 * statements are idempotent (`IF NOT EXISTS`).
 *
 * - `server_instances`: one row per running instance; `incarnation` is a random token of the
 *   registration, so a heartbeat of a replaced registration (same id, another process) fails.
 * - `agent_connections`: the instance holding each agent's socket, with the session's
 *   connection number from `agent_connection_seq` (newest connection wins, without comparing
 *   clocks).
 * - `terminal_holders`: the session holding each terminal serial.
 *
 * Rows of a session point at their instance with `ON DELETE CASCADE`: deregistering an instance
 * (graceful stop) removes what it held; a crashed instance's rows stay until taken over, dead
 * once its lease ran out.
 */

/** The DDL of the cluster tables (one string of `;`-separated statements). */
export const CLUSTER_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS server_instances (
  instance_id  text PRIMARY KEY,
  incarnation  text NOT NULL,
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  lease_until  timestamptz NOT NULL,
  version      text,
  url          text
);
CREATE SEQUENCE IF NOT EXISTS agent_connection_seq;
CREATE TABLE IF NOT EXISTS agent_connections (
  agent_id       text PRIMARY KEY,
  session_id     text NOT NULL UNIQUE,
  instance_id    text NOT NULL REFERENCES server_instances (instance_id) ON DELETE CASCADE,
  connection_seq bigint NOT NULL,
  connected_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS agent_connections_instance ON agent_connections (instance_id);
CREATE TABLE IF NOT EXISTS terminal_holders (
  serial_number text PRIMARY KEY,
  agent_id      text NOT NULL,
  session_id    text NOT NULL,
  instance_id   text NOT NULL REFERENCES server_instances (instance_id) ON DELETE CASCADE,
  claimed_at    timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS terminal_holders_session ON terminal_holders (session_id);
CREATE INDEX IF NOT EXISTS terminal_holders_instance ON terminal_holders (instance_id);
`;
