/**
 * VTEX's Payment Provider Test Suite known cases (PPP docs "Test Suite"; issue 16): Manifest,
 * Authorize (approved, settle, refund), Denied, Cancel, AsyncApproved, AsyncDenied. Every request
 * carries `X-VTEX-API-Is-TestSuite: true`; the scenario is chosen by `card.number`
 * ({@link SUITE_CARDS}). The async cases wait up to {@link ASYNC_CALLBACK_MS} for the callback.
 */
import { filled, isObject, type CaseRun, type HomologationCase } from './case-run.ts';
import { approvedPayment, cancelBody, createPaymentBody, refundBody, settleBody, SUITE_CARDS, vtexId, type ApprovedPayment } from './payloads.ts';

/** The suite waits this long for the callback of an async case, ms ("within ~15 s"). */
export const ASYNC_CALLBACK_MS = 15_000;
/** A follow-up answered "pending" (500 with no id) is asked again until this long has passed, ms. */
export const FOLLOW_UP_RETRY_MS = 15_000;
/** Amount of the suite payments, PPP decimal, and their currency. */
export const SUITE_VALUE = 31.9;
export const SUITE_CURRENCY = 'BRL';

const SUITE = { testSuite: true } as const;

/** Sends Create Payment with a suite card; returns the body sent and the answer. */
async function create(run: CaseRun, card: string, label = 'Create Payment'): Promise<{ body: Record<string, unknown>; answer: Record<string, unknown> }> {
  const paymentId = vtexId();
  const body = createPaymentBody({ paymentId, paymentMethod: run.ctx.paymentMethod, value: SUITE_VALUE, currency: SUITE_CURRENCY, callbackUrl: run.ctx.callbacks.urlFor(paymentId), merchantName: run.ctx.merchantName, cardNumber: card });
  const { json } = await run.call(label, 'POST', '/payments', body, { ...SUITE, schemaPath: '/payments' });
  return { body, answer: json };
}

/** Checks that a Create Payment answer has `status` (and the ids an approval needs). */
function expectStatus(run: CaseRun, label: string, answer: Record<string, unknown>, status: string): boolean {
  run.observe(`${label} ${String(answer['status'] ?? 'no status')}`);
  if (!run.check(answer['status'] === status, `${label}: status ${JSON.stringify(answer['status'])}, expected "${status}"`)) return false;
  if (status === 'approved') run.check(filled(answer['tid']), `${label}: approved without a tid`);
  return true;
}

/**
 * A follow-up (cancel, settle, refund): asks again with the same `requestId` while the connector
 * answers 500 without the id (VTEX's gateway retries these), up to {@link FOLLOW_UP_RETRY_MS}.
 * Returns the last answer.
 */
export async function followUp(
  run: CaseRun,
  label: string,
  path: string,
  schemaPath: string,
  body: Record<string, unknown>,
  idField: string,
  retryMs = FOLLOW_UP_RETRY_MS,
  testSuite = true,
): Promise<Record<string, unknown>> {
  const deadline = run.ctx.now() + retryMs;
  for (let attempt = 1; ; attempt++) {
    const { exchange, json } = await run.call(attempt === 1 ? label : `${label} (retry ${attempt - 1})`, 'POST', path, body, { testSuite, schemaPath });
    const pending = exchange.status === 500 && !filled(json[idField]);
    if (!pending || run.ctx.now() >= deadline) {
      run.observe(`${label} ${exchange.status ?? 'no answer'}${filled(json[idField]) ? ` ${idField}` : ''}`);
      run.check(exchange.status === 200 && filled(json[idField]), `${label}: expected 200 with ${idField} filled, got ${exchange.status ?? 'no answer'} ${JSON.stringify(json[idField] ?? null)}`);
      return json;
    }
    await run.ctx.sleep(1_000);
  }
}

/** The manifest: 200, a valid body, at least one payment method. */
export const manifestCase: HomologationCase = {
  name: 'Manifest',
  expected: 'GET /manifest 200 with paymentMethods',
  async run(run) {
    const { exchange, json } = await run.call('Manifest', 'GET', '/manifest', undefined, { ...SUITE, authenticated: false, schemaPath: '/manifest' });
    const methods = Array.isArray(json['paymentMethods']) ? (json['paymentMethods'] as unknown[]).filter(isObject).map((m) => String(m['name'])) : [];
    run.observe(`${exchange.status ?? 'no answer'}, ${methods.length} payment method(s)${methods.length ? `: ${methods.join(', ')}` : ''}`);
    run.check(exchange.status === 200, `Manifest: status ${exchange.status ?? 'none'}, expected 200`);
    run.check(methods.length > 0, 'Manifest: no paymentMethods');
  },
};

/** Authorize: approved at once, then settle (settleId) and refund (refundId). */
export const authorizeCase: HomologationCase = {
  name: 'Authorize',
  expected: `${SUITE_CARDS.approved}: approved; settle → settleId; refund → refundId`,
  async run(run) {
    const { body, answer } = await create(run, SUITE_CARDS.approved);
    if (!expectStatus(run, 'create', answer, 'approved')) return;
    const p: ApprovedPayment = approvedPayment(body, answer);
    const settled = await followUp(run, 'settle', `/payments/${encodeURIComponent(p.paymentId)}/settlements`, '/payments/{paymentId}/settlements', settleBody(p, SUITE_VALUE), 'settleId');
    if (!filled(settled['settleId'])) return;
    run.check(settled['value'] === SUITE_VALUE, `settle: value ${JSON.stringify(settled['value'])}, expected ${SUITE_VALUE}`);
    const refunded = await followUp(run, 'refund', `/payments/${encodeURIComponent(p.paymentId)}/refunds`, '/payments/{paymentId}/refunds', refundBody(p, settled['settleId'], SUITE_VALUE), 'refundId');
    if (filled(refunded['refundId'])) run.check(refunded['value'] === SUITE_VALUE, `refund: value ${JSON.stringify(refunded['value'])}, expected ${SUITE_VALUE}`);
  },
};

/** Denied: denied at once. */
export const deniedCase: HomologationCase = {
  name: 'Denied',
  expected: `${SUITE_CARDS.denied}: denied`,
  async run(run) {
    const { answer } = await create(run, SUITE_CARDS.denied);
    expectStatus(run, 'create', answer, 'denied');
  },
};

/** Cancel: approved, then cancelled with a cancellationId. */
export const cancelCase: HomologationCase = {
  name: 'Cancel',
  expected: `${SUITE_CARDS.approved}: approved; cancel → cancellationId`,
  async run(run) {
    const { body, answer } = await create(run, SUITE_CARDS.approved);
    if (!expectStatus(run, 'create', answer, 'approved')) return;
    const p = approvedPayment(body, answer);
    await followUp(run, 'cancel', `/payments/${encodeURIComponent(p.paymentId)}/cancellations`, '/payments/{paymentId}/cancellations', cancelBody(p), 'cancellationId');
  },
};

/**
 * Waits for the callback of `body` and reads the final status: the callback body's `status`
 * (notification mode) and the next Create Payment's answer (retry mode, and a check of
 * idempotency in notification mode). Both must be `status`.
 */
export async function expectCallback(run: CaseRun, body: Record<string, unknown>, status: string, timeoutMs: number, testSuite: boolean): Promise<void> {
  const callbackUrl = String(body['callbackUrl']);
  const started = run.ctx.now();
  const cb = await run.ctx.callbacks.waitFor(callbackUrl, timeoutMs);
  if (!cb) {
    run.observe(`no callback within ${timeoutMs} ms`);
    run.check(false, `callback: none within ${timeoutMs} ms at ${new URL(callbackUrl).pathname}`);
    return;
  }
  run.callbacks.push({ pathAndQuery: cb.pathAndQuery, body: cb.body });
  const waited = Math.round(run.ctx.now() - started);
  const sent = new URL(callbackUrl);
  run.check(cb.pathAndQuery === `${sent.pathname}${sent.search}`, `callback: the connector called ${cb.pathAndQuery}, not the callbackUrl exactly as sent (${sent.pathname}${sent.search})`);
  let parsed: unknown = null;
  if (cb.body.trim() !== '') {
    try {
      parsed = JSON.parse(cb.body);
    } catch {
      run.check(false, 'callback: body is neither empty (retry mode) nor JSON (notification mode)');
    }
  }
  const mode = isObject(parsed) ? 'notification' : 'retry';
  run.observe(`${mode} callback after ${waited} ms${isObject(parsed) ? ` ${String(parsed['status'])}` : ''}`);
  if (isObject(parsed)) {
    run.check(parsed['status'] === status, `callback: status ${JSON.stringify(parsed['status'])}, expected "${status}"`);
    run.check(parsed['paymentId'] === body['paymentId'], 'callback: paymentId is not the payment’s');
  }
  const { json } = await run.call('Create Payment (after callback)', 'POST', '/payments', body, { testSuite, schemaPath: '/payments' });
  expectStatus(run, 'then', json, status);
}

function asyncCase(name: string, card: string, final: 'approved' | 'denied'): HomologationCase {
  return {
    name,
    expected: `${card}: undefined; ${final} callback within ${ASYNC_CALLBACK_MS / 1000} s`,
    async run(run) {
      const { body, answer } = await create(run, card);
      if (!expectStatus(run, 'create', answer, 'undefined')) return;
      await expectCallback(run, body, final, ASYNC_CALLBACK_MS, true);
    },
  };
}

/** AsyncApproved: undefined, then an approved callback. */
export const asyncApprovedCase = asyncCase('AsyncApproved', SUITE_CARDS.asyncApproved, 'approved');
/** AsyncDenied: undefined, then a denied callback. */
export const asyncDeniedCase = asyncCase('AsyncDenied', SUITE_CARDS.asyncDenied, 'denied');

/** The suite's cases in VTEX's order (the manifest first). */
export const SUITE_CASES: readonly HomologationCase[] = Object.freeze([manifestCase, authorizeCase, deniedCase, cancelCase, asyncApprovedCase, asyncDeniedCase]);
