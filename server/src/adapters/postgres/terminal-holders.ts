/**
 * {@link TerminalHolders} over PostgreSQL (tables `agent_connections`, `terminal_holders`,
 * `server_instances`, ./schema-cluster.ts): the presence rows the instances of a cluster share.
 *
 * A claim is one transaction. It takes the transaction-scoped advisory locks of the agent and
 * then of each claimed serial, in sorted order (`pg_advisory_xact_lock(namespace, hashtext(key))`),
 * so concurrent claims of one agent or one serial, on any instance, run one after the other; a
 * deadlock with a concurrent release is retried by {@link PgDb.transaction}. Liveness is
 * `server_instances.lease_until > now` at the claimer's clock.
 *
 * The connection number of each session this object claimed for is kept in memory until the
 * session is released: a session that claimed before and finds its connection row gone or
 * someone else's was replaced, and holds nothing from then on.
 *
 * @see ../../ports/terminal-holders.ts for the rules
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { HolderSession, HoldersClaim, InstanceHoldings, SerialHolder, TerminalHolders } from '../../ports/terminal-holders.ts';
import { storeError } from '../store-error.ts';
import { fromTs, toTs, type PgDb, type PgQueryable } from './pg-db.ts';

/** Advisory lock namespaces (the two-key form, apart from the one-key locks of migrations). */
const LOCK_AGENT = 0x70620001;
const LOCK_SERIAL = 0x70620002;

/** Most serials one claim may name. */
export const MAX_CLAIM_SERIALS = 256;

interface ConnectionRow {
  session_id: string;
  instance_id: string;
  connection_seq: number;
  live: boolean;
}

interface HolderRow {
  serial_number: string;
  agent_id: string;
  session_id: string;
  instance_id: string;
  live: boolean;
}

/** The shared presence rows in one PostgreSQL database. */
export class PgTerminalHolders implements TerminalHolders {
  readonly #db: PgDb;
  /** sessionId → its connection number, for the sessions claimed through this object. */
  readonly #seqs = new Map<string, number>();

  constructor(db: PgDb) {
    this.#db = db;
  }

  /** @inheritdoc */
  async claim(
    session: HolderSession,
    serialNumbers: readonly string[],
    now: number,
    ownerOf: (serialNumber: string) => Promise<string | undefined>,
  ): Promise<HoldersClaim> {
    const serials = [...new Set(serialNumbers)];
    if (serials.length > MAX_CLAIM_SERIALS) throw new CodedError('CFG_INVALID', `at most ${MAX_CLAIM_SERIALS} serials per claim`);
    try {
      const { claim, seq } = await this.#db.transaction((tx) => this.#claim(tx, session, serials, now, ownerOf));
      this.#seqs.set(session.sessionId, seq);
      return claim;
    } catch (err) {
      throw storeError('claim terminals', err);
    }
  }

  async #claim(
    tx: PgQueryable,
    session: HolderSession,
    serials: readonly string[],
    now: number,
    ownerOf: (serialNumber: string) => Promise<string | undefined>,
  ): Promise<{ claim: HoldersClaim; seq: number }> {
    const { agentId, sessionId, instanceId } = session;
    const at = toTs(now);
    await tx.run('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_AGENT, agentId]);
    const conn = await tx.one<ConnectionRow>(
      `SELECT c.session_id, c.instance_id, c.connection_seq, (i.lease_until > $2) AS live
         FROM agent_connections c JOIN server_instances i USING (instance_id) WHERE c.agent_id = $1`,
      [agentId, at],
    );
    const known = this.#seqs.get(sessionId);
    const superseded = (seq: number) => ({ claim: { superseded: true, held: [], refused: [], takenOver: [] }, seq });
    if (known !== undefined && conn?.session_id !== sessionId) {
      // It claimed before, and its connection row is gone or another session's: replaced.
      return superseded(known);
    }
    const seq = known ?? (await tx.one<{ seq: number }>("SELECT nextval('agent_connection_seq') AS seq"))?.seq;
    if (seq === undefined) throw new Error('nextval returned no row');
    const takenOver: HolderSession[] = [];
    if (conn === undefined) {
      await tx.run(
        `INSERT INTO agent_connections (agent_id, session_id, instance_id, connection_seq, connected_at) VALUES ($1, $2, $3, $4, $5)`,
        [agentId, sessionId, instanceId, seq, at],
      );
    } else if (conn.session_id !== sessionId) {
      if (conn.live && conn.connection_seq > seq) return superseded(seq);
      // An older connection of the agent, or one on a dead instance: the newest connection wins.
      takenOver.push({ agentId, sessionId: conn.session_id, instanceId: conn.instance_id });
      await tx.run('DELETE FROM terminal_holders WHERE session_id = $1', [conn.session_id]);
      await tx.run(
        `UPDATE agent_connections SET session_id = $2, instance_id = $3, connection_seq = $4, connected_at = $5 WHERE agent_id = $1`,
        [agentId, sessionId, instanceId, seq, at],
      );
    }

    for (const serial of [...serials].sort()) {
      await tx.run('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_SERIAL, serial]);
    }
    const rows = await tx.rows<HolderRow>(
      `SELECT h.serial_number, h.agent_id, h.session_id, h.instance_id, (i.lease_until > $2) AS live
         FROM terminal_holders h JOIN server_instances i USING (instance_id) WHERE h.serial_number = ANY($1)`,
      [serials, at],
    );
    const bySerial = new Map(rows.map((row) => [row.serial_number, row]));
    const held: string[] = [];
    const refused: string[] = [];
    for (const serial of serials) {
      const row = bySerial.get(serial);
      if (row?.session_id === sessionId) {
        held.push(serial);
        continue;
      }
      if (row !== undefined && row.agent_id !== agentId && row.live && (await ownerOf(serial)) !== agentId) {
        // A live session of another agent that still owns it in the directory.
        refused.push(serial);
        continue;
      }
      if (row !== undefined && !takenOver.some((t) => t.sessionId === row.session_id)) {
        takenOver.push({ agentId: row.agent_id, sessionId: row.session_id, instanceId: row.instance_id });
      }
      await tx.run(
        `INSERT INTO terminal_holders (serial_number, agent_id, session_id, instance_id, claimed_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (serial_number) DO UPDATE
           SET agent_id = EXCLUDED.agent_id, session_id = EXCLUDED.session_id, instance_id = EXCLUDED.instance_id, claimed_at = EXCLUDED.claimed_at`,
        [serial, agentId, sessionId, instanceId, at],
      );
      held.push(serial);
    }
    // Serials it held and did not announce again.
    await tx.run('DELETE FROM terminal_holders WHERE session_id = $1 AND NOT (serial_number = ANY($2))', [sessionId, held]);
    return { claim: { superseded: false, held, refused, takenOver }, seq };
  }

  /** @inheritdoc */
  async locate(serialNumber: string, now: number): Promise<SerialHolder | undefined> {
    try {
      const row = await this.#db.one<{ agent_id: string; session_id: string; instance_id: string; claimed_at: Date }>(
        `SELECT h.agent_id, h.session_id, h.instance_id, h.claimed_at
           FROM terminal_holders h JOIN server_instances i USING (instance_id)
          WHERE h.serial_number = $1 AND i.lease_until > $2`,
        [serialNumber, toTs(now)],
      );
      return row && { agentId: row.agent_id, sessionId: row.session_id, instanceId: row.instance_id, claimedAt: fromTs(row.claimed_at) };
    } catch (err) {
      throw storeError('locate terminal', err);
    }
  }

  /** @inheritdoc */
  async isConnectedElsewhere(agentId: string, exceptInstanceId: string, now: number): Promise<boolean> {
    try {
      const row = await this.#db.one<{ one: number }>(
        `SELECT 1 AS one FROM agent_connections c JOIN server_instances i USING (instance_id)
          WHERE c.agent_id = $1 AND c.instance_id <> $2 AND i.lease_until > $3`,
        [agentId, exceptInstanceId, toTs(now)],
      );
      return row !== undefined;
    } catch (err) {
      throw storeError('find agent connection', err);
    }
  }

  /** @inheritdoc */
  async release(sessionId: string): Promise<void> {
    try {
      await this.#db.transaction(async (tx) => {
        await tx.run('DELETE FROM terminal_holders WHERE session_id = $1', [sessionId]);
        await tx.run('DELETE FROM agent_connections WHERE session_id = $1', [sessionId]);
      });
    } catch (err) {
      throw storeError('release session', err);
    }
    this.#seqs.delete(sessionId);
  }

  /** @inheritdoc */
  async heldBy(instanceId: string): Promise<InstanceHoldings> {
    try {
      const connections = await this.#db.rows<{ session_id: string }>('SELECT session_id FROM agent_connections WHERE instance_id = $1', [instanceId]);
      const holders = await this.#db.rows<{ session_id: string; serial_number: string }>(
        'SELECT session_id, serial_number FROM terminal_holders WHERE instance_id = $1 ORDER BY serial_number',
        [instanceId],
      );
      const sessions = new Map<string, string[]>(connections.map((c) => [c.session_id, []]));
      for (const h of holders) sessions.set(h.session_id, [...(sessions.get(h.session_id) ?? []), h.serial_number]);
      return { sessions };
    } catch (err) {
      throw storeError('list held terminals', err);
    }
  }
}
