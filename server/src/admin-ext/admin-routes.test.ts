/**
 * The admin route factories of this folder (pairing codes, token rotation and revocation,
 * totals) on a real SQLite store and loopback HTTP, behind a test authorizer standing in for the
 * admin API's (`x-test-role`, `x-test-merchant` headers): every route refuses a missing
 * credential (401), a weaker role (403) and an out-of-scope merchant (404); every answer is
 * validated against its schema.
 */
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import express, { type Request } from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openSqliteStore } from '../adapters/sqlite/index.ts';
import { loggingAuditSink } from '../enrolment/audit.ts';
import { AgentEnrolment } from '../enrolment/enrolment-service.ts';
import { approvedPayment } from '../ports/contract-helpers.ts';
import type { PaymentStore } from '../ports/index.ts';
import { sinkLogger, tempDir } from '../testing/helpers.ts';
import type { AdminRole, Authorize } from './admin-deps.ts';
import { createPairingRoutes } from './pairing-routes.ts';
import { createTotalsRoutes } from './totals-routes.ts';

const RANK: Record<AdminRole, number> = { viewer: 0, operator: 1, admin: 2 };
/** The stand-in authorizer: role from `x-test-role`, 401 without it, 403 below the role. */
const authorize: Authorize = (role) => (req, res, next) => {
  const held = req.header('x-test-role') as AdminRole | undefined;
  if (held === undefined || !(held in RANK)) return void res.status(401).json({ code: 'ADMIN_UNAUTHENTICATED', message: 'no credentials', retryable: false });
  if (RANK[held] < RANK[role]) return void res.status(403).json({ code: 'ADMIN_FORBIDDEN', message: `needs ${role}`, retryable: false });
  next();
};
const caller = {
  actorOf: (req: Request) => `admin:${req.header('x-test-user') ?? 'someone'}`,
  merchantScopeOf: (req: Request) => req.header('x-test-merchant') ?? null,
};

const ErrorBody = z.strictObject({ code: z.string(), message: z.string(), retryable: z.boolean() });
const CodeBody = z.strictObject({ code: z.string().regex(/^[0-9A-Z]{5}-[0-9A-Z]{5}$/), merchantId: z.string(), storeId: z.string(), agentName: z.string(), expiresAt: z.iso.datetime() });
const TokenBody = z.strictObject({ agentId: z.string(), token: z.string().regex(/^[A-Za-z0-9_-]{43}$/) });
const RevokeBody = z.strictObject({ agentId: z.string(), revoked: z.boolean() });
const TotalsBody = z.strictObject({
  merchantId: z.string(),
  storeId: z.string().nullable(),
  date: z.string(),
  timeZone: z.string(),
  from: z.iso.datetime(),
  to: z.iso.datetime(),
  rows: z.array(
    z.strictObject({
      storeId: z.string(),
      serialNumber: z.string(),
      currency: z.string().length(3),
      method: z.enum(['credit', 'debit']),
      bucket: z.enum(['approved', 'denied', 'voided', 'refunded', 'unknown', 'in_progress']),
      count: z.number().int().nonnegative(),
      amountMinor: z.number().int().nonnegative(),
    }),
  ),
});

let tmp: ReturnType<typeof tempDir>;
let store: PaymentStore;
let server: Server;
let base: string;
let lines: Record<string, unknown>[];
const NOW = Date.UTC(2026, 11, 2, 15);

beforeEach(async () => {
  tmp = tempDir();
  store = await openSqliteStore({ filename: join(tmp.dir, 'admin.sqlite') });
  await store.createMerchant({ merchantId: 'm1', name: 'shop', appKey: 'k1', appTokenSha256: 'a'.repeat(64), callbackMode: 'notification', createdAt: 0 });
  await store.createMerchant({ merchantId: 'm2', name: 'other', appKey: 'k2', appTokenSha256: 'b'.repeat(64), callbackMode: 'notification', createdAt: 0 });
  await store.createStore({ storeId: 's1', merchantId: 'm1', name: 'one', createdAt: 0 });
  await store.createStore({ storeId: 's2', merchantId: 'm2', name: 'two', createdAt: 0 });
  await store.createAgent({ agentId: 'ag1', name: 'a1', createdAt: 0, storeId: 's1' }, 'c'.repeat(64));
  await store.createAgent({ agentId: 'ag2', name: 'a2', createdAt: 0, storeId: 's2' }, 'd'.repeat(64));
  const sink = sinkLogger();
  lines = sink.lines;
  const enrolment = new AgentEnrolment({ store, audit: loggingAuditSink(sink.logger), now: () => NOW });
  const app = express();
  const admin = express.Router();
  admin.use(createPairingRoutes({ enrolment, store, logger: sink.logger, authorize, ...caller }));
  admin.use(createTotalsRoutes({ store, logger: sink.logger, authorize, ...caller }));
  app.use('/admin/v1', admin);
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/v1`;
});
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await store.close();
  tmp.cleanup();
});

async function call(method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${base}${path}`, { method, headers: { 'Content-Type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, json: res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as unknown) : undefined };
}
const admin = { 'x-test-role': 'admin', 'x-test-user': 'ana' };

describe('admin pairing routes', () => {
  const routes: [string, string, unknown][] = [
    ['POST', '/stores/s1/pairing-codes', {}],
    ['POST', '/agents/ag1/token', undefined],
    ['POST', '/agents/ag1/revoke', {}],
  ];

  it.each(routes)('%s %s refuses no credentials (401), a viewer or operator (403), another merchant (404)', async (method, path, body) => {
    expect(ErrorBody.parse((await call(method, path, {}, body)).json)).toMatchObject({ code: 'ADMIN_UNAUTHENTICATED' });
    for (const role of ['viewer', 'operator']) expect((await call(method, path, { 'x-test-role': role }, body)).status).toBe(403);
    const foreign = await call(method, path, { ...admin, 'x-test-merchant': 'm2' }, body);
    expect(foreign.status).toBe(404);
    ErrorBody.parse(foreign.json);
  });

  it('creates a code (shown once, audited with the actor), rotates and revokes, in scope', async () => {
    const created = await call('POST', '/stores/s1/pairing-codes', { ...admin, 'x-test-merchant': 'm1' }, { agentName: 'till 9' });
    expect(created.status).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    const code = CodeBody.parse(created.json);
    expect(code).toMatchObject({ merchantId: 'm1', storeId: 's1', agentName: 'till 9', expiresAt: new Date(NOW + 15 * 60_000).toISOString() });
    expect(lines.find((l) => l['msg'] === 'agent.pair_code.created')).toMatchObject({ actor: 'admin:ana', target: 'store:s1', merchantId: 'm1' });
    expect(JSON.stringify(lines)).not.toContain(code.code.replace('-', ''));

    const rotated = TokenBody.parse((await call('POST', '/agents/ag1/token', admin)).json);
    expect(await store.findAgentByTokenHash('c'.repeat(64))).toBeNull();
    expect(rotated.agentId).toBe('ag1');
    expect(RevokeBody.parse((await call('POST', '/agents/ag1/revoke', admin, { reason: 'stolen' })).json)).toEqual({ agentId: 'ag1', revoked: true });
    expect(RevokeBody.parse((await call('POST', '/agents/ag1/revoke', admin, {})).json)).toEqual({ agentId: 'ag1', revoked: false });
    const again = await call('POST', '/agents/ag1/token', admin);
    expect(again.status).toBe(409);
    expect(ErrorBody.parse(again.json).code).toBe('ADMIN_AGENT_REVOKED');
    expect(lines.filter((l) => l['component'] === 'audit').map((l) => [l['msg'], l['actor']])).toEqual([
      ['agent.pair_code.created', 'admin:ana'],
      ['agent.token.rotated', 'admin:ana'],
      ['agent.revoked', 'admin:ana'],
    ]);
  });

  it('refuses unknown ids, bad bodies and extra fields', async () => {
    expect((await call('POST', '/stores/nope/pairing-codes', admin, {})).status).toBe(404);
    expect((await call('POST', '/agents/ag_nobody/token', admin)).status).toBe(404);
    expect((await call('POST', '/agents/bad%20id/revoke', admin, {})).status).toBe(404);
    const extra = await call('POST', '/stores/s1/pairing-codes', admin, { agentName: 'x', storeId: 's2' });
    expect(extra.status).toBe(400);
    ErrorBody.parse(extra.json);
    expect((await call('POST', '/stores/s1/pairing-codes', admin, { agentName: 'n'.repeat(101) })).status).toBe(400);
    expect((await call('POST', '/agents/ag1/revoke', admin, { reason: '' })).status).toBe(400);
  });
});

describe('admin totals route', () => {
  beforeEach(async () => {
    await approvedPayment(store, { paymentId: 'P1', id: 'pb_p1', merchantId: 'm1', createdAt: Date.UTC(2026, 11, 2, 10) });
  });

  it('refuses no credentials (401), another merchant for a scoped caller (404); a viewer may read', async () => {
    expect((await call('GET', '/totals?merchantId=m1&date=2026-12-02', {})).status).toBe(401);
    const foreign = await call('GET', '/totals?merchantId=m1&date=2026-12-02', { 'x-test-role': 'viewer', 'x-test-merchant': 'm2' });
    expect(foreign.status).toBe(404);
    expect(ErrorBody.parse(foreign.json).code).toBe('ADMIN_MERCHANT_UNKNOWN');
    expect((await call('GET', '/totals?date=2026-12-02', { 'x-test-role': 'viewer', 'x-test-merchant': 'm1' })).status).toBe(200);
  });

  it('answers JSON and CSV', async () => {
    const json = await call('GET', '/totals?merchantId=m1&date=2026-12-02&tz=America/Sao_Paulo', { 'x-test-role': 'viewer' });
    expect(json.status).toBe(200);
    expect(TotalsBody.parse(json.json)).toEqual({
      merchantId: 'm1',
      storeId: null,
      date: '2026-12-02',
      timeZone: 'America/Sao_Paulo',
      from: '2026-12-02T03:00:00.000Z',
      to: '2026-12-03T03:00:00.000Z',
      rows: [{ storeId: 's1', serialNumber: 'SN1', currency: 'BRL', method: 'credit', bucket: 'approved', count: 1, amountMinor: 3190 }],
    });
    const csv = await call('GET', '/totals?merchantId=m1&date=2026-12-02&format=csv', { 'x-test-role': 'viewer' });
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="totals-m1-2026-12-02.csv"');
    expect(csv.text).toBe('date,timeZone,storeId,serialNumber,currency,method,bucket,count,amountMinor\r\n2026-12-02,UTC,s1,SN1,BRL,credit,approved,1,3190\r\n');
    const accept = await call('GET', '/totals?merchantId=m1&date=2026-12-02', { 'x-test-role': 'viewer', Accept: 'text/csv' });
    expect(accept.text.startsWith('date,timeZone')).toBe(true);
  });

  it('refuses a bad query', async () => {
    for (const q of ['date=2026-12-02', 'merchantId=m1', 'merchantId=m1&date=2026-02-30', 'merchantId=m1&date=2026-12-02&tz=Nowhere/Land', 'merchantId=m1&date=2026-12-02&x=1']) {
      const res = await call('GET', `/totals?${q}`, { 'x-test-role': 'viewer' });
      expect(res.status, q).toBe(400);
      ErrorBody.parse(res.json);
    }
  });
});
