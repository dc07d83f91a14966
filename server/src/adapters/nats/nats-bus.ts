/**
 * The bus between server instances: one NATS connection per instance (`POSBRIDGE_NATS_URL`),
 * used for hints only — the change feed (./nats-change-feed.ts) and the wake-ups of command
 * delivery (./nats-wake.ts). Correctness never depends on it (docs/architecture.md "Effects are
 * rows"; docs/adr/0003-change-feed-and-wake-ups-over-nats.md): a message lost while NATS is down
 * costs a waiter its time-out and a command the delivery sweep, never an outcome. So the bus:
 *
 * - never throws into its callers and never blocks them: {@link NatsBus.start} connects in the
 *   background, {@link NatsBus.publish} is fire-and-forget and drops (debug log) while down
 *   instead of buffering;
 * - reconnects forever: the client's own reconnect loop (`maxReconnectAttempts: -1`, delays from
 *   a jittered exponential backoff), and when the connection is closed for good (a refused first
 *   connection, or the client giving up after authentication errors) a fresh connection after a
 *   backoff delay;
 * - has two states, `up` and `down` ({@link NatsBus.state}, for `/readyz`), and logs each change
 *   once: `NATS bus down` at warn, `NATS bus up` at info;
 * - bounds what comes in: a message larger than `maxMessageBytes`, not JSON, not of the
 *   subscription's zod schema, or not in the envelope `{ from, data }` is ignored (a warn at most
 *   every `warnEveryMs`, counting what was dropped since); its own messages (`from` = this
 *   instance) are ignored too, besides `noEcho`.
 *
 * Subjects are `<subjectPrefix>.<name>` (`POSBRIDGE_NATS_SUBJECT_PREFIX`), so two clusters can
 * share one NATS server.
 *
 * @see https://docs.nats.io/using-nats/developer/connecting/reconnect
 * @see node_modules/@nats-io/nats-core/README.md ("Lifecycle and Informational Events", "Draining")
 */
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { backoff, type Backoff } from '@posbridge/kit/backoff';
import { parseNatsUrl, type NatsServers } from './nats-url.ts';

/** Options of {@link NatsBus}. */
export interface NatsBusOptions {
  /** `POSBRIDGE_NATS_URL` as configured (./nats-url.ts); credentials are never logged. */
  readonly url: string;
  /** First token(s) of every subject (`POSBRIDGE_NATS_SUBJECT_PREFIX`), e.g. `posbridge`. */
  readonly subjectPrefix: string;
  /** This instance's id: the `from` of what it publishes, and its NATS client name. */
  readonly instanceId: string;
  readonly logger: Logger;
  /** Clock, ms since epoch (rate limit of the malformed-message warning). @default Date.now */
  readonly now?: () => number;
  /** Largest message accepted or published, bytes. @default 65536 */
  readonly maxMessageBytes?: number;
  /** Time-out of one connection attempt, ms. @default 5000 */
  readonly connectTimeoutMs?: number;
  /** First delay between connection attempts, ms (doubling, jittered down to half). @default 250 */
  readonly reconnectBaseMs?: number;
  /** Longest delay between connection attempts, ms. @default 10000 */
  readonly reconnectCapMs?: number;
  /** Client pings: a silent server is given up after two missed pings. @default 5000 */
  readonly pingIntervalMs?: number;
  /** Longest `close()` waits for the drain before closing hard, ms. @default 2000 */
  readonly closeTimeoutMs?: number;
  /** Least time between two warnings about ignored messages, ms. @default 10000 */
  readonly warnEveryMs?: number;
}

/** One subscription of a caller: kept across connections. */
interface BusSubscription {
  readonly name: string;
  readonly onMessage: (payload: Uint8Array) => void;
  live: Subscription | undefined;
}

/** The envelope of every bus message. */
interface Envelope {
  readonly from: string;
  readonly data: unknown;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** The NATS connection of one instance, with its subscriptions, reconnects and health. */
export class NatsBus {
  readonly #o: NatsBusOptions;
  readonly #servers: NatsServers;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #maxBytes: number;
  readonly #backoff: Backoff;
  readonly #subs = new Set<BusSubscription>();
  readonly #listeners = new Set<(state: 'up' | 'down') => void>();
  #state: 'up' | 'down' = 'down';
  #reported: 'up' | 'down' | undefined;
  #nc: NatsConnection | undefined;
  #loop: Promise<void> | undefined;
  #closing = false;
  #wakeSleep: (() => void) | undefined;
  #reconnectAttempt = 0;
  #ignored = 0;
  #lastWarnAt = -Infinity;

  /** @throws Error when `url` does not parse (../../config.ts validates it before the server is built). */
  constructor(options: NatsBusOptions) {
    const parsed = parseNatsUrl(options.url);
    if (!parsed.ok) throw new Error(`POSBRIDGE_NATS_URL is invalid: ${parsed.problems.join('; ')}`);
    this.#o = options;
    this.#servers = parsed.value;
    this.#log = options.logger.child({ component: 'bus' });
    this.#now = options.now ?? Date.now;
    this.#maxBytes = options.maxMessageBytes ?? 65_536;
    this.#backoff = backoff({ baseMs: options.reconnectBaseMs ?? 250, capMs: options.reconnectCapMs ?? 10_000, minFraction: 0.5 });
  }

  /**
   * `up` while connected to a NATS server, else `down` (also before the first connection). What
   * `/readyz` reports as the bus state; never throws or blocks.
   */
  state(): 'up' | 'down' {
    return this.#state;
  }

  /** Calls `listener` on every change of {@link state}. @returns its removal. */
  onStateChange(listener: (state: 'up' | 'down') => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The full subject of `name`: `<subjectPrefix>.<name>`. */
  subject(name: string): string {
    return `${this.#o.subjectPrefix}.${name}`;
  }

  /** Starts connecting in the background (returns at once; idempotent). */
  start(): void {
    if (this.#loop || this.#closing) return;
    this.#loop = this.#run().catch((err: unknown) => {
      // Not expected (every step handles its failures): the bus stays down, the server runs on.
      this.#setState('down', true, { err: summary(err) });
      this.#log.error({ err: summary(err) }, 'NATS bus stopped');
    });
  }

  /**
   * Publishes `data` (JSON-encoded in the envelope `{ from, data }`) on `<prefix>.<name>`.
   * Fire-and-forget: while the bus is down, or when the encoded message is larger than
   * `maxMessageBytes`, it is dropped with a log line, never queued. Never throws.
   */
  publish(name: string, data: unknown): void {
    const nc = this.#nc;
    if (this.#state !== 'up' || nc === undefined) {
      this.#log.debug({ subject: this.subject(name) }, 'bus message dropped: NATS is down');
      return;
    }
    try {
      const payload = encoder.encode(JSON.stringify({ from: this.#o.instanceId, data } satisfies Envelope));
      if (payload.byteLength > this.#maxBytes) {
        this.#log.warn({ subject: this.subject(name), bytes: payload.byteLength }, 'bus message not published: too large');
        return;
      }
      nc.publish(this.subject(name), payload);
    } catch (err) {
      this.#log.debug({ err, subject: this.subject(name) }, 'bus message dropped: publish failed');
    }
  }

  /**
   * Subscribes to `<prefix>.<name>` (now and after every reconnect) and calls `handler` with the
   * `data` of every message of another instance that `schema` accepts; anything else is ignored
   * (module header). A handler that throws is logged like an ignored message.
   * @returns the removal of the subscription.
   */
  subscribe<T>(name: string, schema: z.ZodType<T>, handler: (data: T, from: string) => void): () => void {
    const subject = this.subject(name);
    const sub: BusSubscription = {
      name,
      live: undefined,
      onMessage: (payload) => {
        const envelope = this.#open(payload);
        if (envelope === undefined) return this.#ignore(subject, 'not a bus envelope');
        if (envelope.from === this.#o.instanceId) return;
        const parsed = schema.safeParse(envelope.data);
        if (!parsed.success) return this.#ignore(subject, 'not of the subject schema');
        try {
          handler(parsed.data, envelope.from);
        } catch (err) {
          this.#ignore(subject, 'handler failed', err);
        }
      },
    };
    this.#subs.add(sub);
    if (this.#nc) this.#attach(this.#nc, sub);
    return () => {
      this.#subs.delete(sub);
      try {
        sub.live?.unsubscribe();
      } catch {
        // The connection is closed already: nothing to undo.
      }
      sub.live = undefined;
    };
  }

  /**
   * Resolves once the NATS server has processed what this bus sent so far (its subscriptions
   * included: a message published elsewhere after this resolves reaches them). Resolves at once
   * while down, and after `closeTimeoutMs` at the latest. Never rejects.
   */
  async flush(): Promise<void> {
    const nc = this.#nc;
    if (this.#state !== 'up' || nc === undefined) return;
    await succeedsWithin(nc.flush(), this.#o.closeTimeoutMs ?? 2000);
  }

  /**
   * Stops reconnecting and drains the connection (what was published is sent, what arrived is
   * handled), closing it hard after `closeTimeoutMs` or at once while down. Never rejects;
   * idempotent.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#wakeSleep?.();
    const bound = this.#o.closeTimeoutMs ?? 2000;
    const nc = this.#nc;
    if (nc && !nc.isClosed()) {
      // Draining needs the server: while down there is nothing to flush, so close at once.
      const drained = this.#state === 'up' && (await succeedsWithin(nc.drain(), bound));
      if (!drained) await succeedsWithin(nc.close(), bound);
    }
    if (this.#loop) await succeedsWithin(this.#loop, bound);
    this.#setState('down', false);
  }

  /** Connects, waits for the connection to close for good, connects again: until {@link close}. */
  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#closing) {
      let nc: NatsConnection;
      try {
        nc = await connect({
          servers: [...this.#servers.servers],
          ...(this.#servers.user !== undefined ? { user: this.#servers.user, pass: this.#servers.pass ?? '' } : {}),
          ...(this.#servers.token !== undefined ? { token: this.#servers.token } : {}),
          ...(this.#servers.tls ? { tls: {} } : {}),
          name: `posbridge-${this.#o.instanceId}`,
          noEcho: true,
          maxReconnectAttempts: -1,
          // Asked once per pass of the client's dial loop; reset by every reconnect.
          reconnectDelayHandler: () => this.#backoff.delayFor(this.#reconnectAttempt++),
          timeout: this.#o.connectTimeoutMs ?? 5000,
          pingInterval: this.#o.pingIntervalMs ?? 5000,
          maxPingOut: 2,
        });
      } catch (err) {
        this.#setState('down', true, { err: summary(err) });
        await this.#sleep(this.#backoff.delayFor(attempt++));
        continue;
      }
      if (this.#closing) {
        await nc.close().catch(() => undefined);
        return;
      }
      attempt = 0;
      this.#reconnectAttempt = 0;
      this.#nc = nc;
      void this.#watch(nc);
      for (const sub of this.#subs) this.#attach(nc, sub);
      this.#setState('up', true, { server: nc.getServer() });
      const closed = await nc.closed();
      this.#nc = undefined;
      for (const sub of this.#subs) sub.live = undefined;
      if (this.#closing) return;
      this.#setState('down', true, closed ? { err: summary(closed) } : {});
      await this.#sleep(this.#backoff.delayFor(attempt++));
    }
  }

  /** Follows the connection's status events until it closes. */
  async #watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        switch (s.type) {
          case 'disconnect':
            this.#setState('down', true, { server: s.server });
            break;
          case 'reconnect':
            this.#reconnectAttempt = 0;
            this.#setState('up', true, { server: s.server });
            break;
          case 'ldm':
            this.#log.info({ server: s.server }, 'NATS server entering lame duck mode; reconnecting elsewhere');
            break;
          case 'error':
            this.#log.warn({ err: summary(s.error) }, 'NATS error');
            break;
          case 'slowConsumer':
            this.#ignore(s.sub.getSubject(), 'slow consumer: the client dropped messages');
            break;
          default:
            this.#log.trace({ status: s.type }, 'NATS status');
        }
      }
    } catch (err) {
      this.#log.debug({ err: summary(err) }, 'NATS status stream ended');
    }
  }

  #attach(nc: NatsConnection, sub: BusSubscription): void {
    try {
      sub.live = nc.subscribe(this.subject(sub.name), {
        callback: (err, msg) => {
          if (err) {
            this.#log.warn({ err: summary(err), subject: this.subject(sub.name) }, 'NATS subscription error');
            return;
          }
          if (msg.data.byteLength > this.#maxBytes) return this.#ignore(msg.subject, 'too large');
          sub.onMessage(msg.data);
        },
      });
    } catch (err) {
      // Closing or closed: the next connection subscribes again.
      this.#log.debug({ err: summary(err), subject: this.subject(sub.name) }, 'NATS subscribe failed');
    }
  }

  /** The envelope of `payload`, or undefined when it is not UTF-8 JSON `{ from: string, data }`. */
  #open(payload: Uint8Array): Envelope | undefined {
    let json: unknown;
    try {
      json = JSON.parse(decoder.decode(payload));
    } catch {
      return undefined;
    }
    if (typeof json !== 'object' || json === null || !('from' in json) || !('data' in json)) return undefined;
    const from = (json as { from: unknown }).from;
    if (typeof from !== 'string' || from.length === 0 || from.length > 128) return undefined;
    return { from, data: (json as { data: unknown }).data };
  }

  /** Counts an ignored message; warns at most every `warnEveryMs`. */
  #ignore(subject: string, reason: string, err?: unknown): void {
    this.#ignored++;
    const now = this.#now();
    if (now - this.#lastWarnAt < (this.#o.warnEveryMs ?? 10_000)) return;
    this.#lastWarnAt = now;
    const ignored = this.#ignored;
    this.#ignored = 0;
    this.#log.warn({ subject, reason, ignored, ...(err === undefined ? {} : { err: summary(err) }) }, 'bus messages ignored');
  }

  #setState(next: 'up' | 'down', log: boolean, fields: Record<string, unknown> = {}): void {
    const changed = this.#state !== next;
    this.#state = next;
    if (log && this.#reported !== next) {
      this.#reported = next;
      if (next === 'up') this.#log.info({ servers: this.#servers.servers, ...fields }, 'NATS bus up');
      else this.#log.warn({ servers: this.#servers.servers, ...fields }, 'NATS bus down; cross-instance delivery falls back to the store sweeps');
    }
    if (!changed) return;
    for (const listener of this.#listeners) {
      try {
        listener(next);
      } catch {
        // A listener's failure is its own; the others still hear the change.
      }
    }
  }

  /** Waits `ms`, or less when {@link close} is called. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleep = done;
    });
  }
}

/** True when `promise` fulfils within `ms` (false when it rejects or takes longer). */
async function succeedsWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise.then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A loggable summary of a client error: its name, code and message (NATS errors carry no credentials). */
function summary(err: unknown): { name: string; message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(err) };
}
