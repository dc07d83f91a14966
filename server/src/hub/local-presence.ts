/**
 * {@link Presence} of one server instance: the agent sessions this hub holds and the serials
 * routed to each. This is the only in-memory state of delivery, and it says only "which
 * sessions do I hold"; what is owed to them is read from the agent-command rows
 * (./command-delivery.ts).
 *
 * Routing: serial → the session of the agent that owns it (admitted by ./terminal-admission.ts).
 * The same agent connecting again replaces its old session (the hub closes the old one); a
 * repeated announcement on a session announces the set again.
 *
 * @see docs/protocol/ws.md "Terminal ownership"
 */
import type { Logger } from 'pino';
import type { AnnouncedTerminal } from '@posbridge/protocol/ws';
import type { Presence, PresenceClaim, PresenceHolder, TerminalLookup } from '../ports/presence.ts';
import type { PaymentStore } from '../ports/index.ts';
import { TerminalAdmission } from './terminal-admission.ts';

/** A holder this instance can deliver to. */
export interface LocalHolder extends PresenceHolder {
  /** True while its socket is open. */
  readonly isOpen: boolean;
  /** Serials routed to it (kept by the presence). */
  serials: readonly string[];
}

/** Options of {@link LocalPresence}. */
export interface LocalPresenceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Most serials one agent may have accepted in one announcement. */
  readonly maxTerminalsPerAgent: number;
  /**
   * True when `agentId` is connected to another server instance (a cluster: ./cluster-presence.ts);
   * asked by the admission only for an agent not connected here. @default never
   */
  readonly isAgentLiveElsewhere?: (agentId: string) => Promise<boolean>;
}

/**
 * What the hub needs of the presence of its instance: the {@link Presence} port plus the
 * in-memory routing of the sessions it holds. {@link LocalPresence} (one instance) and
 * ClusterPresence (./cluster-presence.ts, several instances sharing PostgreSQL) implement it.
 */
export interface HubPresence<H extends LocalHolder> extends Presence {
  /** The current session of `agentId`, if connected here. */
  sessionOf(agentId: string): H | undefined;
  /** Makes `holder` its agent's current session (before its first claim). */
  connect(holder: H): void;
  /** The session `serialNumber` is routed to here, if any (open or not). */
  routeOf(serialNumber: string): H | undefined;
  /** The open sessions holding at least one serial. */
  holders(): H[];
  /** Serials whose session here is open right now. */
  onlineSerials(): ReadonlySet<string>;
  /** Number of agents connected here. */
  readonly sessionCount: number;
  /** The open session routed here for `serialNumber`, if its agent still owns the serial in the store. */
  ownedRoute(serialNumber: string): Promise<H | undefined>;
  claim(holder: H, terminals: readonly AnnouncedTerminal[], now: number): Promise<PresenceClaim>;
  release(holder: H): Promise<void>;
  /**
   * Removes a session's routes (the rows keep what is owed for the next connect).
   * @returns true when it was its agent's current session.
   */
  detach(holder: H): boolean;
}

/** In-memory presence over the sessions of one hub. */
export class LocalPresence<H extends LocalHolder> implements HubPresence<H> {
  readonly #store: PaymentStore;
  readonly #routes = new Map<string, H>();
  /** The current session of each connected agent. */
  readonly #current = new Map<string, H>();
  readonly #admission: TerminalAdmission;

  constructor(options: LocalPresenceOptions) {
    this.#store = options.store;
    const elsewhere = options.isAgentLiveElsewhere;
    this.#admission = new TerminalAdmission({
      store: options.store,
      logger: options.logger,
      maxTerminalsPerAgent: options.maxTerminalsPerAgent,
      isAgentLive: (agentId) => this.#current.get(agentId)?.isOpen === true || (elsewhere?.(agentId) ?? false),
    });
  }

  /** The current session of `agentId`, if connected here. */
  sessionOf(agentId: string): H | undefined {
    return this.#current.get(agentId);
  }

  /** Makes `holder` its agent's current session (before its first claim). */
  connect(holder: H): void {
    this.#current.set(holder.agentId, holder);
  }

  /** The session `serialNumber` is routed to here, if any (open or not). */
  routeOf(serialNumber: string): H | undefined {
    return this.#routes.get(serialNumber);
  }

  /** The open sessions holding at least one serial. */
  holders(): H[] {
    return [...new Set(this.#routes.values())].filter((h) => h.isOpen);
  }

  /** Serials whose session is open right now. */
  onlineSerials(): ReadonlySet<string> {
    const online = new Set<string>();
    for (const [serial, holder] of this.#routes) if (holder.isOpen) online.add(serial);
    return online;
  }

  /** Number of connected agents. */
  get sessionCount(): number {
    return this.#current.size;
  }

  /**
   * The open session routed for `serialNumber`, if its agent still owns the serial in the store
   * (an administrator may have moved it since that agent announced it).
   */
  async ownedRoute(serialNumber: string): Promise<H | undefined> {
    const holder = this.#routes.get(serialNumber);
    if (!holder?.isOpen) return undefined;
    const owner = await this.#store.findTerminal(serialNumber);
    return owner?.agentId === holder.agentId ? holder : undefined;
  }

  /** @inheritdoc */
  async locate(serialNumber: string): Promise<TerminalLookup> {
    const holder = await this.ownedRoute(serialNumber);
    if (holder) return { status: 'online', agentId: holder.agentId };
    const known = await this.#store.findTerminal(serialNumber);
    return known ? { status: 'offline', agentId: known.agentId } : { status: 'unknown' };
  }

  /**
   * @inheritdoc
   * A holder that is not (or no longer) its agent's current session ({@link connect}) holds
   * nothing: the claim routes and admits nothing.
   */
  async claim(holder: H, terminals: readonly AnnouncedTerminal[], now: number): Promise<PresenceClaim> {
    // A session its agent replaced (a frame it had queued is handled while it closes) takes
    // nothing: routing to it would take the serials from the new session, and its close would
    // then drop them. Checked again after the admission, which may be overtaken by the replace.
    if (this.#current.get(holder.agentId) !== holder) return { held: [], added: [], refused: [] };
    const { accepted: held, refused } = await this.#admission.admit(holder.agentId, terminals, now);
    if (this.#current.get(holder.agentId) !== holder) return { held: [], added: [], refused: [] };
    // Serials routed here before and not announced (or not owned) any more stop being routed here.
    for (const serial of holder.serials) {
      if (!held.includes(serial) && this.#routes.get(serial) === holder) this.#routes.delete(serial);
    }
    const added = held.filter((serial) => this.#routes.get(serial) !== holder);
    for (const serial of held) this.#routes.set(serial, holder);
    holder.serials = held;
    return { held, added, refused };
  }

  /** @inheritdoc */
  release(holder: H): Promise<void> {
    this.detach(holder);
    return Promise.resolve();
  }

  /**
   * Stops routing `serialNumbers` to `holder` (another instance took them over, or a claim was
   * refused there); they leave `holder.serials`. It stays its agent's current session.
   */
  drop(holder: H, serialNumbers: readonly string[]): void {
    if (serialNumbers.length === 0) return;
    for (const serial of serialNumbers) {
      if (this.#routes.get(serial) === holder) this.#routes.delete(serial);
    }
    holder.serials = holder.serials.filter((serial) => !serialNumbers.includes(serial));
  }

  /**
   * Removes a session's routes (the rows keep what is owed for the next connect).
   * @returns true when it was its agent's current session.
   */
  detach(holder: H): boolean {
    for (const serial of holder.serials) {
      if (this.#routes.get(serial) === holder) this.#routes.delete(serial);
    }
    const wasCurrent = this.#current.get(holder.agentId) === holder;
    if (wasCurrent) this.#current.delete(holder.agentId);
    return wasCurrent;
  }
}
