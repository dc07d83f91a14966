/**
 * A running server with what the admin API tests need (test support only): a second merchant
 * (`mch_other`), API tokens of every role (and merchant-scoped ones, a revoked and an expired
 * one), a console user with a password, and payments in the states the routes act on — an
 * approved one whose callback failed (its URL refuses connections), an `unknown` one of each
 * merchant. Plus `call`, one request with the given credentials.
 */
import { transition, type PaymentEvent } from '../domain/payment-machine.ts';
import { issueApiToken } from '../admin/credentials.ts';
import { hashPassword } from '../admin/passwords.ts';
import { hashAppToken } from '../ppp/auth.ts';
import { BOOTSTRAP_MERCHANT_ID, type AdminRole, type CommandWrites, type NewPayment, type Payment, type PaymentStore } from '../ports/index.ts';
import { startTestServer, type TestServer } from './helpers.ts';
import { waitFor } from '@posbridge/testkit';

/** Password of the fixture's console user `root` (admin) and `vera` (viewer). */
export const FIXTURE_PASSWORD = 'correct horse battery staple';

/** Credentials of a request. */
export interface CallAuth {
  readonly bearer?: string;
  readonly cookie?: string;
  readonly csrf?: string;
}

/** An answer. */
export interface CallAnswer {
  readonly status: number;
  readonly json: Record<string, unknown>;
  readonly headers: Headers;
}

/** What {@link startAdminFixture} gives. */
export interface AdminFixture {
  readonly t: TestServer & { dir: string };
  readonly store: PaymentStore;
  readonly url: string;
  /** API tokens by name: viewer, operator, admin, otherOperator, otherAdmin (scoped to mch_other), revoked, expired. */
  readonly tokens: Record<'viewer' | 'operator' | 'admin' | 'otherOperator' | 'otherAdmin' | 'revoked' | 'expired', string>;
  /** paymentIds: approved (failed callback, settled, a refund of unknown outcome), unknown, otherUnknown (mch_other). */
  readonly payments: { readonly approved: string; readonly unknown: string; readonly otherUnknown: string };
  /** operationId of the approved payment's refund whose terminal outcome is unknown. */
  readonly unknownRefund: string;
  /** Id of the approved payment's callback (failed once the worker tried it). */
  readonly callbackId: number;
  call(method: string, path: string, auth?: CallAuth, body?: unknown): Promise<CallAnswer>;
  close(): Promise<void>;
}

async function step(store: PaymentStore, p: Payment, event: PaymentEvent, at: number, callback = false, commands?: CommandWrites): Promise<Payment> {
  const { state } = transition(p, event, at);
  const next = await store.applyTransition({
    paymentId: p.paymentId,
    expectedVersion: p.version,
    expectedStatus: p.status,
    next: state,
    event,
    at,
    ...(callback ? { callback: { url: p.callbackUrl, body: '{"status":"approved"}', status: 'approved' as const } } : {}),
    ...(commands ? { commands } : {}),
  });
  if (!next) throw new Error(`fixture: ${event.type} not applied to ${p.paymentId}`);
  return next;
}

function newPayment(paymentId: string, merchantId: string, at: number): NewPayment {
  return {
    paymentId,
    id: `pb_${paymentId}`,
    transactionId: `TX-${paymentId}`,
    orderId: `ORD-${paymentId}`,
    reference: 'R',
    merchantName: merchantId === BOOTSTRAP_MERCHANT_ID ? 'merchant' : 'other',
    method: 'credit',
    installments: 1,
    amount: { amountMinor: 3190, currency: 'BRL' },
    // Port 1 on loopback refuses: the worker's one attempt fails at once.
    callbackUrl: 'http://127.0.0.1:1/callback?X-VTEX-signature=s3cr3t',
    createdAt: at,
    merchantId,
  };
}

/** Creates a payment bound to SN-A (agent `agt`), acknowledged, with a terminal result of `outcome`. */
async function paymentWith(store: PaymentStore, paymentId: string, merchantId: string, outcome: 'approved' | 'unknown', at: number): Promise<Payment> {
  const { payment } = await store.createPayment(newPayment(paymentId, merchantId, at));
  const binding = { serialNumber: 'SN-A', agentId: 'agt', startId: `st_${paymentId}` };
  // The start command as the use case writes it: opened with the binding, sent, acknowledged, closed with the ack.
  const start = {
    commandId: binding.startId,
    kind: 'start' as const,
    paymentId,
    merchantId,
    serialNumber: binding.serialNumber,
    agentId: binding.agentId,
    message: JSON.stringify({ v: 1, id: binding.startId, type: 'payment.start', paymentId }),
  };
  const bound = await step(store, payment, { type: 'terminal.bound', binding }, at + 1, false, { open: [start] });
  await store.markCommandSent(start.commandId, 'ses-fixture', at + 1, at + 1001);
  await store.ackCommand(start.commandId, 'ses-fixture', at + 2);
  const acked = await step(store, bound, { type: 'agent.acked', startId: binding.startId }, at + 2, false, { close: [{ commandId: start.commandId, reason: 'accepted' }] });
  const result: PaymentEvent = {
    type: 'result.received',
    outcome: {
      outcome,
      terminalRef: `r_${paymentId}`,
      authorizationId: outcome === 'approved' ? 'AUTH1' : null,
      nsu: outcome === 'approved' ? 'NSU1' : null,
      tid: null,
      responseCode: outcome === 'approved' ? '00' : null,
      message: null,
      card: outcome === 'approved' ? { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' } : null,
      amountMinor: 3190,
    },
  };
  return step(store, acked, result, at + 3, outcome === 'approved');
}

/** Starts the server and seeds it (see the module comment). */
export async function startAdminFixture(overrides: Record<string, string> = {}): Promise<AdminFixture> {
  const t = await startTestServer({ POSBRIDGE_CALLBACK_MAX_ATTEMPTS: '1', POSBRIDGE_AUTH_FAILURE_LIMIT: '1000', ...overrides });
  const store = t.server.store;
  const now = Date.now();
  await store.createMerchant({ merchantId: 'mch_other', name: 'other', appKey: 'other-key', appTokenSha256: hashAppToken('other-token'), callbackMode: 'notification', createdAt: now });
  await store.createStore({ storeId: 'sto_other', merchantId: 'mch_other', name: 'default', createdAt: now });
  const token = async (role: AdminRole, merchantId: string | null = null, expiresAt: number | null = null) =>
    (await issueApiToken(store, { label: `fixture ${role}`, role, merchantId, userId: null, now, expiresAt })).token;
  const revoked = await issueApiToken(store, { label: 'revoked', role: 'admin', merchantId: null, userId: null, now, expiresAt: null });
  await store.revokeCredential(revoked.credentialId, now);
  const tokens = {
    viewer: await token('viewer'),
    operator: await token('operator'),
    admin: await token('admin'),
    otherOperator: await token('operator', 'mch_other'),
    otherAdmin: await token('admin', 'mch_other'),
    revoked: revoked.token,
    expired: await token('admin', null, now - 1),
  };
  const passwordHash = await hashPassword(FIXTURE_PASSWORD);
  await store.createUser({ userId: 'usr_root', name: 'root', role: 'admin', merchantId: null, passwordHash, disabled: false, createdAt: now });
  await store.createUser({ userId: 'usr_vera', name: 'vera', role: 'viewer', merchantId: null, passwordHash, disabled: false, createdAt: now });

  const approved = await paymentWith(store, 'ADM-APPROVED', BOOTSTRAP_MERCHANT_ID, 'approved', now - 10_000);
  const settle = { paymentId: approved.paymentId, kind: 'settle' as const, amountMinor: 3190, status: 'approved' as const };
  await store.recordOperation({ ...settle, operationId: 'se_fixture', requestId: 'req-settle', at: now - 9000 });
  await store.recordOperation({ paymentId: approved.paymentId, kind: 'refund', amountMinor: 1000, status: 'unknown', operationId: 'rf_fixture', requestId: 'req-refund', serialNumber: 'SN-A', at: now - 8000 });
  await paymentWith(store, 'ADM-UNKNOWN', BOOTSTRAP_MERCHANT_ID, 'unknown', now - 5000);
  await paymentWith(store, 'ADM-OTHER', 'mch_other', 'unknown', now - 4000);
  const failed = await waitFor(async () => (await store.listCallbacks(approved.paymentId)).find((c) => c.status === 'failed'), {
    timeoutMs: 5000,
    message: 'the fixture callback failed',
  });

  const url = t.server.url;
  return {
    t,
    store,
    url,
    tokens,
    payments: { approved: approved.paymentId, unknown: 'ADM-UNKNOWN', otherUnknown: 'ADM-OTHER' },
    callbackId: failed.id,
    unknownRefund: 'rf_fixture',
    async call(method, path, auth = {}, body) {
      const headers: Record<string, string> = {};
      if (auth.bearer !== undefined) headers['Authorization'] = `Bearer ${auth.bearer}`;
      if (auth.cookie !== undefined) headers['Cookie'] = auth.cookie;
      if (auth.csrf !== undefined) headers['X-CSRF-Token'] = auth.csrf;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      const text = await res.text();
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json = { text };
      }
      return { status: res.status, json, headers: res.headers };
    },
    close: () => t.close(),
  };
}
