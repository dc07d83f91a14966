/**
 * {@link HubPresence} of one instance of a cluster: the in-memory routing of the sessions this
 * hub holds (./local-presence.ts, wrapped: the hub needs the session objects) plus the presence
 * rows the instances share (ports/terminal-holders.ts, PostgreSQL in production).
 *
 * - **claim** = the local admission by the ownership rules (./terminal-admission.ts; "is the
 *   owner connected" also asks the other instances), then one transaction on the shared rows:
 *   serials held by a live session of another agent that still owns them are refused
 *   (`WS_SERIAL_CLAIMED`), rows of a dead instance or of an older connection of the same agent
 *   are taken over (the newest connection wins). Whatever another instance lost is reported to
 *   {@link ClusterPresenceOptions.onTakenOver} (to tell that instance at once, e.g. over the bus).
 * - **locate** = this hub's routes first, else the shared rows (online only while the holder's
 *   instance is live and its agent still owns the serial).
 * - **release** = the session's rows are deleted (when the hub detaches it; a failed delete is
 *   repeated by the next {@link ClusterPresence.reconcile}).
 * - **reconcile** (at every instance heartbeat, ./instance-heartbeat.ts): a session whose
 *   connection row was taken over is closed (4000), a serial whose row was taken over stops being
 *   routed here, and rows of sessions no longer held here are deleted. So an instance notices on
 *   its own; no bus message is needed for correctness.
 *
 * @see docs/protocol/ws.md "Terminal ownership", ports/terminal-holders.ts
 */
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { ERROR_CODES } from '@posbridge/protocol/errors';
import type { AnnouncedTerminal } from '@posbridge/protocol/ws';
import type { PaymentStore } from '../ports/index.ts';
import type { PresenceClaim, RefusedSerial, TerminalLookup } from '../ports/presence.ts';
import type { HolderSession, TerminalHolders } from '../ports/terminal-holders.ts';
import { LocalPresence, type HubPresence, type LocalHolder } from './local-presence.ts';

/** A session this presence can close when the cluster says it was replaced. */
export interface ClusterHolder extends LocalHolder {
  /** Closes the socket (WebSocket close code and reason). */
  close(code: number, reason: string): void;
}

/** Options of {@link ClusterPresence}. */
export interface ClusterPresenceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Most serials one agent may have accepted in one announcement. */
  readonly maxTerminalsPerAgent: number;
  /** The shared rows. */
  readonly holders: TerminalHolders;
  /** This instance's id (registered in the instance registry before the first claim). */
  readonly instanceId: string;
  /** Clock, ms since epoch (liveness of the other instances' leases). */
  readonly now: () => number;
  /**
   * A claim here took an agent connection or a serial from a session of another instance: that
   * instance may be told now (it notices at its next reconcile anyway). Never throws.
   */
  readonly onTakenOver?: (taken: HolderSession) => void;
}

/** What one {@link ClusterPresence.reconcile} changed. */
export interface ReconcileReport {
  /** Sessions closed because another session of their agent holds its connection now. */
  readonly closed: readonly string[];
  /** Serials no longer routed here (taken over elsewhere), by session. */
  readonly dropped: ReadonlyMap<string, readonly string[]>;
  /** Sessions whose leftover rows were deleted. */
  readonly released: readonly string[];
}

/** WebSocket close code of a session replaced by a newer connection of its agent. */
export const REPLACED_CLOSE_CODE = 4000;

/** Presence of one instance over the rows shared by the cluster. */
export class ClusterPresence<H extends ClusterHolder> implements HubPresence<H> {
  readonly #o: ClusterPresenceOptions;
  readonly #log: Logger;
  readonly #local: LocalPresence<H>;
  /** Sessions connected here (current or not yet detached), by session id. */
  readonly #sessions = new Map<string, H>();
  /** Sessions whose first shared claim committed (their rows must exist until released). */
  readonly #claimed = new Set<string>();
  /** Claims in flight, by session id (a reconcile leaves those sessions alone). */
  readonly #inFlight = new Map<string, number>();
  /** Sessions that started a claim since the running reconcile began (kept only while one runs). */
  readonly #touched = new Set<string>();
  /** Reconciles run one at a time (each judges by its own snapshot). */
  readonly #reconciles = new SerialQueue();
  /** A reconcile queued behind the running one (later calls join it). */
  #waiting: Promise<ReconcileReport> | undefined;
  #reconciling = false;
  readonly #pending = new Set<Promise<void>>();
  #lost = false;

  constructor(options: ClusterPresenceOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#local = new LocalPresence<H>({
      store: options.store,
      logger: options.logger,
      maxTerminalsPerAgent: options.maxTerminalsPerAgent,
      isAgentLiveElsewhere: (agentId) => options.holders.isConnectedElsewhere(agentId, options.instanceId, options.now()),
    });
  }

  /** This instance's id. */
  get instanceId(): string {
    return this.#o.instanceId;
  }

  /** True once the instance lost its registration ({@link markLost}): it claims nothing any more. */
  get lost(): boolean {
    return this.#lost;
  }

  sessionOf(agentId: string): H | undefined {
    return this.#local.sessionOf(agentId);
  }

  connect(holder: H): void {
    this.#sessions.set(holder.sessionId, holder);
    this.#local.connect(holder);
  }

  routeOf(serialNumber: string): H | undefined {
    return this.#local.routeOf(serialNumber);
  }

  holders(): H[] {
    return this.#local.holders();
  }

  onlineSerials(): ReadonlySet<string> {
    return this.#local.onlineSerials();
  }

  get sessionCount(): number {
    return this.#local.sessionCount;
  }

  ownedRoute(serialNumber: string): Promise<H | undefined> {
    return this.#local.ownedRoute(serialNumber);
  }

  /**
   * @inheritdoc
   * Online here, or held by a session on a live instance whose agent owns the serial in the store.
   */
  async locate(serialNumber: string): Promise<TerminalLookup> {
    // Not routed here: the shared rows are read alongside the local lookup (one round trip, not two).
    const sharedRead = this.#local.routeOf(serialNumber) === undefined ? this.#o.holders.locate(serialNumber, this.#o.now()) : undefined;
    // A failed local read must not leave the shared read's rejection unhandled.
    const here = await this.#local.locate(serialNumber).catch((err: unknown) => {
      sharedRead?.catch(() => undefined);
      throw err;
    });
    if (here.status !== 'offline') {
      sharedRead?.catch(() => undefined);
      return here;
    }
    const shared = await (sharedRead ?? this.#o.holders.locate(serialNumber, this.#o.now()));
    // This instance's own rows are not trusted over its routes (a closed session's rows may linger).
    if (shared && shared.instanceId !== this.#o.instanceId && shared.agentId === here.agentId) {
      return { status: 'online', agentId: here.agentId };
    }
    return here;
  }

  /**
   * @inheritdoc
   * Local admission, then the shared rows (see the module doc). A holder superseded by a newer
   * connection of its agent holds nothing and is closed. After {@link markLost} every serial is
   * refused `WS_SERIAL_CLAIMED`.
   * @throws CodedError `STORE_FAILED` (the holder then holds nothing here; its agent announces again).
   */
  async claim(holder: H, terminals: readonly AnnouncedTerminal[], now: number): Promise<PresenceClaim> {
    if (this.#lost) return this.#refuseAll(holder, terminals);
    if (this.#reconciling) this.#touched.add(holder.sessionId);
    this.#inFlight.set(holder.sessionId, (this.#inFlight.get(holder.sessionId) ?? 0) + 1);
    try {
      const local = await this.#local.claim(holder, terminals, now);
      if (this.#local.sessionOf(holder.agentId) !== holder) return local;
      const me = { agentId: holder.agentId, sessionId: holder.sessionId, instanceId: this.#o.instanceId };
      let shared;
      try {
        shared = await this.#o.holders.claim(me, local.held, now, async (serial) => (await this.#o.store.findTerminal(serial))?.agentId);
      } catch (err) {
        this.#local.drop(holder, holder.serials);
        throw err;
      }
      this.#settleTakenOver(holder, shared.takenOver);
      if (shared.superseded) {
        this.#supersede(holder, 'replaced by a newer connection of the agent');
        return { held: [], added: [], refused: [] };
      }
      this.#claimed.add(holder.sessionId);
      const refusedHere = new Set(shared.refused);
      this.#local.drop(holder, shared.refused);
      const position = new Map<string, number>();
      terminals.forEach((t, i) => {
        if (!position.has(t.serialNumber)) position.set(t.serialNumber, i);
      });
      const refused: RefusedSerial[] = [
        ...local.refused,
        ...shared.refused.map((serialNumber) => ({ serialNumber, code: 'WS_SERIAL_CLAIMED' as const, message: ERROR_CODES.WS_SERIAL_CLAIMED.message })),
      ].sort((a, b) => (position.get(a.serialNumber) ?? 0) - (position.get(b.serialNumber) ?? 0));
      if (shared.refused.length > 0) {
        this.#log.info({ agentId: holder.agentId, refused: shared.refused }, 'terminal serials held by another agent on another instance; refused');
      }
      // Closed while the transaction ran: what it wrote goes again.
      if (!holder.isOpen || this.#local.sessionOf(holder.agentId) !== holder) this.#release(holder.sessionId);
      return {
        held: local.held.filter((s) => !refusedHere.has(s)),
        added: local.added.filter((s) => !refusedHere.has(s)),
        refused,
      };
    } finally {
      const left = (this.#inFlight.get(holder.sessionId) ?? 1) - 1;
      if (left === 0) this.#inFlight.delete(holder.sessionId);
      else this.#inFlight.set(holder.sessionId, left);
    }
  }

  /** @inheritdoc */
  async release(holder: H): Promise<void> {
    this.#local.detach(holder);
    this.#forget(holder.sessionId);
    await this.#o.holders.release(holder.sessionId);
  }

  /**
   * @inheritdoc
   * Its shared rows are deleted in the background (see {@link settled}).
   */
  detach(holder: H): boolean {
    const wasCurrent = this.#local.detach(holder);
    if (this.#sessions.get(holder.sessionId) === holder) {
      this.#forget(holder.sessionId);
      this.#release(holder.sessionId);
    }
    return wasCurrent;
  }

  /** Resolves when the background deletes started so far are over (never rejects). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }

  /**
   * Compares what the shared rows say this instance holds with its sessions, and acts on the
   * difference (see the module doc). Sessions with a claim in flight meanwhile are left to the next
   * reconcile. Called at every heartbeat, and whenever another instance says it took something over;
   * calls run one after the other, and a call while one is already waiting joins that one.
   * @throws CodedError `STORE_FAILED` (nothing changed).
   */
  reconcile(): Promise<ReconcileReport> {
    if (this.#waiting) return this.#waiting;
    let started = false;
    let queued: Promise<ReconcileReport> | undefined = undefined;
    queued = this.#reconciles.run(async () => {
      started = true;
      if (this.#waiting === queued) this.#waiting = undefined;
      this.#reconciling = true;
      try {
        return await this.#reconcile();
      } finally {
        this.#reconciling = false;
        this.#touched.clear();
      }
    });
    if (!started) this.#waiting = queued;
    return queued;
  }

  async #reconcile(): Promise<ReconcileReport> {
    const closed: string[] = [];
    const dropped = new Map<string, string[]>();
    const released: string[] = [];
    if (this.#lost) return { closed, dropped, released };
    // Only sessions whose rows were committed before the read below can be judged by it.
    const judged = [...this.#sessions.values()].filter((h) => this.#claimed.has(h.sessionId));
    this.#touched.clear();
    const { sessions: rows } = await this.#o.holders.heldBy(this.#o.instanceId);
    for (const holder of judged) {
      if (this.#touched.has(holder.sessionId) || this.#inFlight.has(holder.sessionId)) continue;
      if (this.#sessions.get(holder.sessionId) !== holder) continue;
      const serials = rows.get(holder.sessionId);
      if (serials === undefined) {
        this.#supersede(holder, 'replaced by a newer connection of the agent');
        closed.push(holder.sessionId);
        continue;
      }
      const lost = holder.serials.filter((s) => !serials.includes(s) && this.#local.routeOf(s) === holder);
      if (lost.length > 0) {
        this.#local.drop(holder, lost);
        dropped.set(holder.sessionId, lost);
        this.#log.warn({ agentId: holder.agentId, agentSessionId: holder.sessionId, serials: lost }, 'terminals taken over on another instance; no longer routed here');
      }
    }
    for (const sessionId of rows.keys()) {
      if (this.#sessions.has(sessionId) || this.#inFlight.has(sessionId)) continue;
      await this.#o.holders.release(sessionId);
      released.push(sessionId);
    }
    return { closed, dropped, released };
  }

  /**
   * The instance lost its registration (its heartbeat failed for good): every session here is
   * closed (its agent reconnects to another instance) and claims hold nothing from now on.
   */
  markLost(): void {
    if (this.#lost) return;
    this.#lost = true;
    this.closeAll('server instance lost its cluster registration');
  }

  /**
   * Closes every session here (1012, service restart: the agents reconnect, to another instance
   * if this one is unhealthy), e.g. when the lease ran out while the database was unreachable.
   * Claims of later connections are served as usual.
   */
  closeAll(reason: string): void {
    for (const holder of this.#sessions.values()) {
      this.#local.drop(holder, holder.serials);
      holder.close(1012, reason);
    }
  }

  #refuseAll(holder: H, terminals: readonly AnnouncedTerminal[]): PresenceClaim {
    this.#local.drop(holder, holder.serials);
    const seen = new Set<string>();
    const refused: RefusedSerial[] = [];
    for (const { serialNumber } of terminals) {
      if (seen.has(serialNumber)) continue;
      seen.add(serialNumber);
      refused.push({ serialNumber, code: 'WS_SERIAL_CLAIMED', message: 'this server instance lost its cluster registration; connect to another instance' });
    }
    return { held: [], added: [], refused };
  }

  /** What a claim took from other sessions: tell their instance, or settle it here. */
  #settleTakenOver(claimer: H, taken: readonly HolderSession[]): void {
    for (const t of taken) {
      if (t.sessionId === claimer.sessionId) continue;
      if (t.instanceId !== this.#o.instanceId) {
        this.#log.info({ agentId: t.agentId, agentSessionId: t.sessionId, instanceId: t.instanceId }, 'took over presence from a session of another instance');
        try {
          this.#o.onTakenOver?.(t);
        } catch (err) {
          this.#log.warn({ err }, 'onTakenOver failed');
        }
        continue;
      }
      // A session here: an older connection of the same agent is closed; another agent's session
      // only lost the serials (the local claim routed them to the claimer already).
      const old = this.#sessions.get(t.sessionId);
      if (old && old !== claimer && old.agentId === claimer.agentId && old.isOpen) {
        this.#supersede(old, 'replaced by a newer connection of the agent');
      }
    }
  }

  /** Stops routing to `holder` and closes it; the hub's close handler detaches it. */
  #supersede(holder: H, reason: string): void {
    this.#local.drop(holder, holder.serials);
    this.#log.info({ agentId: holder.agentId, agentSessionId: holder.sessionId }, `agent session closed: ${reason}`);
    holder.close(REPLACED_CLOSE_CODE, reason);
  }

  #forget(sessionId: string): void {
    this.#sessions.delete(sessionId);
    this.#claimed.delete(sessionId);
  }

  /** Deletes the rows of a session in the background (a failure is repaired by the next reconcile). */
  #release(sessionId: string): void {
    const p = this.#o.holders
      .release(sessionId)
      .catch((err: unknown) => this.#log.warn({ err, agentSessionId: sessionId }, 'presence rows of a closed session not deleted; the next reconcile retries'))
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }
}
