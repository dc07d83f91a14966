/**
 * Shared fixtures of the port contract suites (./*.contract.ts): how a suite gets a fresh
 * store per test, and the payment values the suites build on. Test support only: imported by
 * contract suites, never by product code.
 */
import { afterEach, beforeEach } from 'vitest';
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import type { PaymentStore } from './index.ts';
import type { NewPayment, Payment } from './payments.ts';

/** Makes a new, empty store (each call: its own storage). */
export type StoreFactory = () => Promise<PaymentStore>;

/** A fresh store per test from `factory`, closed after it; call inside a `describe`. */
export function useStore(factory: StoreFactory): () => PaymentStore {
  let store: PaymentStore | undefined;
  beforeEach(async () => {
    store = await factory();
  });
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });
  return () => {
    if (!store) throw new Error('the store is made in beforeEach');
    return store;
  };
}

/** A valid new payment `P1` of 31.90 BRL, with `overrides`. */
export function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    paymentId: 'P1',
    id: `pb_${Math.random().toString(36).slice(2)}`,
    transactionId: 'TX',
    orderId: 'O',
    reference: 'R',
    merchantName: 'M',
    method: 'credit',
    installments: 1,
    amount: { amountMinor: 3190, currency: 'BRL' },
    callbackUrl: 'https://gw.example/cb?X-VTEX-signature=abc',
    createdAt: 1000,
    ...overrides,
  };
}

/** Applies the machine's transition of `p` on `event` through the store (with an approved callback when asked). */
export function apply(store: PaymentStore, p: Payment, event: PaymentEvent, at: number, withCallback = false): Promise<Payment | null> {
  const { state } = transition(p, event, at);
  return store.applyTransition({
    paymentId: p.paymentId,
    expectedVersion: p.version,
    expectedStatus: p.status,
    next: state,
    event,
    at,
    ...(withCallback ? { callback: { url: p.callbackUrl, body: '{"status":"approved"}', status: 'approved' as const } } : {}),
  });
}

/** The binding of the fixtures. */
export const binding = { serialNumber: 'SN1', agentId: 'ag1', startId: 'st1' };

/** An approved terminal result for the whole 31.90. */
export const approvedResult: PaymentEvent = {
  type: 'result.received',
  outcome: {
    outcome: 'approved',
    terminalRef: 'r1',
    authorizationId: 'A1',
    nsu: '7',
    tid: 'T',
    responseCode: '00',
    message: 'ok',
    card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' },
    amountMinor: 3190,
  },
};

/** Creates `paymentId`, binds it and approves it (for `authorizedMinor`, default the whole amount). */
export async function approvedPayment(
  store: PaymentStore,
  overrides: Partial<NewPayment> = {},
  authorizedMinor?: number,
): Promise<Payment> {
  const { payment } = await store.createPayment(newPayment(overrides));
  const bound = await apply(store, payment, { type: 'terminal.bound', binding: { ...binding, startId: `st_${payment.paymentId}` } }, payment.createdAt + 1);
  if (!bound) throw new Error('bind failed');
  const result: PaymentEvent =
    authorizedMinor === undefined || approvedResult.type !== 'result.received'
      ? approvedResult
      : { ...approvedResult, outcome: { ...approvedResult.outcome, amountMinor: authorizedMinor } };
  const approved = await apply(store, bound, result, payment.createdAt + 2);
  if (approved?.status !== 'approved') throw new Error('approve failed');
  return approved;
}

/** One adapter instance of a single port, for the contracts that test just that port. */
export interface PortFixture<P> {
  readonly port: P;
  close(): Promise<void>;
}

/** Fixtures of one port made from a whole store of `factory` (the store is the port). */
export function portOfStore<P>(factory: StoreFactory, pick: (store: PaymentStore) => P): () => Promise<PortFixture<P>> {
  return async () => {
    const store = await factory();
    return { port: pick(store), close: () => store.close() };
  };
}

/** A fresh port fixture per test from `make`, closed after it; call inside a `describe`. */
export function usePort<P>(make: () => Promise<PortFixture<P>>): () => P {
  let fixture: PortFixture<P> | undefined;
  beforeEach(async () => {
    fixture = await make();
  });
  afterEach(async () => {
    await fixture?.close();
    fixture = undefined;
  });
  return () => {
    if (!fixture) throw new Error('the port is made in beforeEach');
    return fixture.port;
  };
}
