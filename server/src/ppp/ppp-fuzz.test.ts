/**
 * Property tests of the PPP routes over real HTTP (issue 7, fuzzing): valid Create Payment,
 * cancellation, settlement, refund and inbound requests are mutated (fields dropped, wrong
 * types, huge and unicode strings, nested junk, unknown keys, broken JSON bytes, odd content
 * types and charsets) and sent to the real server on 127.0.0.1. Whatever arrives:
 *
 * - the server answers (never crashes, never hangs), with a JSON body;
 * - a client error is a 4xx with the PPP error shape `{status:"error", code, message}`, and a
 *   body that does not match the route's schema is 400 `PPP_INVALID_REQUEST` whose message names
 *   the first offending field (malformed JSON: 400 `PPP_MALFORMED_JSON`);
 * - a 5xx is only ever one of the documented follow-up answers for a well-formed request
 *   (`PPP_NOT_APPROVED`, `PPP_PAYMENT_NOT_FOUND`, … with PPP's operation body), never
 *   `PPP_INTERNAL`;
 * - `/healthz` is still 200 afterwards and an ordinary Create Payment still works.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ERROR_CODES } from '@posbridge/protocol/errors';
import {
  CancelPaymentRequestSchema,
  CreatePaymentRequestSchema,
  InboundRequestSchema,
  RefundPaymentRequestSchema,
  SettlePaymentRequestSchema,
} from '@posbridge/protocol/ppp';
import { AUTH_HEADERS, createPaymentBody, startTestServer, type TestServer } from '../testing/helpers.ts';

const PAYMENT = 'FUZZP1';

/** One route under test: a valid body and the schema the server validates it with. */
interface Route {
  name: string;
  path: string;
  schema: z.ZodType;
  valid: Record<string, unknown>;
  /** Codes a well-formed request may legitimately get with a 5xx (PPP follow-up semantics). */
  documented5xx: readonly string[];
}

const ROUTES: Route[] = [
  {
    name: 'Create Payment',
    path: '/payments',
    schema: CreatePaymentRequestSchema,
    valid: createPaymentBody({ paymentId: PAYMENT }),
    documented5xx: [],
  },
  {
    name: 'cancellation',
    path: `/payments/${PAYMENT}/cancellations`,
    schema: CancelPaymentRequestSchema,
    valid: { paymentId: PAYMENT, requestId: 'R-cancel', authorizationId: null, transactionId: 'TX1', sandboxMode: false },
    documented5xx: ['PPP_OPERATION_PENDING', 'PPP_PAYMENT_NOT_FOUND'],
  },
  {
    name: 'settlement',
    path: `/payments/${PAYMENT}/settlements`,
    schema: SettlePaymentRequestSchema,
    valid: { transactionId: 'TX1', requestId: 'R-settle', paymentId: PAYMENT, value: 31.9, authorizationId: null, recipients: null },
    documented5xx: ['PPP_NOT_APPROVED', 'PPP_AMOUNT_EXCEEDED', 'PPP_PAYMENT_NOT_FOUND', 'PPP_PAYMENT_CANCELLED'],
  },
  {
    name: 'refund',
    path: `/payments/${PAYMENT}/refunds`,
    schema: RefundPaymentRequestSchema,
    valid: { requestId: 'R-refund', settleId: null, paymentId: PAYMENT, tid: null, value: 10, transactionId: 'TX1', recipients: null },
    documented5xx: ['PPP_NOT_APPROVED', 'PPP_AMOUNT_EXCEEDED', 'PPP_PAYMENT_NOT_FOUND', 'PPP_PAYMENT_CANCELLED', 'PPP_TERMINAL_BUSY'],
  },
  {
    name: 'inbound',
    path: `/payments/${PAYMENT}/inbound/status`,
    schema: InboundRequestSchema,
    valid: { requestId: 'R-inbound', transactionId: 'TX1', paymentId: PAYMENT, authorizationId: null, tid: null, nsu: null, requestData: { body: '{}' } },
    documented5xx: [],
  },
];

/** Junk values: wrong types, huge and unicode strings, nested structures, extreme numbers. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, -0.01, 1e308, -1e308, 2 ** 53 + 1, '', ' ', '0', 'null', '{}', '[]'),
  fc.string({ maxLength: 40, unit: 'grapheme' }),
  fc.string({ maxLength: 20, unit: 'binary' }),
  fc.constantFrom('x'.repeat(10_000), '💳'.repeat(2_000), '\u0000\u202e\ufeff', 'Ünïcödé ✓ 支付 مدفوعات'),
  fc.double(),
  fc.integer(),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 5 }),
  fc.jsonValue({ maxDepth: 6 }),
);

type Mutation =
  | { kind: 'drop'; key: number }
  | { kind: 'replace'; key: number; value: unknown }
  | { kind: 'add'; key: string; value: unknown }
  | { kind: 'nest-junk'; key: number; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), key: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), key: fc.nat(), value: junk }),
  fc.record({ kind: fc.constant('add' as const), key: fc.string({ maxLength: 12 }), value: junk }),
  fc.record({ kind: fc.constant('nest-junk' as const), key: fc.nat(), value: junk }),
);

/** Applies mutations to a copy of `body` (keys picked by index among the current keys). */
function mutate(body: Record<string, unknown>, mutations: Mutation[]): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(body);
  for (const m of mutations) {
    const keys = Object.keys(out);
    const key = m.kind === 'add' ? m.key : keys[m.key % Math.max(1, keys.length)];
    if (key === undefined || key === '__proto__') continue;
    if (m.kind === 'drop') delete out[key];
    else if (m.kind === 'nest-junk') out[key] = { [key]: [m.value, { deeper: m.value }] };
    else out[key] = m.value;
  }
  return out;
}

/** Byte-level damage to a JSON text. */
const byteDamage = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('replace-all' as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
);

type ByteDamage = typeof byteDamage extends fc.Arbitrary<infer T> ? T : never;

/** The JSON text of a valid body with byte-level damage. */
function damage(text: string, d: ByteDamage): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  switch (d.kind) {
    case 'truncate':
      return bytes.subarray(0, d.at % (bytes.length + 1));
    case 'insert': {
      const at = d.at % (bytes.length + 1);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(d.bytes), bytes.subarray(at)]);
    }
    case 'overwrite': {
      const copy = Buffer.from(bytes);
      copy[d.at % copy.length] = d.byte;
      return copy;
    }
    case 'replace-all':
      return Buffer.from(d.bytes);
  }
}

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json; charset=klingon',
  'multipart/form-data; boundary=x',
  '',
);

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  const first = await t.createPayment(createPaymentBody({ paymentId: PAYMENT }));
  expect(first.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
});

interface Answer {
  status: number;
  contentType: string;
  json: unknown;
  text: string;
}

async function send(path: string, body: Uint8Array | string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${t.server.url}${path}`, { method: 'POST', headers: { ...AUTH_HEADERS, ...headers }, body, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', json, text };
}

/** What every answer must satisfy, whatever was sent. */
function expectWellBehaved(route: Route, a: Answer): void {
  expect(a.contentType, `${route.name}: ${a.status} ${a.text.slice(0, 200)}`).toMatch(/^application\/json/);
  expect(a.json, a.text.slice(0, 200)).toBeDefined();
  const body = a.json as Record<string, unknown>;
  if (a.status >= 400 && a.status < 500) {
    expect(body).toEqual({ status: 'error', code: expect.any(String), message: expect.any(String) });
    expect(Object.keys(ERROR_CODES)).toContain(body['code']);
    expect(String(body['message']).length).toBeGreaterThan(0);
  }
  if (a.status >= 500) {
    // Only PPP's documented follow-up failures, never an unexpected one.
    expect(body['code'], `${route.name}: unexpected ${a.status} ${a.text.slice(0, 300)}`).not.toBe('PPP_INTERNAL');
    const code = String(body['code'] ?? '');
    if (a.status === 500) expect(route.documented5xx, `${route.name}: ${a.text.slice(0, 300)}`).toContain(code);
    else expect(a.status, `${route.name}: ${a.text.slice(0, 300)}`).toBe(501);
  }
}

/** Checks the answer to a parsed-but-mutated body against the route's schema. */
function expectSchemaVerdict(route: Route, sent: unknown, a: Answer): void {
  expectWellBehaved(route, a);
  const parsed = route.schema.safeParse(sent);
  if (!parsed.success) {
    expect(a.status, `${route.name}: invalid body answered ${a.status} ${a.text.slice(0, 200)}`).toBe(400);
    const body = a.json as { code: string; message: string };
    expect(body.code).toBe('PPP_INVALID_REQUEST');
    const first = parsed.error.issues[0]!;
    const named = first.path.map(String).join('.') || '(body)';
    expect(body.message, `message should name ${named}`).toContain(`${named}:`);
  }
}

const RUNS = 200;

describe('PPP routes under mutated requests (real HTTP)', () => {
  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: field mutations get a clear 4xx or a documented answer', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), async (mutations, fresh) => {
        // `fresh` keeps Create Payment's idempotency key new, so the schema verdict is not masked
        // by PPP_PAYMENT_MISMATCH against the stored payment.
        const base = fresh && route.name === 'Create Payment' ? { ...route.valid, paymentId: `F${Math.random().toString(36).slice(2, 12)}` } : route.valid;
        const text = JSON.stringify(mutate(base, mutations));
        const a = await send(route.path, text, { 'Content-Type': 'application/json' });
        // Judge what went over the wire: JSON turns Infinity and NaN into null, drops undefined.
        expectSchemaVerdict(route, JSON.parse(text), a);
      }),
      { numRuns: RUNS },
    );
  });

  it.each(ROUTES.map((r) => [r.name, r] as const))('%s: broken JSON bytes and odd content types never crash it', async (_name, route) => {
    await fc.assert(
      fc.asyncProperty(byteDamage, contentType, async (d, type) => {
        const bytes = damage(JSON.stringify(route.valid), d);
        const a = await send(route.path, bytes, type === '' ? {} : { 'Content-Type': type });
        expectWellBehaved(route, a);
        let parsed: unknown;
        let parses: boolean;
        try {
          parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
          parses = typeof parsed === 'object' && parsed !== null;
        } catch {
          parses = false;
        }
        if (!parses && !/charset=(latin1|utf-16|klingon)/.test(type)) {
          expect(a.status, `${a.text.slice(0, 200)}`).toBe(400);
          expect((a.json as { code: string }).code).toMatch(/^PPP_(MALFORMED_JSON|INVALID_REQUEST)$/);
        }
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it('whole bodies of junk JSON (arrays, scalars, deep nesting) get 400', async () => {
    const deep = JSON.stringify(Array.from({ length: 2000 }).reduce<unknown>((acc) => ({ a: acc }), 1));
    for (const route of ROUTES) {
      for (const text of ['null', '42', '"payment"', '[]', '[{}]', 'true', deep, `[${'['.repeat(5000)}${']'.repeat(5000)}]`]) {
        const a = await send(route.path, text, { 'Content-Type': 'application/json' });
        expectWellBehaved(route, a);
        expect(a.status, `${route.name} ${text.slice(0, 20)}: ${a.text.slice(0, 200)}`).toBe(400);
      }
    }
  });

  it('a body over the size limit is 413 PPP_BODY_TOO_LARGE', async () => {
    const a = await send('/payments', JSON.stringify({ ...createPaymentBody(), junk: 'x'.repeat(300_000) }), { 'Content-Type': 'application/json' });
    expect(a.status).toBe(413);
    expect(a.json).toMatchObject({ status: 'error', code: 'PPP_BODY_TOO_LARGE' });
  });

  it('stays healthy afterwards: /healthz 200 and an ordinary payment is created', async () => {
    const health = await fetch(`${t.server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', instanceId: expect.any(String) });
    const ok = await t.createPayment(createPaymentBody({ paymentId: 'FUZZ-AFTER' }));
    expect(ok.status).toBe(200);
    expect(ok.json['status']).toBe('undefined');
    expect(t.lines.filter((l) => l['msg'] === 'request failed')).toEqual([]);
  });
});
