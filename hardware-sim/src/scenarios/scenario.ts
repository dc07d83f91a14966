/**
 * A scenario: how one simulated terminal behaves beyond the test amounts — timings, who plays
 * the customer, forced outcomes and wire faults. Given on the command line (`--fault-*` flags,
 * `--scenario file.json`), and changed at run time through the control interface.
 *
 * Pure: validation and merging only. Every field is documented in hardware-sim/README.md
 * ("Scenarios and faults"); `posbridge-sim --help` lists the flags.
 */
import { CodedError } from '@posbridge/protocol/errors';
import { SALE_BEHAVIOURS, TEST_CARDS, type SaleBehaviour } from './outcomes.ts';

/** Wire faults. Each one is off by default. */
export interface SimFaults {
  /**
   * Lose the acknowledgement of the first N requests of each transaction (PBL/1: the ACK and the
   * PROGRESS sent with it; Concert: the ACK to ENQ). 0 = off.
   */
  dropAck: number;
  /** Delay that acknowledgement by this many ms. 0 = off. */
  delayAckMs: number;
  /** NAK the first copy of every transaction request (PBL/1 SALE/VOID/REFUND; Concert request frame). */
  nakFirst: boolean;
  /** Probability (0–1) that a frame the terminal sends has a wrong CRC (PBL/1) or LRC (Concert). */
  corruptRate: number;
  /** Probability (0–1) that line noise (garbage bytes) is sent before a frame. */
  garbageRate: number;
  /** Send every final answer twice. */
  duplicateAnswer: boolean;
  /** The first N final answers of each transaction carry a wrong reference (PBL/1 rid; Concert private data). 0 = off. */
  wrongRef: number;
  /**
   * Concert E+ only: the first N final answers of each transaction carry an amount one minor unit
   * off (a mismatching answer the POS must refuse). 0 = off. PBL/1 ignores it.
   */
  wrongAmount: number;
  /** Restart the terminal in the middle of every sale (after the card is read); it is silent for `rebootMs`. */
  rebootMidTransaction: boolean;
}

/**
 * What a Concert E+ answer carries in its 10-char private field. Real terminals own that field:
 * `own` (the terminal's own transaction reference, `T` + a 9-digit counter), `blank` (spaces) or
 * `zeros`; some implementations `echo` the request's. PBL/1 always echoes its rid (its grammar).
 * @see ../../../docs/protocol/terminal-concert.md "Matching an answer to its request"
 */
export const PRIVATE_FIELD_MODES = ['own', 'blank', 'zeros', 'echo'] as const;
/** One of {@link PRIVATE_FIELD_MODES}. */
export type PrivateFieldMode = (typeof PRIVATE_FIELD_MODES)[number];

/** Everything a scenario sets. */
export interface SimScenario {
  /** Think time between terminal stages, ms. */
  stepDelayMs: number;
  /** Extra delay of a slow answer (cents 20), ms; longer than the agent's 180 s result timer by default. */
  slowAnswerDelayMs: number;
  /** How long the cable stays pulled for a disconnect (cents 40, or the `unplug` action without a duration), ms. */
  unplugMs: number;
  /** How long a reboot keeps the terminal silent, ms. */
  rebootMs: number;
  /** `auto`: timers play the customer; `manual`: a person (interactive mode) or the control interface does. */
  customer: 'auto' | 'manual';
  /** Every sale behaves like this, whatever its amount (`null`: use the test-amount table). */
  forceBehaviour: SaleBehaviour | null;
  /** Every sale is paid with this brand from the test-card table (`null`: by amount). */
  forceBrand: string | null;
  /** Seed of the random generator behind `corruptRate` and `garbageRate` (runs are reproducible). */
  seed: number;
  /** Concert E+: the answer's private field (default `own`, as real terminals; `echo` = `--echo-private`). */
  privateField: PrivateFieldMode;
  faults: SimFaults;
}

/** A partial scenario, as in a scenario file or a control-interface PATCH. */
export type SimScenarioPatch = Partial<Omit<SimScenario, 'faults'>> & { faults?: Partial<SimFaults> };

/** Defaults: no faults, automatic customer. */
export const DEFAULT_SCENARIO: Readonly<SimScenario> = Object.freeze({
  stepDelayMs: 250,
  slowAnswerDelayMs: 200_000,
  unplugMs: 5_000,
  rebootMs: 3_000,
  customer: 'auto',
  forceBehaviour: null,
  forceBrand: null,
  seed: 1,
  privateField: 'own',
  faults: Object.freeze({
    dropAck: 0,
    delayAckMs: 0,
    nakFirst: false,
    corruptRate: 0,
    garbageRate: 0,
    duplicateAnswer: false,
    wrongRef: 0,
    wrongAmount: 0,
    rebootMidTransaction: false,
  }),
});

const INT_KEYS = ['stepDelayMs', 'slowAnswerDelayMs', 'unplugMs', 'rebootMs', 'seed'] as const;
const FAULT_INT_KEYS = ['dropAck', 'delayAckMs', 'wrongRef', 'wrongAmount'] as const;
const FAULT_RATE_KEYS = ['corruptRate', 'garbageRate'] as const;
const FAULT_BOOL_KEYS = ['nakFirst', 'duplicateAnswer', 'rebootMidTransaction'] as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Validates a scenario patch (unknown keys rejected).
 * @throws CodedError CFG_INVALID listing every problem.
 */
export function parseScenarioPatch(input: unknown): SimScenarioPatch {
  const problems: string[] = [];
  if (!isObject(input)) throw new CodedError('CFG_INVALID', 'a scenario must be a JSON object', { details: { problems: ['not an object'] } });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if ((INT_KEYS as readonly string[]).includes(key)) {
      if (isCount(value)) out[key] = value;
      else problems.push(`${key} must be a whole number ≥ 0`);
    } else if (key === 'customer') {
      if (value === 'auto' || value === 'manual') out[key] = value;
      else problems.push('customer must be "auto" or "manual"');
    } else if (key === 'forceBehaviour') {
      if (value === null || (typeof value === 'string' && (SALE_BEHAVIOURS as readonly string[]).includes(value))) out[key] = value;
      else problems.push(`forceBehaviour must be null or one of ${SALE_BEHAVIOURS.join(', ')}`);
    } else if (key === 'forceBrand') {
      const brands = [...new Set(TEST_CARDS.map((r) => r.card.brand))];
      if (value === null || (typeof value === 'string' && brands.some((b) => b.toLowerCase() === value.toLowerCase()))) out[key] = value;
      else problems.push(`forceBrand must be null or one of ${brands.join(', ')}`);
    } else if (key === 'privateField') {
      if (typeof value === 'string' && (PRIVATE_FIELD_MODES as readonly string[]).includes(value)) out[key] = value;
      else problems.push(`privateField must be one of ${PRIVATE_FIELD_MODES.join(', ')}`);
    } else if (key === 'faults') {
      if (!isObject(value)) {
        problems.push('faults must be an object');
        continue;
      }
      const faults: Record<string, unknown> = {};
      for (const [fk, fv] of Object.entries(value)) {
        if ((FAULT_INT_KEYS as readonly string[]).includes(fk)) {
          if (isCount(fv)) faults[fk] = fv;
          else problems.push(`faults.${fk} must be a whole number ≥ 0`);
        } else if ((FAULT_RATE_KEYS as readonly string[]).includes(fk)) {
          if (typeof fv === 'number' && fv >= 0 && fv <= 1) faults[fk] = fv;
          else problems.push(`faults.${fk} must be a number from 0 to 1`);
        } else if ((FAULT_BOOL_KEYS as readonly string[]).includes(fk)) {
          if (typeof fv === 'boolean') faults[fk] = fv;
          else problems.push(`faults.${fk} must be true or false`);
        } else {
          problems.push(`faults.${fk} is not a known fault`);
        }
      }
      out[key] = faults;
    } else if (key === '$comment' || key === '_about') {
      // Comments are welcome in scenario files.
    } else {
      problems.push(`${key} is not a scenario setting`);
    }
  }
  if (problems.length > 0) {
    throw new CodedError('CFG_INVALID', `invalid scenario: ${problems.join('; ')}`, { details: { problems } });
  }
  return out as SimScenarioPatch;
}

/** Applies a (validated) patch to a scenario; returns a new frozen scenario. */
export function mergeScenario(base: Readonly<SimScenario>, patch: SimScenarioPatch): Readonly<SimScenario> {
  const { faults, ...rest } = patch;
  return Object.freeze({ ...base, ...rest, faults: Object.freeze({ ...base.faults, ...(faults ?? {}) }) });
}

/** Small seeded PRNG (mulberry32): the same seed gives the same fault pattern. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
