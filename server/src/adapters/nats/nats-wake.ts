/**
 * Cross-instance wake-ups of command delivery over the NATS bus (./nats-bus.ts).
 *
 * The use cases wake the in-process signal (hub/wake-signal.ts) after committing command rows;
 * only the instance holding a terminal's agent socket can deliver them. The bridge listens to the
 * local signal and publishes the serials on `<prefix>.wake`; what other instances publish there
 * is passed to the local signal, not published again (and this instance's own messages are not
 * heard back: the bus drops them by instance id). Every instance's delivery then looks at the
 * serials it holds and ignores the others.
 *
 * A hint only: a lost wake-up (NATS down, a message dropped) delays the command to the holder's
 * next delivery tick, which re-reads every deliverable row of the sessions it holds
 * (hub/command-delivery.ts, every `POSBRIDGE_DISPATCH_RESEND_MS`), never loses it.
 *
 * The bridge depends on the signal's shape only ({@link WakeSource}), not on the hub.
 *
 * @see docs/adr/0003-change-feed-and-wake-ups-over-nats.md
 */
import { z } from 'zod';
import { SerialNumberSchema } from '@posbridge/protocol/ws';
import type { NatsBus } from './nats-bus.ts';

/** Most serials in one message; a longer wake-up is sent in several. */
export const MAX_WAKE_SERIALS = 64;

/** A message on `<prefix>.wake`. */
const WakeMessageSchema = z.strictObject({ serials: z.array(SerialNumberSchema).min(1).max(MAX_WAKE_SERIALS) });

/** The in-process wake-up signal, as the bridge uses it (hub/wake-signal.ts `WakeSignal`). */
export interface WakeSource {
  wake(serialNumbers: readonly string[]): void;
  subscribe(listener: (serialNumbers: readonly string[]) => void): () => void;
}

/** Joins one instance's wake-up signal to every other instance's, over the bus. */
export class NatsWakeBridge {
  readonly #bus: NatsBus;
  readonly #unsubscribeLocal: () => void;
  readonly #unsubscribeBus: () => void;
  /** True while a wake-up heard on the bus is passed to the local signal (not to be published back). */
  #relaying = false;

  constructor(bus: NatsBus, wakes: WakeSource) {
    this.#bus = bus;
    this.#unsubscribeLocal = wakes.subscribe((serials) => {
      if (!this.#relaying) this.#publish(serials);
    });
    this.#unsubscribeBus = bus.subscribe('wake', WakeMessageSchema, ({ serials }) => {
      this.#relaying = true;
      try {
        wakes.wake(serials);
      } finally {
        this.#relaying = false;
      }
    });
  }

  /** Detaches from the signal and the bus (the bus itself is closed by its owner). */
  close(): void {
    this.#unsubscribeLocal();
    this.#unsubscribeBus();
  }

  #publish(serials: readonly string[]): void {
    // Serials come from the store (validated when announced); anything else is not sent.
    const valid = [...new Set(serials)].filter((s) => SerialNumberSchema.safeParse(s).success);
    for (let i = 0; i < valid.length; i += MAX_WAKE_SERIALS) {
      this.#bus.publish('wake', { serials: valid.slice(i, i + MAX_WAKE_SERIALS) });
    }
  }
}
