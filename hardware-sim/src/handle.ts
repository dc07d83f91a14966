/**
 * The handle of one running simulated terminal: what tests, the control interface
 * (./control.ts) and the interactive mode (./interactive.ts) read and do on it. Types only, so
 * those modules and `startSim` (./index.ts) share them without importing each other.
 * @see ../README.md
 */
import type { Duplex } from 'node:stream';
import type { CustomerAction } from './device-machine.ts';
import type { SimScenario, SimScenarioPatch } from './scenarios/scenario.ts';
import type { SalesSummary, SimDialect, TerminalSnapshot } from './sim-terminal.ts';
import type { FrameLogEntry } from './wire.ts';

/** What tests (and the control interface) can read and do on a running terminal. */
export interface SimTerminalControls {
  serialNumber: string;
  dialect: SimDialect;
  /** Sales that reached a final answer: for `rid`, or in total. */
  salesCount(rid?: string): number;
  /** Sales, charges (approved) and reversals per host reference: proves there was no double charge. */
  sales(): SalesSummary;
  /** Every frame received and sent (after `sinceSeq`), with fault notes. */
  frames(sinceSeq?: number): FrameLogEntry[];
  clearFrames(): void;
  /** The scenario in force. */
  scenario(): Readonly<SimScenario>;
  /** Changes the scenario (patch; `reset` starts from the defaults). @throws CodedError CFG_INVALID */
  setScenario(patch: SimScenarioPatch | unknown, reset?: boolean): Readonly<SimScenario>;
  /** Customer actions: present a card, enter the PIN, cancel. */
  customer(action: CustomerAction): void;
  /** Pulls the cable (for `forMs`, or until `replug`). */
  unplug(forMs?: number): void;
  replug(): void;
  /** Restarts the terminal (silent for the scenario's `rebootMs`). */
  reboot(): void;
  /** Screen, stage, cable state, last result. */
  snapshot(): TerminalSnapshot;
  /** Calls `listener` after every change; returns an unsubscriber. */
  onChange(listener: () => void): () => void;
}

/** A simulated terminal reached through a pseudo-terminal. */
export interface PtySimTerminalHandle extends SimTerminalControls {
  link: 'pty';
  /** The end the agent opens (a symlink to a /dev/pts device). */
  path: string;
}

/** A simulated terminal reached in-process. */
export interface InProcessSimTerminalHandle extends SimTerminalControls {
  link: 'in-process';
  /** Opens the agent's end of the link; a new call hangs up the previous connection. */
  connect(): Duplex;
}

/** One running simulated terminal. */
export type SimTerminalHandle = PtySimTerminalHandle | InProcessSimTerminalHandle;
