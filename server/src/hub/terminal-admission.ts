/**
 * Which serials of an `agent.hello` the hub routes to the announcing agent, and which it refuses.
 * A serial belongs to the merchant and store of the agent that registered it first; only an
 * administrator (`posbridge-server terminal move`) or a confirmed move inside the store changes
 * that. The rules, in order, for each distinct announced serial:
 *
 * 1. not matching {@link TERMINAL_SERIAL_PATTERN}, or starting with `VT-` (reserved for the
 *    merchants' virtual terminals of Test Suite mode, docs/homologation.md: a real agent must never
 *    receive or answer their rows) → `WS_SERIAL_INVALID` (not stored);
 * 2. beyond `maxTerminalsPerAgent` accepted serials → `WS_TERMINAL_LIMIT` (not stored); serials
 *    the agent owns already are counted first, so a newly announced one never pushes them out;
 * 3. never registered → registered to this agent (audit event `registered`), accepted;
 * 4. owned by this agent → accepted;
 * 5. owned by an agent of another merchant or store → `WS_SERIAL_FOREIGN`, warn log naming both;
 * 6. owned by another agent of the same store whose session is open → `WS_SERIAL_CLAIMED`;
 * 7. … whose session is gone, and the serial was read from the device (`serialSource: device`) →
 *    moved to this agent (audit event `moved`, actor `hub`), accepted;
 * 8. otherwise → `WS_SERIAL_UNCONFIRMED`.
 *
 * Refused serials are never written to the store and nothing is routed to the agent for them.
 *
 * @see docs/protocol/ws.md "Terminal ownership"
 */
import type { Logger } from 'pino';
import { ERROR_CODES, type ErrorCode } from '@posbridge/protocol/errors';
import { TERMINAL_SERIAL_PATTERN, type AnnouncedTerminal } from '@posbridge/protocol/ws';
import type { RefusedSerial } from '../ports/presence.ts';
import type { PaymentStore } from '../ports/index.ts';
import { VIRTUAL_SERIAL_PREFIX } from '../testsuite/virtual-terminal.ts';

/** Default of {@link TerminalAdmissionOptions.maxTerminalsPerAgent}. */
export const DEFAULT_MAX_TERMINALS_PER_AGENT = 16;

export type { RefusedSerial };

/** Outcome of {@link TerminalAdmission.admit}. */
export interface Admission {
  /** Serials now owned by the agent, in announcement order. */
  readonly accepted: string[];
  readonly refused: RefusedSerial[];
}

/** Options of {@link TerminalAdmission}. */
export interface TerminalAdmissionOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** Most serials one agent may have accepted in one announcement. */
  readonly maxTerminalsPerAgent: number;
  /** True while `agentId` has an open session (on this hub, or on another instance of a cluster). */
  readonly isAgentLive: (agentId: string) => boolean | Promise<boolean>;
}

/** Applies the ownership rules above; stateless apart from the store. */
export class TerminalAdmission {
  readonly #o: TerminalAdmissionOptions;
  readonly #log: Logger;

  constructor(options: TerminalAdmissionOptions) {
    this.#o = options;
    this.#log = options.logger;
  }

  /**
   * Decides every serial of one announcement by `agentId` at `now` (ms since epoch).
   * @throws CodedError `STORE_FAILED`.
   */
  async admit(agentId: string, terminals: readonly AnnouncedTerminal[], now: number): Promise<Admission> {
    const accepted: string[] = [];
    const refused: RefusedSerial[] = [];
    const refuse = (serialNumber: string, code: ErrorCode, message: string = ERROR_CODES[code].message) =>
      refused.push({ serialNumber, code, message });
    const mine = await this.#o.store.agentOwner(agentId);
    // Serials the agent owns already are decided first: a new terminal never pushes one out of
    // the limit (its payments' reports would be refused, its aborts never delivered).
    const ownedAlready = new Set<string>();
    for (const { serialNumber } of terminals) {
      if (ownedAlready.has(serialNumber) || !TERMINAL_SERIAL_PATTERN.test(serialNumber)) continue;
      if ((await this.#o.store.findTerminal(serialNumber))?.agentId === agentId) ownedAlready.add(serialNumber);
    }
    const ordered = [
      ...terminals.filter((x) => ownedAlready.has(x.serialNumber)),
      ...terminals.filter((x) => !ownedAlready.has(x.serialNumber)),
    ];
    for (const terminal of ordered) {
      const { serialNumber } = terminal;
      if (accepted.includes(serialNumber) || refused.some((r) => r.serialNumber === serialNumber)) continue;
      if (!TERMINAL_SERIAL_PATTERN.test(serialNumber)) {
        refuse(serialNumber, 'WS_SERIAL_INVALID', `serial number must match ${TERMINAL_SERIAL_PATTERN.source}`);
        continue;
      }
      if (serialNumber.toUpperCase().startsWith(VIRTUAL_SERIAL_PREFIX)) {
        refuse(serialNumber, 'WS_SERIAL_INVALID', `serial numbers starting with ${VIRTUAL_SERIAL_PREFIX} are reserved for virtual terminals`);
        continue;
      }
      if (accepted.length >= this.#o.maxTerminalsPerAgent) {
        refuse(serialNumber, 'WS_TERMINAL_LIMIT', `at most ${this.#o.maxTerminalsPerAgent} terminals per agent`);
        continue;
      }
      if (!mine) {
        refuse(serialNumber, 'WS_SERIAL_FOREIGN', 'the agent belongs to no known store');
        continue;
      }
      const { terminal: owner, created } = await this.#o.store.registerTerminal({ serialNumber, agentId, lastSeenAt: now });
      if (owner.agentId === agentId) {
        if (created) {
          this.#log.info({ serialNumber, agentId, merchantId: mine.merchantId, storeId: mine.storeId }, 'terminal registered');
        } else {
          await this.#o.store.touchTerminal(serialNumber, agentId, now);
        }
        accepted.push(serialNumber);
        continue;
      }
      const theirs = await this.#o.store.agentOwner(owner.agentId);
      const parties = {
        serialNumber,
        agentId,
        merchantId: mine.merchantId,
        storeId: mine.storeId,
        ownerAgentId: owner.agentId,
        ownerMerchantId: theirs?.merchantId ?? null,
        ownerStoreId: theirs?.storeId ?? null,
      };
      if (!theirs || theirs.merchantId !== mine.merchantId || theirs.storeId !== mine.storeId) {
        this.#log.warn(
          parties,
          theirs?.merchantId === mine.merchantId
            ? 'terminal of another store announced; refused'
            : 'terminal of another merchant announced; refused',
        );
        refuse(serialNumber, 'WS_SERIAL_FOREIGN');
        continue;
      }
      if (await this.#o.isAgentLive(owner.agentId)) {
        refuse(serialNumber, 'WS_SERIAL_CLAIMED');
        continue;
      }
      if (terminal.serialSource !== 'device') {
        this.#log.warn(parties, 'terminal of another agent of the store announced without a device-read serial; refused');
        refuse(serialNumber, 'WS_SERIAL_UNCONFIRMED');
        continue;
      }
      const moved = await this.#o.store.moveTerminal({
        serialNumber,
        fromAgentId: owner.agentId,
        toAgentId: agentId,
        actor: 'hub',
        reason: 'serial read from the device by an agent of the same store; the previous agent was offline',
        at: now,
      });
      if (!moved) {
        refuse(serialNumber, 'WS_SERIAL_CLAIMED', 'the terminal changed owner meanwhile; announce it again');
        continue;
      }
      await this.#o.store.touchTerminal(serialNumber, agentId, now);
      this.#log.warn(parties, 'terminal moved to another agent of its store (serial confirmed by the device)');
      accepted.push(serialNumber);
    }
    const position = new Map<string, number>();
    terminals.forEach((x, i) => {
      if (!position.has(x.serialNumber)) position.set(x.serialNumber, i);
    });
    const inAnnouncementOrder = (a: string, b: string) => (position.get(a) ?? 0) - (position.get(b) ?? 0);
    accepted.sort(inAnnouncementOrder);
    refused.sort((a, b) => inAnnouncementOrder(a.serialNumber, b.serialNumber));
    return { accepted, refused };
  }
}
