/**
 * The server instances of a cluster: each instance registers itself with an id and a lease and
 * renews the lease by a heartbeat; an instance whose lease ran out is dead, and what it held
 * (agent connections, terminal serials: ./terminal-holders.ts) may be taken over by a live one.
 *
 * Leases compare the instances' own clocks (ms since epoch): keep them synchronised (NTP); a
 * skew shortens or lengthens every lease by the skew.
 *
 * @see docs/architecture.md, issue 12 item 2 ("Presence and delivery across instances")
 */

/** Informative fields of an instance (status pages, logs). */
export interface InstanceMeta {
  /** The server's version (package.json). */
  readonly version?: string;
  /** The instance's own base URL, when it knows it. */
  readonly url?: string;
}

/** One registered instance. */
export interface InstanceRecord {
  readonly instanceId: string;
  /** When its process started, ms since epoch. */
  readonly startedAt: number;
  /** Its last heartbeat, ms since epoch. */
  readonly heartbeatAt: number;
  /** It is live until then (exclusive), ms since epoch. */
  readonly leaseUntil: number;
  readonly version: string | null;
  readonly url: string | null;
}

/** What {@link InstanceRegistry.register} records. */
export interface InstanceRegistration {
  /** 1–128 characters of `[A-Za-z0-9._:-]`, unique per running process. */
  readonly instanceId: string;
  /** ms since epoch. */
  readonly startedAt: number;
  /** ms since epoch: the first heartbeat. */
  readonly now: number;
  /** The lease runs until `now + leaseMs`. */
  readonly leaseMs: number;
  readonly meta?: InstanceMeta;
}

/** Pattern of an instance id. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The registry of instances. One object per process; it remembers which registrations it made
 * itself. Every method may reject with `CodedError('STORE_FAILED')`.
 */
export interface InstanceRegistry {
  /**
   * Registers `instanceId` afresh (a restarted process with the same id replaces its old
   * registration, and with it everything the old one held).
   * @throws CodedError `CFG_INVALID` for an id not matching {@link INSTANCE_ID_PATTERN} or a lease ≤ 0.
   */
  register(registration: InstanceRegistration): Promise<void>;
  /**
   * Renews the lease of a registration this object made: live until `now + leaseMs`.
   * @returns false when that registration is gone (deregistered, or replaced by another
   *   registration of the same id): the instance must stop claiming.
   */
  heartbeat(instanceId: string, now: number, leaseMs: number): Promise<boolean>;
  /** Instances whose lease runs past `now`, oldest start first. */
  listLive(now: number): Promise<InstanceRecord[]>;
  /** Removes the registration and everything it held (graceful stop). Idempotent. */
  deregister(instanceId: string): Promise<void>;
}
