/**
 * The soak's fault schedule: which payments are made (amount, method) and which faults hit
 * them, drawn from a seeded generator so the same `--seed` and `--payments` always give the same
 * plan. Pure: no I/O, no clock.
 *
 * A fault belongs to one payment. Process and network faults (`ws-drop`, `ws-stall`,
 * `agent-kill`, `server-kill`, and in a cluster run `instance-kill`, `postgres-restart`,
 * `nats-restart`) fire `afterMs` after that payment's terminal was bound, whatever the payment is
 * doing then (so they also hit the payments running beside it); callback faults shape the
 * answers to that payment's callback; serial faults set its terminal's simulator scenario, or
 * choose a test amount that misbehaves on the wire (hardware-sim/README.md).
 */
import { seededRandom } from '@posbridge/hardware-sim';

/** Every kind of fault the soak injects. */
export const FAULT_KINDS = [
  'ws-drop',
  'ws-stall',
  'agent-kill',
  'server-kill',
  'callback-5xx',
  'callback-hang',
  'serial-nak-first',
  'serial-drop-ack',
  'serial-delay-ack',
  'serial-corrupt',
  'serial-garbage',
  'serial-duplicate-answer',
  'serial-wrong-ref',
  'serial-reboot',
  'serial-lost-answer',
  'serial-cable-pulled',
  'serial-slow-answer',
] as const;

/**
 * The faults only a cluster run (`--instances N`) injects: SIGKILL of one instance and its
 * restart after a pause, a crash and restart of PostgreSQL, a kill and restart of NATS.
 */
export const CLUSTER_FAULT_KINDS = ['instance-kill', 'postgres-restart', 'nats-restart'] as const;

/** A kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number] | (typeof CLUSTER_FAULT_KINDS)[number];

/** Every kind, the cluster's included. */
export const ALL_FAULT_KINDS: readonly FaultKind[] = [...FAULT_KINDS, ...CLUSTER_FAULT_KINDS];

/** Faults that act on processes or the network, at a moment. */
export const TIMED_FAULTS: readonly FaultKind[] = ['ws-drop', 'ws-stall', 'agent-kill', 'server-kill', ...CLUSTER_FAULT_KINDS];
/** Faults that act through the simulator's scenario for one sale. */
export const SCENARIO_FAULTS: readonly FaultKind[] = [
  'serial-nak-first',
  'serial-drop-ack',
  'serial-delay-ack',
  'serial-corrupt',
  'serial-garbage',
  'serial-duplicate-answer',
  'serial-wrong-ref',
  'serial-reboot',
];
/** Faults chosen by the sale's amount (the simulator's test-amount table). */
export const AMOUNT_FAULTS: Readonly<Partial<Record<FaultKind, number>>> = {
  'serial-slow-answer': 20,
  'serial-lost-answer': 30,
  'serial-cable-pulled': 40,
};

/**
 * Expected share of payments hit by each kind (a kind is planned at least once when the run has
 * enough payments, so even `--quick` exercises every kind).
 */
export const FAULT_RATES: Readonly<Record<FaultKind, number>> = {
  'ws-drop': 0.1,
  'ws-stall': 0.04,
  'agent-kill': 0.08,
  'server-kill': 0.06,
  'callback-5xx': 0.06,
  'callback-hang': 0.04,
  'serial-nak-first': 0.03,
  'serial-drop-ack': 0.03,
  'serial-delay-ack': 0.03,
  'serial-corrupt': 0.03,
  'serial-garbage': 0.03,
  'serial-duplicate-answer': 0.03,
  'serial-wrong-ref': 0.03,
  'serial-reboot': 0.02,
  'serial-lost-answer': 0.03,
  'serial-cable-pulled': 0.03,
  'serial-slow-answer': 0.03,
  'instance-kill': 0.06,
  'postgres-restart': 0.03,
  'nats-restart': 0.03,
};

/** One planned fault. */
export interface PlannedFault {
  kind: FaultKind;
  /** Timed faults: ms after the payment's terminal was bound. */
  afterMs?: number;
  /** Callback faults: how many attempts are answered 503 / left hanging. */
  attempts?: number;
}

/** One planned payment. */
export interface PlannedPayment {
  index: number;
  /** Amount in minor units (BRL); the cents choose the simulator's behaviour. */
  amountMinor: number;
  method: 'credit' | 'debit';
  /** What the simulator's test-amount table makes of these cents, before any fault. */
  behaviour: 'approve' | 'decline' | 'customer-cancel' | 'slow-answer' | 'lost-answer' | 'disconnect';
  faults: PlannedFault[];
}

/** Options of {@link planSoak}. */
export interface PlanOptions {
  payments: number;
  seed: number;
  /** Upper bound of a timed fault's `afterMs`. @default 1200 */
  maxOffsetMs?: number;
  /**
   * Plan the cluster's faults too ({@link CLUSTER_FAULT_KINDS}), after the others, so a seed
   * gives the same single-instance faults either way. @default false
   */
  cluster?: boolean;
}

const DECLINE_CENTS = [5, 54] as const;
/** Cents that approve (avoiding every special row of the test-amount table). */
const APPROVE_CENTS = [0, 1, 15, 33, 47, 50, 66, 75, 88, 90, 99] as const;

/**
 * Draws the plan: ~75 % approvals, ~20 % declines (insufficient funds, expired card), ~5 %
 * customer cancels, then places `round(rate × payments)` faults of each kind (at least one when
 * `payments ≥ 16`) on distinct random payments; amount faults override the cents.
 */
export function planSoak(options: PlanOptions): PlannedPayment[] {
  const rnd = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const maxOffsetMs = options.maxOffsetMs ?? 1200;
  const plan: PlannedPayment[] = [];
  for (let index = 0; index < options.payments; index++) {
    const r = rnd();
    const units = 10 + Math.floor(rnd() * 90);
    const [cents, behaviour]: [number, PlannedPayment['behaviour']] =
      r < 0.75 ? [pick(APPROVE_CENTS), 'approve'] : r < 0.95 ? [pick(DECLINE_CENTS), 'decline'] : [10, 'customer-cancel'];
    plan.push({ index, amountMinor: units * 100 + cents, method: rnd() < 0.7 ? 'credit' : 'debit', behaviour, faults: [] });
  }
  const serialTaken = new Set<number>();
  for (const kind of options.cluster === true ? ALL_FAULT_KINDS : FAULT_KINDS) {
    const wanted = Math.min(options.payments, Math.max(options.payments >= 16 ? 1 : 0, Math.round(FAULT_RATES[kind] * options.payments)));
    const isSerial = SCENARIO_FAULTS.includes(kind) || AMOUNT_FAULTS[kind] !== undefined;
    for (let n = 0, tries = 0; n < wanted && tries < options.payments * 10; tries++) {
      const p = plan[Math.floor(rnd() * plan.length)]!;
      // One serial fault per sale, so each one's effect stays readable; other kinds may stack.
      if (isSerial && serialTaken.has(p.index)) continue;
      if (p.faults.some((f) => f.kind === kind)) continue;
      if (isSerial) serialTaken.add(p.index);
      const fault: PlannedFault = { kind };
      if (TIMED_FAULTS.includes(kind)) fault.afterMs = Math.floor(rnd() * maxOffsetMs);
      if (kind === 'callback-5xx') fault.attempts = 1 + Math.floor(rnd() * 3);
      if (kind === 'callback-hang') fault.attempts = 1;
      const cents = AMOUNT_FAULTS[kind];
      if (cents !== undefined) {
        p.amountMinor = Math.floor(p.amountMinor / 100) * 100 + cents;
        p.behaviour = kind === 'serial-slow-answer' ? 'slow-answer' : kind === 'serial-lost-answer' ? 'lost-answer' : 'disconnect';
      }
      p.faults.push(fault);
      n++;
    }
  }
  return plan;
}

/** Faults of a plan counted by kind. */
export function countPlannedFaults(plan: readonly PlannedPayment[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(ALL_FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  for (const p of plan) for (const f of p.faults) counts[f.kind]++;
  return counts;
}
