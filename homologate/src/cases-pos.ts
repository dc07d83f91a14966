/**
 * The Venda Direta (POS) flows of docs/protocol/vtex-ppp.md §2 and §5.4: Create Payment answers
 * `undefined` with `paymentAppData` (`vtex.terminal-connector-app`, payload a JSON string with
 * `submitUrl`); the terminal-connector app POSTs `{serialNumber}` to `submitUrl`; the terminal's
 * result arrives by callback. These are what a store does, not Test Suite cases: they are sent
 * **without** `X-VTEX-API-Is-TestSuite`. With a serial the sale runs on that terminal (a real
 * terminal charges the card presented; the flow then cancels it, a void); without one, the case
 * checks the first answer and cancels the payment before any terminal is chosen.
 */
import { filled, isObject, type CaseRun, type HomologationCase } from './case-run.ts';
import { expectCallback, followUp } from './cases-suite.ts';
import { approvedPayment, cancelBody, createPaymentBody, vtexId } from './payloads.ts';

/** The app that identifies the terminal (docs/protocol/vtex-ppp.md §5.4). */
export const TERMINAL_APP = 'vtex.terminal-connector-app';

/** Amounts of the POS sales, PPP decimals (cents 90 / 50: approved rows of posbridge's simulator). */
const POS_VALUES = { 'Venda Direta Credito': 31.9, 'Venda Direta Debito': 10.5 } as const;
type PosMethod = keyof typeof POS_VALUES;

/** Reads `paymentAppData`: its app name and its payload parsed (null when malformed, with a failure). */
function appData(run: CaseRun, answer: Record<string, unknown>): { appName: string; payload: Record<string, unknown> } | null {
  const data = answer['paymentAppData'];
  if (!run.check(isObject(data), 'create: no paymentAppData (the POS flow needs the terminal-connector app)') || !isObject(data)) return null;
  run.observe(`paymentAppData ${String(data['appName'])}`);
  if (!run.check(typeof data['payload'] === 'string', 'create: paymentAppData.payload is not a string (PPP: serialized JSON)')) return null;
  try {
    const payload = JSON.parse(String(data['payload'])) as unknown;
    if (!run.check(isObject(payload), 'create: paymentAppData.payload is not a JSON object')) return null;
    return { appName: String(data['appName']), payload: payload as Record<string, unknown> };
  } catch {
    run.check(false, 'create: paymentAppData.payload is not JSON');
    return null;
  }
}

async function createPos(run: CaseRun, method: PosMethod): Promise<{ body: Record<string, unknown>; answer: Record<string, unknown> }> {
  const paymentId = vtexId();
  const body = createPaymentBody({ paymentId, paymentMethod: method, value: POS_VALUES[method], currency: 'BRL', callbackUrl: run.ctx.callbacks.urlFor(paymentId), merchantName: run.ctx.merchantName });
  const { json } = await run.call('Create Payment', 'POST', '/payments', body, { testSuite: false, schemaPath: '/payments' });
  run.observe(`create ${String(json['status'] ?? 'no status')}`);
  run.check(json['status'] === 'undefined', `create: status ${JSON.stringify(json['status'])}, expected "undefined" (the terminal answers later)`);
  return { body, answer: json };
}

/** Without a serial: the first answer of a POS sale, then a cancel before any terminal is chosen. */
export const posCreateCase: HomologationCase = {
  name: 'POS Create',
  expected: `Venda Direta Credito: undefined with paymentAppData ${TERMINAL_APP} {submitUrl}; cancel → cancellationId`,
  async run(run) {
    const { body, answer } = await createPos(run, 'Venda Direta Credito');
    const data = appData(run, answer);
    if (data) {
      run.check(data.appName === TERMINAL_APP, `create: paymentAppData.appName "${data.appName}", expected "${TERMINAL_APP}"`);
      run.check(filled(data.payload['submitUrl']), 'create: payload has no submitUrl');
    }
    await followUp(run, 'cancel', `/payments/${encodeURIComponent(String(body['paymentId']))}/cancellations`, '/payments/{paymentId}/cancellations', cancelBody(approvedPayment(body, {})), 'cancellationId', 15_000, false);
  },
};

/** With a serial: a whole sale on that terminal, approved by callback, then voided. */
function posSaleCase(method: PosMethod): HomologationCase {
  return {
    name: method,
    expected: `undefined with ${TERMINAL_APP}; submitUrl {serialNumber}; approved callback; cancel → cancellationId`,
    async run(run) {
      const serial = run.ctx.serial;
      if (serial === undefined) throw new Error('no --serial');
      const { body, answer } = await createPos(run, method);
      const data = appData(run, answer);
      if (!data || !run.check(filled(data.payload['submitUrl']), 'create: payload has no submitUrl')) return;
      const submitUrl = String(data.payload['submitUrl']);
      const submit = await run.ctx.client.request('submitUrl {serialNumber}', 'POST', submitUrl, { serialNumber: serial }, { authenticated: false });
      run.exchanges.push(submit);
      run.observe(`submit ${submit.status ?? submit.error ?? 'no answer'}`);
      if (!run.check(submit.status !== undefined && submit.status >= 200 && submit.status < 300, `submitUrl: ${submit.status ?? submit.error} for terminal ${serial}`)) return;
      await expectCallback(run, body, 'approved', run.ctx.posTimeoutMs, false);
      const final = run.exchanges.at(-1);
      const finalBody = final && isObject(final.responseBody) ? final.responseBody : {};
      if (finalBody['status'] !== 'approved') return;
      const p = approvedPayment(body, finalBody);
      await followUp(run, 'cancel', `/payments/${encodeURIComponent(p.paymentId)}/cancellations`, '/payments/{paymentId}/cancellations', cancelBody(p), 'cancellationId', run.ctx.posTimeoutMs, false);
    },
  };
}

/** The POS cases: the two sales on `--serial` when given, else the first answer only. */
export function posCases(serial: string | undefined): HomologationCase[] {
  return serial === undefined ? [posCreateCase] : [posSaleCase('Venda Direta Credito'), posSaleCase('Venda Direta Debito')];
}
