/**
 * An independent homologation client: it plays the VTEX gateway and the inStore terminal-connector
 * app against `npm run stack` (spawned exactly as test/e2e/stack-contract.test.ts does) and knows
 * only three things: the stack's ready-line contract, docs/protocol/vtex-ppp.md, and the OpenAPI
 * copy in server/test-fixtures/ppp-openapi.yml. Nothing of posbridge's product code is imported (only
 * the test kit's `waitFor`).
 *
 * It checks authentication (missing, wrong, both header spellings, any case), validation (400
 * PPP shape naming the fields), idempotency under concurrency (creates, cancellations,
 * settlements, refunds), submitUrl abuse (forged, tampered, another payment's, wrong serial,
 * rebinding, after cancel), cancel before binding and after approval (a void on the terminal,
 * seen in the simulator's own `sale finished` log records on the stack's stderr), partial
 * settlement, partial refund then over-refund, and the 5 s budget (every answer timed, also
 * while the terminal is slow: simulator amount cents `20`). Every PPP answer body is validated
 * against the OpenAPI with Ajv (the validator the server's contract tests use), with the two
 * deviations docs/ppp.md documents made explicit below.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** VTEX's Test Suite budget (docs/protocol/vtex-ppp.md §1). */
const BUDGET_MS = 5000;

// ── the OpenAPI, with the documented deviations (docs/ppp.md "Contract") ────────────────────
type Schemas = Record<string, { properties: Record<string, Record<string, unknown>> }>;
const spec = parse(readFileSync(new URL('../../server/test-fixtures/ppp-openapi.yml', import.meta.url), 'utf8')) as {
  components: { schemas: Schemas };
};
// 1. Create Payment's `authorizationId` is null until approved (§4.2: "send only when approved, otherwise null/absent").
spec.components.schemas['Success-Approved']!.properties['authorizationId']!['nullable'] = true;
// 2. `maxValue` is a decimal (§4.2, §9: typed integer, exemplified 16.6).
spec.components.schemas['Success-Approved']!.properties['maxValue']!['type'] = 'number';
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as { default: (a: Ajv) => void }).default(ajv);
ajv.addSchema(spec, 'ppp');
const validators = new Map<string, ValidateFunction>();

/** Validates a PPP answer against the OpenAPI response schema of (path, method, status). */
function expectContract(path: string, method: string, status: number, body: unknown): void {
  const key = `${method} ${path} ${status}`;
  let validate = validators.get(key);
  if (!validate) {
    const pointer = `#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/${method}/responses/${status}/content/application~1json/schema`;
    validate = ajv.compile({ $ref: `ppp${pointer}` });
    validators.set(key, validate);
  }
  expect(validate(body) ? [] : validate.errors, `${key}: ${JSON.stringify(body)}`).toEqual([]);
}

/** Error answers the OpenAPI lists only for Create Payment (400) carry the same PPP error shape everywhere (§4.2 Errors). */
function expectPppError(body: unknown, code?: string): void {
  expectContract('/payments', 'post', 400, body);
  if (code !== undefined) expect(body).toMatchObject({ status: 'error', code });
}

// ── a minimal HTTP client that times every answer ───────────────────────────────────────────
interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
  ms: number;
}
const timings: { what: string; ms: number }[] = [];

/** One HTTP/1.1 request with headers sent exactly as spelled (node:http keeps their case). */
function http(method: string, url: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { Accept: 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const ms = performance.now() - started;
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: `text` tells
        }
        timings.push({ what: `${method} ${new URL(url).pathname.slice(0, 60)} → ${res.statusCode}`, ms });
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms });
      });
    });
    req.setTimeout(20_000, () => req.destroy(new Error(`no answer to ${method} ${url} in 20 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

// ── the gateway's callback endpoint ─────────────────────────────────────────────────────────
interface Callbacks {
  url(paymentId: string): string;
  received: { paymentId: string; headers: Record<string, unknown>; body: Record<string, unknown> }[];
  close(): Promise<void>;
}
async function startCallbacks(): Promise<Callbacks> {
  const received: Callbacks['received'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      received.push({ paymentId: String(body['paymentId']), headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    url: (paymentId) =>
      `http://127.0.0.1:${port}/api/pvt/payment-provider/transactions/TX${paymentId}/payments/${paymentId}/callback?accountName=mystore&X-VTEX-signature=${randomBytes(8).toString('hex')}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
}

describe('PPP homologation against npm run stack', () => {
  let child: ChildProcessWithoutNullStreams;
  let ready: Ready;
  let callbacks: Callbacks;
  const stderr: Record<string, unknown>[] = [];
  let serial: string;

  beforeAll(async () => {
    callbacks = await startCallbacks();
    child = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', '--step-delay-ms', '5'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info' },
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      try {
        stderr.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        stderr.push({ msg: line });
      }
    });
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ready line')), 45_000);
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = JSON.parse(line) as Ready;
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
    serial = ready.terminals[0]!.serialNumber;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await callbacks?.close();
  });

  // ── the gateway's and the app's calls ─────────────────────────────────────────────────────
  const auth = (): Record<string, string> => ({ 'X-VTEX-API-AppKey': ready.appKey, 'X-VTEX-API-AppToken': ready.appToken });
  const ppp = (path: string, body: unknown, headers: Record<string, string> = auth()) =>
    http('POST', `${ready.pppBaseUrl}${path}`, typeof body === 'string' ? body : JSON.stringify(body), { 'Content-Type': 'application/json', ...headers });
  const submit = (submitUrl: string, serialNumber: string) =>
    http('POST', submitUrl, JSON.stringify({ serialNumber }), { 'Content-Type': 'application/json' });

  function paymentBody(value: number, paymentId = randomBytes(16).toString('hex').toUpperCase()) {
    return {
      reference: `ref-${paymentId.slice(0, 6)}`,
      orderId: `v${paymentId.slice(0, 8)}-01`,
      shopperInteraction: 'instore',
      verificationOnly: false,
      transactionId: `TX${paymentId}`.slice(0, 32),
      paymentId,
      paymentMethod: 'Venda Direta Credito',
      paymentMethodCustomCode: null,
      merchantName: 'mystore',
      value,
      referenceValue: value,
      currency: 'BRL',
      installments: 1,
      installmentsInterestRate: 0,
      installmentsValue: value,
      deviceFingerprint: '12ade389087fe',
      ipAddress: '127.0.0.1',
      card: { holder: null, number: null, csc: null, expiration: { month: null, year: null }, document: null, token: null },
      miniCart: { shippingValue: 0, taxValue: 0, buyer: { firstName: 'Ana', lastName: 'Silva', document: '01234567890', documentType: 'CPF', email: 'ana@example.com', phone: '+5521999999999' }, items: [] },
      url: 'https://mystore.example/checkout',
      callbackUrl: callbacks.url(paymentId),
      returnUrl: 'https://mystore.example/checkout/order',
      inboundRequestsUrl: `https://mystore.vtexpayments.com.br/payment-provider/transactions/TX/payments/${paymentId}/inbound-request/:action`,
    };
  }
  type Body = ReturnType<typeof paymentBody>;

  async function create(body: Body, headers?: Record<string, string>): Promise<Answer> {
    const answer = await ppp('/payments', body, headers);
    expect(answer.status, answer.text).toBe(200);
    expectContract('/payments', 'post', 200, answer.json);
    return answer;
  }
  function appData(answer: Answer): { appName: string; payload: Record<string, unknown> } {
    const data = answer.json['paymentAppData'] as { appName: string; payload: string };
    expect(typeof data.payload).toBe('string'); // §5.4: a JSON string, not an object
    return { appName: data.appName, payload: JSON.parse(data.payload) as Record<string, unknown> };
  }
  /** Creates, binds the stack's terminal and polls until `approved` (the wait-app loop of §2 steps 8–9). */
  async function approvedPayment(value: number) {
    const body = paymentBody(value);
    const first = await create(body);
    const { submitUrl } = appData(first).payload as { submitUrl: string };
    expect((await submit(submitUrl, serial)).status).toBe(200);
    const final = await waitFor(async () => {
      const a = await create(body);
      return a.json['status'] === 'undefined' ? undefined : a;
    }, { timeoutMs: 20_000, intervalMs: 100, message: `approval of ${value}` });
    expect(final.json).toMatchObject({ status: 'approved', authorizationId: expect.any(String) });
    expect(final.json['firstDigits']).toMatch(/^\d{6}$/);
    expect(final.json['lastDigits']).toMatch(/^\d{4}$/);
    return { body, submitUrl, answer: final.json };
  }
  /** The simulator's own records (`sale finished`) of an operation for an amount. */
  const terminalRecords = (operation: string, amountMinor: number) =>
    stderr.filter((l) => l['component'] === 'terminal' && l['msg'] === 'sale finished' && l['operation'] === operation && l['amountMinor'] === amountMinor);

  // ── checks ────────────────────────────────────────────────────────────────────────────────
  it('manifest: both Venda Direta methods, no authentication', async () => {
    const manifest = await http('GET', `${ready.pppBaseUrl}/manifest`);
    expect(manifest.status).toBe(200);
    expectContract('/manifest', 'get', 200, manifest.json);
    expect((manifest.json['paymentMethods'] as { name: string }[]).map((m) => m.name).sort()).toEqual(['Venda Direta Credito', 'Venda Direta Debito']);
  });

  it('authentication: missing, wrong, mixed spellings refused; both spellings in any case accepted', async () => {
    const body = paymentBody(31.91);
    const refused = async (headers: Record<string, string>) => {
      const a = await ppp('/payments', body, headers);
      expect(a.status, JSON.stringify(headers)).toBe(401);
      expectPppError(a.json);
    };
    await refused({});
    await refused({ 'X-VTEX-API-AppKey': ready.appKey, 'X-VTEX-API-AppToken': `${ready.appToken}x` });
    await refused({ 'X-VTEX-API-AppKey': `${ready.appKey}x`, 'X-VTEX-API-AppToken': ready.appToken });
    await refused({ 'X-VTEX-API-AppKey': ready.appKey, 'X-PROVIDER-API-AppToken': ready.appToken }); // a pair comes from one spelling
    await refused({ 'X-VTEX-API-AppKey': '', 'X-VTEX-API-AppToken': '' }); // the Test Suite's unconfigured credentials (§3)
    // A follow-up is refused without credentials before anything else.
    expect((await ppp(`/payments/${body.paymentId}/cancellations`, { paymentId: body.paymentId, requestId: 'X', authorizationId: 'X' }, {})).status).toBe(401);

    await create(body, { 'x-vtex-api-appkey': ready.appKey, 'x-vtex-api-apptoken': ready.appToken });
    await create(body, { 'X-PROVIDER-API-AppKey': ready.appKey, 'X-PROVIDER-API-AppToken': ready.appToken });
    await create(body, { 'x-Provider-Api-APPKEY': ready.appKey, 'X-provider-api-apptoken': ready.appToken });
    // Both spellings at once: the right pair wins whichever it is.
    await create(body, { ...auth(), 'X-PROVIDER-API-AppKey': 'nope', 'X-PROVIDER-API-AppToken': 'nope' });
    await create(body, { 'X-VTEX-API-AppKey': 'nope', 'X-VTEX-API-AppToken': 'nope', 'X-PROVIDER-API-AppKey': ready.appKey, 'X-PROVIDER-API-AppToken': ready.appToken });
    // The Test Suite header changes nothing in the answer's shape.
    await create(body, { ...auth(), 'X-VTEX-API-Is-TestSuite': 'true' });
  });

  it('validation: 400 in the PPP shape naming every offending field; malformed JSON; JSON 404; unsupported method denied', async () => {
    const empty = await ppp('/payments', {});
    expect(empty.status).toBe(400);
    expectPppError(empty.json, empty.json['code'] as string);
    for (const field of ['paymentId', 'value', 'currency', 'callbackUrl', 'paymentMethod', 'merchantName']) {
      expect(String(empty.json['message']), field).toContain(field);
    }
    const badValue = await ppp('/payments', { ...paymentBody(1), value: 'ten', currency: 12 });
    expect(badValue.status).toBe(400);
    expect(String(badValue.json['message'])).toMatch(/value/);
    expect(String(badValue.json['message'])).toMatch(/currency/);
    const malformed = await ppp('/payments', '{"paymentId": ');
    expect(malformed.status).toBe(400);
    expectPppError(malformed.json);
    expect(malformed.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace

    const settle = await ppp('/payments/ABC/settlements', { paymentId: 'ABC', value: 'all' });
    expect(settle.status).toBe(400);
    expectPppError(settle.json);
    for (const field of ['requestId', 'value', 'authorizationId', 'transactionId']) expect(String(settle.json['message']), field).toContain(field);
    const refund = await ppp('/payments/ABC/refunds', { paymentId: 'ABC' });
    for (const field of ['requestId', 'settleId', 'tid', 'value', 'transactionId']) expect(String(refund.json['message']), field).toContain(field);
    const cancel = await ppp('/payments/ABC/cancellations', {});
    for (const field of ['paymentId', 'requestId', 'authorizationId']) expect(String(cancel.json['message']), field).toContain(field);

    const unknown = await http('GET', `${ready.pppBaseUrl}/no/such/route`);
    expect(unknown.status).toBe(404);
    expectPppError(unknown.json);

    const boleto = await create({ ...paymentBody(10.91), paymentMethod: 'BankInvoice' });
    expect(boleto.json).toMatchObject({ status: 'denied', message: expect.any(String) });
  });

  it('idempotency: concurrent duplicate creates make one payment and answer it identically', async () => {
    const body = paymentBody(31.93);
    const answers = await Promise.all(Array.from({ length: 8 }, () => create(body)));
    const bodies = answers.map((a) => JSON.stringify(a.json));
    expect(new Set(bodies).size).toBe(1);
    expect(answers[0]!.json).toMatchObject({ paymentId: body.paymentId, status: 'undefined', authorizationId: null });
    expect(appData(answers[0]!).appName).toBe('vtex.terminal-connector-app');
    // Another amount for the same paymentId is not the same payment.
    expect((await ppp('/payments', { ...body, value: 99.99 })).status).toBe(400);
  });

  it('submitUrl abuse: forged, tampered, another payment\'s, wrong serial, rebinding, after cancel', async () => {
    const a = paymentBody(31.97);
    const b = paymentBody(31.98);
    const submitA = (appData(await create(a)).payload as { submitUrl: string }).submitUrl;
    const submitB = (appData(await create(b)).payload as { submitUrl: string }).submitUrl;
    const tokenA = submitA.slice(submitA.lastIndexOf('/') + 1);
    const tokenB = submitB.slice(submitB.lastIndexOf('/') + 1);
    const base = submitA.slice(0, submitA.lastIndexOf('/') + 1);
    expect(tokenA).not.toBe(tokenB);

    const refused = async (url: string, serialNumber: string, status: number) => {
      const r = await submit(url, serialNumber);
      expect(r.status, `${url} ${serialNumber}`).toBe(status);
      expect(r.json).toMatchObject({ code: expect.any(String), message: expect.any(String) });
      return r;
    };
    await refused(`${base}${randomBytes(40).toString('base64url')}`, serial, 404);
    // Every other spelling of A's last character (padding bits included) is a forgery.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(tokenA.at(-1)!);
    for (const flip of [1, 2, 3]) await refused(`${base}${tokenA.slice(0, -1)}${alphabet[last ^ flip]}`, serial, 404);
    // B's MAC on A's paymentId, and A's on B's.
    const [idA, macA] = tokenA.split('.') as [string, string];
    const [idB, macB] = tokenB.split('.') as [string, string];
    await refused(`${base}${idA}.${macB}`, serial, 404);
    await refused(`${base}${idB}.${macA}`, serial, 404);
    // Wrong serial: unknown terminal, nothing bound.
    const wrong = await refused(submitA, 'NO-SUCH-TERMINAL', 404);
    expect(wrong.json['code']).toBe('POS_TERMINAL_UNKNOWN');
    const status = String((appData(await create(a)).payload as { statusUrl?: string }).statusUrl ?? '');
    if (status) expect((await http('GET', status)).json).toMatchObject({ state: 'awaiting_terminal' });

    // Bind A; a repeat is the same answer; another serial cannot take it over.
    const bound = await submit(submitA, serial);
    expect(bound.status).toBe(200);
    expect((await submit(submitA, serial)).status).toBe(200);
    const rebind = await submit(submitA, 'OTHER-0001');
    expect([404, 409]).toContain(rebind.status);
    // B was never bound: cancel it, then its submitUrl stops working.
    const cancel = await ppp(`/payments/${b.paymentId}/cancellations`, { paymentId: b.paymentId, requestId: 'CB-1', authorizationId: '', transactionId: b.transactionId });
    expect(cancel.status).toBe(200);
    expectContract('/payments/{paymentId}/cancellations', 'post', 200, cancel.json);
    const late = await refused(submitB, serial, 410);
    expect(late.json['code']).toBe('POS_PAYMENT_FINAL');
    // Let A finish so the terminal is free for the next checks.
    await waitFor(async () => ((await create(a)).json['status'] === 'approved' ? true : undefined), { timeoutMs: 20_000, intervalMs: 100, message: 'A approved' });
  });

  it('cancel before binding: immediate, idempotent under concurrency, the payment is denied', async () => {
    const body = paymentBody(12.91);
    await create(body);
    const req = { paymentId: body.paymentId, requestId: 'C-BEFORE', authorizationId: '', transactionId: body.transactionId };
    const answers = await Promise.all(Array.from({ length: 5 }, () => ppp(`/payments/${body.paymentId}/cancellations`, req)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => JSON.stringify(a.json))).size).toBe(1);
    expectContract('/payments/{paymentId}/cancellations', 'post', 200, answers[0]!.json);
    expect(answers[0]!.json).toMatchObject({ paymentId: body.paymentId, requestId: 'C-BEFORE', cancellationId: expect.any(String) });
    expect((await create(body)).json).toMatchObject({ status: 'denied' });
    // A settlement of a payment that was never approved fails in the PPP failure shape.
    const settle = await ppp(`/payments/${body.paymentId}/settlements`, { paymentId: body.paymentId, requestId: 'S-X', value: 12.91, authorizationId: 'x', transactionId: body.transactionId });
    expect(settle.status).toBe(500);
    expectContract('/payments/{paymentId}/settlements', 'post', 500, settle.json);
    expect(settle.json).toMatchObject({ settleId: null, value: 0 });
  });

  it('cancel after approval: one void on the terminal, identical answers to concurrent duplicates', async () => {
    const { body, answer } = await approvedPayment(42.91);
    expect(terminalRecords('sale', 4291).filter((r) => r['status'] === 'approved')).toHaveLength(1);
    const req = { paymentId: body.paymentId, requestId: 'C-AFTER', authorizationId: String(answer['authorizationId']), transactionId: body.transactionId };
    const send = () => ppp(`/payments/${body.paymentId}/cancellations`, req);
    const answers = await Promise.all(Array.from({ length: 5 }, send));
    for (const a of answers) {
      expect([200, 500]).toContain(a.status); // 500 = still working on the terminal; VTEX repeats
      expectContract('/payments/{paymentId}/cancellations', 'post', a.status, a.json);
    }
    const final = await waitFor(async () => {
      const a = await send();
      return a.status === 200 ? a : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, message: 'void' });
    expect(final.json).toMatchObject({ paymentId: body.paymentId, requestId: 'C-AFTER', cancellationId: expect.any(String) });
    for (const a of answers.filter((x) => x.status === 200)) expect(a.json).toEqual(final.json);
    expect((await send()).json).toEqual(final.json);
    const voids = terminalRecords('void', 4291);
    expect(voids).toHaveLength(1);
    expect(voids[0]).toMatchObject({ status: 'approved' });
    expect((await create(body)).json).toMatchObject({ status: 'denied' });
  });

  it('settle partially, concurrently and once per requestId; refund partially; over-refund refused', async () => {
    const { body, answer } = await approvedPayment(31.96);
    const settleReq = (requestId: string, value: number) => ({
      paymentId: body.paymentId, requestId, value, authorizationId: String(answer['authorizationId']), tid: String(answer['tid']), transactionId: body.transactionId,
    });
    const settle = (requestId: string, value: number) => ppp(`/payments/${body.paymentId}/settlements`, settleReq(requestId, value));
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => settle('S-1', 20)));
    expect(duplicates.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(duplicates.map((d) => JSON.stringify(d.json))).size).toBe(1);
    expectContract('/payments/{paymentId}/settlements', 'post', 200, duplicates[0]!.json);
    expect(duplicates[0]!.json).toMatchObject({ value: 20, settleId: expect.any(String), requestId: 'S-1' });
    const over = await settle('S-2', 12);
    expect(over.status).toBe(500);
    expectContract('/payments/{paymentId}/settlements', 'post', 500, over.json);
    expect(over.json).toMatchObject({ settleId: null, value: 0 });
    const rest = await settle('S-3', 11.96);
    expect(rest.json).toMatchObject({ value: 11.96 });

    const refundReq = (requestId: string, value: number) => ({
      paymentId: body.paymentId, requestId, settleId: String(duplicates[0]!.json['settleId']), tid: String(answer['tid']), value, transactionId: body.transactionId,
    });
    const refund = (requestId: string, value: number) => ppp(`/payments/${body.paymentId}/refunds`, refundReq(requestId, value));
    const first = await Promise.all(Array.from({ length: 5 }, () => refund('R-1', 10.07)));
    for (const a of first) {
      expect([200, 500]).toContain(a.status);
      expectContract('/payments/{paymentId}/refunds', 'post', a.status, a.json);
    }
    const done = await waitFor(async () => {
      const a = await refund('R-1', 10.07);
      return a.status === 200 ? a : undefined;
    }, { timeoutMs: 20_000, intervalMs: 100, message: 'refund' });
    expect(done.json).toMatchObject({ value: 10.07, refundId: expect.any(String), requestId: 'R-1' });
    for (const a of first.filter((x) => x.status === 200)) expect(a.json).toEqual(done.json);
    expect(terminalRecords('refund', 1007)).toHaveLength(1);
    expect(terminalRecords('refund', 1007)[0]).toMatchObject({ status: 'approved' });

    const tooMuch = await refund('R-2', 25); // 31.96 settled − 10.07 refunded = 21.89 left
    expect(tooMuch.status).toBe(500);
    expectContract('/payments/{paymentId}/refunds', 'post', 500, tooMuch.json);
    expect(tooMuch.json).toMatchObject({ refundId: null, value: 0 });
    expect(terminalRecords('refund', 2500)).toHaveLength(0);
  });

  it('the 5 s budget holds while the terminal is slow (cents 20), cancel included', async () => {
    const body = paymentBody(20.2);
    const { submitUrl } = appData(await create(body)).payload as { submitUrl: string };
    expect((await submit(submitUrl, serial)).status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const poll = await create(body);
      expect(poll.json['status']).toBe('undefined'); // never denied while unknown
      // Real time on purpose: VTEX's polls against the real stack while its terminal is slow.
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(appData(await create(body)).appName).toBe('vtex.challenge-wait-for-confirmation');
    const inbound = await ppp(`/payments/${body.paymentId}/inbound/status`, {
      requestId: 'IR-1', transactionId: body.transactionId, paymentId: body.paymentId, authorizationId: null, tid: null, nsu: null, requestData: { body: '' },
    });
    expect(inbound.status).toBe(200);
    expectContract('/payments/{paymentId}/inbound/{action}', 'post', 200, inbound.json);
    const req = { paymentId: body.paymentId, requestId: 'C-SLOW', authorizationId: '', transactionId: body.transactionId };
    const cancelled = await waitFor(async () => {
      const a = await ppp(`/payments/${body.paymentId}/cancellations`, req);
      expectContract('/payments/{paymentId}/cancellations', 'post', a.status, a.json);
      return a.status === 200 ? a : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, message: 'cancel of the slow payment' });
    expect(cancelled.json).toMatchObject({ cancellationId: expect.any(String) });
    expect((await create(body)).json).toMatchObject({ status: 'denied' });
  });

  it('every answer came within VTEX\'s 5 s Test Suite budget', () => {
    expect(timings.length).toBeGreaterThan(80);
    expect(timings.filter((t) => t.ms >= BUDGET_MS)).toEqual([]);
  });

  it('callbacks: one per final payment, with the partner credentials, never for a cancelled-before-binding one', () => {
    const byPayment = new Map<string, number>();
    for (const c of callbacks.received) byPayment.set(c.paymentId, (byPayment.get(c.paymentId) ?? 0) + 1);
    expect([...byPayment.values()].every((n) => n === 1)).toBe(true);
    for (const c of callbacks.received) {
      expect(c.headers['x-vtex-api-appkey']).toEqual(expect.any(String));
      expect(c.headers['x-vtex-api-appkey']).not.toBe(ready.appKey); // the partner's, not the merchant's (§3)
      expectContract('/payments', 'post', 200, c.body);
    }
  });
});
