/**
 * Who may call the admin API (docs/admin-api.md "Authentication", "Roles"): every route refuses
 * missing, malformed, wrong, revoked and expired credentials (401), too weak a role (403) and a
 * merchant scope that does not cover the object (404, or 403 when the scope is named); a
 * cookie session's changes need its CSRF token; logins are limited per source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdminRole } from '../ports/index.ts';
import { expectAdminContract } from '../testing/admin-contract.ts';
import { FIXTURE_PASSWORD, startAdminFixture, type AdminFixture } from '../testing/admin-fixture.ts';

let f: AdminFixture;
beforeAll(async () => {
  f = await startAdminFixture();
});
afterAll(async () => {
  await f.close();
});

/** Every admin route (after login), with the weakest role that may call it and whether it names one payment of the bootstrap merchant. */
function routes(): { method: string; path: string; role: AdminRole; payment: boolean; body?: unknown }[] {
  const p = f.payments.approved;
  return [
    { method: 'GET', path: '/admin/v1/session', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/payments', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/unknown', role: 'viewer', payment: false },
    { method: 'GET', path: `/admin/v1/payments/${p}`, role: 'viewer', payment: true },
    { method: 'GET', path: `/admin/v1/payments/${p}/callbacks`, role: 'viewer', payment: true },
    { method: 'GET', path: `/admin/v1/payments/${p}/commands`, role: 'viewer', payment: true },
    { method: 'POST', path: `/admin/v1/payments/${p}/callbacks/${f.callbackId}/redeliver`, role: 'operator', payment: true, body: { reason: 'table' } },
    { method: 'POST', path: `/admin/v1/payments/${f.payments.unknown}/resolve`, role: 'operator', payment: true, body: { outcome: 'denied', reason: 'table' } },
    { method: 'GET', path: `/admin/v1/payments/${p}/operations`, role: 'viewer', payment: true },
    { method: 'GET', path: '/admin/v1/unknown-operations', role: 'viewer', payment: false },
    { method: 'POST', path: `/admin/v1/operations/${f.unknownRefund}/resolve`, role: 'operator', payment: true, body: { outcome: 'denied', reason: 'table' } },
    { method: 'GET', path: '/admin/v1/merchants', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/stores', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/terminals', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/agents', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/giftcards?merchant=shop&profile=p1', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/giftcards/gc_none?merchant=shop', role: 'viewer', payment: false },
    { method: 'GET', path: '/admin/v1/users', role: 'admin', payment: false },
    { method: 'POST', path: '/admin/v1/users', role: 'admin', payment: false, body: { name: 'table-user', password: 'x', role: 'viewer' } },
    { method: 'POST', path: '/admin/v1/users/usr_vera/disable', role: 'admin', payment: false, body: {} },
    { method: 'GET', path: '/admin/v1/tokens', role: 'admin', payment: false },
    { method: 'POST', path: '/admin/v1/tokens', role: 'admin', payment: false, body: {} },
    { method: 'DELETE', path: '/admin/v1/tokens/tok_none', role: 'admin', payment: false },
    { method: 'GET', path: '/admin/v1/audit', role: 'admin', payment: false },
    { method: 'DELETE', path: '/admin/v1/session', role: 'viewer', payment: false },
  ];
}

const BAD: [string, () => { bearer?: string; cookie?: string }][] = [
  ['no credentials', () => ({})],
  ['a malformed bearer', () => ({ bearer: 'not a token!' })],
  ['an unknown token', () => ({ bearer: `pbk_${'A'.repeat(43)}` })],
  ['a revoked token', () => ({ bearer: f.tokens.revoked })],
  ['an expired token', () => ({ bearer: f.tokens.expired })],
  ['an unknown session cookie', () => ({ cookie: `posbridge_session=pbs_${'B'.repeat(43)}` })],
  ['an API token sent as the session cookie', () => ({ cookie: `posbridge_session=${f.tokens.admin}` })],
];

describe('admin API authentication', () => {
  it('refuses missing, malformed, unknown, revoked and expired credentials on every route (401), changing nothing', async () => {
    const before = await f.store.listAudit(500);
    for (const r of routes()) {
      for (const [what, auth] of BAD) {
        const res = await f.call(r.method, r.path, auth(), r.body);
        expect(res.status, `${r.method} ${r.path} with ${what}`).toBe(401);
        expectAdminContract('Error', res.json);
        expect(res.json['code']).toBe('ADMIN_UNAUTHORIZED');
      }
    }
    expect(await f.store.listAudit(500)).toEqual(before);
    expect((await f.store.getPayment(f.payments.unknown))?.status).toBe('unknown');
  });

  it('refuses a role below the route’s on every route (403): a viewer cannot resolve or redeliver, an operator cannot add users', async () => {
    const weaker: Record<AdminRole, AdminRole[]> = { viewer: [], operator: ['viewer'], admin: ['viewer', 'operator'] };
    let checked = 0;
    for (const r of routes()) {
      for (const role of weaker[r.role]) {
        const res = await f.call(r.method, r.path, { bearer: f.tokens[role as 'viewer' | 'operator'] }, r.body);
        expect(res.status, `${r.method} ${r.path} as ${role}`).toBe(403);
        expectAdminContract('Error', res.json);
        expect(res.json['code']).toBe('ADMIN_FORBIDDEN');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
    expect((await f.store.getPayment(f.payments.unknown))?.status).toBe('unknown');
    expect((await f.store.getOperation(f.unknownRefund))?.status).toBe('unknown');
    expect(await f.store.findUserByName('table-user')).toBeNull();
  });

  it('answers a payment outside the credentials’ merchant scope 404, on every payment route, and a named other merchant 403', async () => {
    for (const r of routes().filter((x) => x.payment)) {
      const res = await f.call(r.method, r.path, { bearer: f.tokens.otherOperator }, r.body);
      expect(res.status, `${r.method} ${r.path} out of scope`).toBe(404);
      expect(res.json['code']).toBe('ADMIN_NOT_FOUND');
    }
    const named = await f.call('GET', '/admin/v1/payments?merchantId=mch_bootstrap', { bearer: f.tokens.otherOperator });
    expect(named.status).toBe(403);
    const own = await f.call('GET', '/admin/v1/payments', { bearer: f.tokens.otherOperator });
    expect((own.json['payments'] as { paymentId: string }[]).map((p) => p.paymentId)).toEqual([f.payments.otherUnknown]);
    const refunds = await f.call('GET', '/admin/v1/unknown-operations', { bearer: f.tokens.otherOperator });
    expect(refunds.json).toEqual({ operations: [] });
    const unknown = await f.call('GET', '/admin/v1/unknown', { bearer: f.tokens.otherOperator });
    expect((unknown.json['payments'] as { paymentId: string }[]).map((p) => p.paymentId)).toEqual([f.payments.otherUnknown]);
    for (const path of ['/admin/v1/merchants', '/admin/v1/stores']) {
      const res = await f.call('GET', path, { bearer: f.tokens.otherOperator });
      const rows = Object.values(res.json)[0] as { merchantId: string }[];
      expect(rows.map((x) => x.merchantId)).toEqual(['mch_other']);
    }
    // A scoped admin cannot read the audit log (it covers every merchant), nor make an unscoped token.
    expect((await f.call('GET', '/admin/v1/audit', { bearer: f.tokens.otherAdmin })).status).toBe(403);
    expect((await f.call('POST', '/admin/v1/tokens', { bearer: f.tokens.otherAdmin }, { label: 'x', role: 'viewer', merchantId: 'mch_bootstrap' })).status).toBe(403);
    expect((await f.call('POST', '/admin/v1/users/usr_vera/disable', { bearer: f.tokens.otherAdmin }, { reason: 'scope' })).status).toBe(404);
    expect((await f.store.getUser('usr_vera'))?.disabled).toBe(false);
  });
});

describe('console sessions', () => {
  const login = async (name: string, password: string) => f.call('POST', '/admin/v1/session', {}, { name, password });

  it('logs in with a secure HttpOnly SameSite=Strict cookie and a CSRF token; changes need that token', async () => {
    const stale = { credentialId: 'ses_stale', kind: 'session' as const, secretSha256: '9'.repeat(64), label: 'vera', userId: 'usr_vera', role: 'viewer' as const, merchantId: null, createdAt: 1, expiresAt: 2, revokedAt: null };
    await f.store.createCredential(stale);
    const res = await login('root', FIXTURE_PASSWORD);
    expect(await f.store.findCredentialByHash(stale.secretSha256)).toBeNull(); // sessions long over are pruned at login
    expect(res.status).toBe(200);
    expectAdminContract('Login', res.json);
    const cookies = res.headers.getSetCookie();
    const session = cookies.find((c) => c.startsWith('posbridge_session='))!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Strict/i);
    expect(session).toMatch(/Path=\/admin\/v1/);
    expect(session).not.toMatch(/Secure/); // plain HTTP, no proxy configured
    expect(cookies.find((c) => c.startsWith('posbridge_csrf='))).not.toMatch(/HttpOnly/i);
    const cookie = session.split(';')[0]!;
    const csrf = res.json['csrfToken'] as string;

    const me = await f.call('GET', '/admin/v1/session', { cookie });
    expect(me.json).toEqual({ principal: expect.objectContaining({ actor: 'user:root', role: 'admin', kind: 'session' }) });
    expectAdminContract('Principal', me.json);

    const body = { label: 'from the console', role: 'viewer' };
    for (const sent of [undefined, 'wrong', `${csrf}x`]) {
      const refused = await f.call('POST', '/admin/v1/tokens', { cookie, ...(sent === undefined ? {} : { csrf: sent }) }, body);
      expect(refused.status).toBe(403);
      expect(refused.json['code']).toBe('ADMIN_CSRF_REFUSED');
    }
    expect((await f.store.listCredentials('api')).some((c) => c.label === 'from the console')).toBe(false);
    const made = await f.call('POST', '/admin/v1/tokens', { cookie, csrf }, body);
    expect(made.status).toBe(201);
    expectAdminContract('TokenIssued', made.json);

    const out = await f.call('DELETE', '/admin/v1/session', { cookie, csrf });
    expect(out.status).toBe(200);
    expectAdminContract('LoggedOut', out.json);
    expect((await f.call('GET', '/admin/v1/session', { cookie })).status).toBe(401);
    const audit = (await f.store.listAudit(20)).map((e) => `${e.actor} ${e.action} ${e.outcome}`);
    expect(audit).toEqual(expect.arrayContaining(['user:root session.login ok', 'user:root token.add ok', 'user:root session.logout ok']));
  });

  it('refuses a wrong password, an unknown name and a disabled user alike (401), audited', async () => {
    for (const [name, password] of [['root', 'wrong password!'], ['nobody', FIXTURE_PASSWORD]] as const) {
      const res = await login(name, password);
      expect(res.status).toBe(401);
      expect(res.json['message']).toBe('wrong user name or password');
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    expect((await f.store.listAudit(5)).map((e) => `${e.action} ${e.target} ${e.outcome}`)).toEqual(
      expect.arrayContaining(['session.login root ADMIN_UNAUTHORIZED', 'session.login nobody ADMIN_UNAUTHORIZED']),
    );
    expect((await login('root', '')).status).toBe(400);
  });
});

describe('login rate limit and secure cookies', () => {
  it('limits failed logins per source (429), then even the right password waits', async () => {
    const g = await startAdminFixture({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await g.call('POST', '/admin/v1/session', {}, { name: 'root', password: `guess ${i} guess` })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const right = await g.call('POST', '/admin/v1/session', {}, { name: 'root', password: FIXTURE_PASSWORD });
      expect(right.status).toBe(429);
      expect(right.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await g.call('GET', '/admin/v1/session', { bearer: g.tokens.viewer })).status).toBe(429);
    } finally {
      await g.close();
    }
  });

  it('counts guesses only: requests with no credentials (a console page checking its session) never lock a source out', async () => {
    const g = await startAdminFixture({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    try {
      const bare: number[] = [];
      for (let i = 0; i < 6; i++) bare.push((await g.call('GET', '/admin/v1/session', {})).status);
      expect(bare).toEqual([401, 401, 401, 401, 401, 401]);
      expect((await g.call('GET', '/admin/v1/session', { bearer: g.tokens.viewer })).status).toBe(200);
      // A secret that matches nothing is a guess: it counts.
      const guesses: number[] = [];
      for (let i = 0; i < 4; i++) guesses.push((await g.call('GET', '/admin/v1/session', { bearer: `pbk_${'x'.repeat(40)}${i}` })).status);
      expect(guesses).toEqual([401, 401, 401, 429]);
    } finally {
      await g.close();
    }
  });

  it('marks cookies Secure behind a configured proxy', async () => {
    const g = await startAdminFixture({ POSBRIDGE_TRUST_PROXY: 'loopback' });
    try {
      const res = await g.call('POST', '/admin/v1/session', {}, { name: 'root', password: FIXTURE_PASSWORD });
      expect(res.headers.getSetCookie().every((c) => /;\s*Secure/i.test(c))).toBe(true);
    } finally {
      await g.close();
    }
  });
});
