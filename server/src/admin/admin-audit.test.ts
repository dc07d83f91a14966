/**
 * The admin API's audit guarantee (docs/admin-api.md "Audit log"): each action's audit row is
 * written in the store transaction of the action itself. When the store refuses the row (the
 * test hands the real adapter a row it refuses: a time that is not ms since epoch), the action is
 * rolled back and the route answers 503 `STORE_FAILED`; when it takes it, the row holds the
 * actor, reason and outcome the route received, and no secret.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_PASSWORD, startAdminFixture, type AdminFixture } from '../testing/admin-fixture.ts';
import type { NewAuditEntry, PaymentStore } from '../ports/index.ts';

let f: AdminFixture;
beforeAll(async () => {
  f = await startAdminFixture();
});
afterAll(async () => {
  await f.close();
});

type Method = (...args: unknown[]) => Promise<unknown>;
const undo: (() => void)[] = [];
afterEach(() => {
  for (const u of undo.splice(0)) u();
});

const spoil = (a: NewAuditEntry): NewAuditEntry => ({ ...a, at: Number.NaN });

/**
 * Until the test ends, the store's `name` hands the adapter the audit row it was given spoiled
 * (the positional `audit` argument at `index`, or the `audit` field of the first argument).
 */
function refuseAuditOf(store: PaymentStore, name: keyof PaymentStore, index: number | 'field'): void {
  const methods = store as unknown as Record<string, Method>;
  const original = methods[name]!;
  methods[name] = (...args: unknown[]) => {
    const copy = [...args];
    if (index === 'field') {
      const first = copy[0] as { audit?: NewAuditEntry };
      if (first.audit) copy[0] = { ...first, audit: spoil(first.audit) };
    } else if (copy[index] !== undefined) {
      copy[index] = spoil(copy[index] as NewAuditEntry);
    }
    return original(...copy);
  };
  undo.push(() => {
    methods[name] = original;
  });
}

const seqOf = async (): Promise<number> => (await f.store.listAudit(1))[0]?.seq ?? 0;
const newRows = async (since: number) => (await f.store.listAudit(500)).filter((e) => e.seq > since).reverse();

async function login(): Promise<{ cookie: string; csrf: string; res: Awaited<ReturnType<AdminFixture['call']>> }> {
  const res = await f.call('POST', '/admin/v1/session', {}, { name: 'root', password: FIXTURE_PASSWORD });
  const session = res.headers.getSetCookie().find((c) => c.startsWith('posbridge_session='));
  return { cookie: session?.split(';')[0] ?? '', csrf: String(res.json['csrfToken'] ?? ''), res };
}

describe('an action and its audit row commit together', () => {
  it('user.add and user.disable: refused row, no user and no disable (503); then done with the row as asked', async () => {
    const admin = { bearer: f.tokens.admin };
    const since = await seqOf();
    refuseAuditOf(f.store, 'createUser', 1);
    const add = await f.call('POST', '/admin/v1/users', admin, { name: 'olga', password: 'a long enough password', role: 'viewer' });
    expect(add.status).toBe(503);
    expect(add.json['code']).toBe('STORE_FAILED');
    expect(await f.store.findUserByName('olga')).toBeNull();
    undo.splice(0).forEach((u) => u());

    const added = await f.call('POST', '/admin/v1/users', admin, { name: 'olga', password: 'a long enough password', role: 'viewer' });
    expect(added.status).toBe(201);
    const userId = (added.json['user'] as Record<string, unknown>)['userId'] as string;
    refuseAuditOf(f.store, 'disableUser', 2);
    const disable = await f.call('POST', `/admin/v1/users/${userId}/disable`, admin, { reason: 'left the company' });
    expect(disable.status).toBe(503);
    expect((await f.store.getUser(userId))?.disabled).toBe(false);
    undo.splice(0).forEach((u) => u());
    expect((await f.call('POST', `/admin/v1/users/${userId}/disable`, admin, { reason: 'left the company' })).status).toBe(200);

    const rows = await newRows(since);
    expect(rows.map(({ actor, action, target, reason, outcome }) => ({ actor, action, target, reason, outcome }))).toEqual([
      { actor: expect.stringMatching(/^token:tok_/), action: 'user.add', target: 'olga', reason: 'role viewer', outcome: 'ok' },
      { actor: expect.stringMatching(/^token:tok_/), action: 'user.disable', target: 'olga', reason: 'left the company', outcome: 'ok' },
    ]);
    expect(JSON.stringify(rows)).not.toContain('a long enough password');
  });

  it('token.add and token.revoke: refused row, no token and no revocation (503); then done, the row without the secret', async () => {
    const admin = { bearer: f.tokens.admin };
    const since = await seqOf();
    const before = (await f.store.listCredentials('api')).length;
    refuseAuditOf(f.store, 'createCredential', 1);
    const add = await f.call('POST', '/admin/v1/tokens', admin, { label: 'ci deploys', role: 'viewer' });
    expect(add.status).toBe(503);
    expect(await f.store.listCredentials('api')).toHaveLength(before);
    undo.splice(0).forEach((u) => u());

    const made = await f.call('POST', '/admin/v1/tokens', admin, { label: 'ci deploys', role: 'viewer' });
    expect(made.status).toBe(201);
    const credentialId = (made.json['token'] as Record<string, unknown>)['credentialId'] as string;
    const secret = made.json['secret'] as string;
    expect((await f.call('GET', '/admin/v1/session', { bearer: secret })).status).toBe(200);
    refuseAuditOf(f.store, 'revokeCredential', 2);
    expect((await f.call('DELETE', `/admin/v1/tokens/${credentialId}`, admin)).status).toBe(503);
    expect((await f.call('GET', '/admin/v1/session', { bearer: secret })).status).toBe(200);
    undo.splice(0).forEach((u) => u());
    expect((await f.call('DELETE', `/admin/v1/tokens/${credentialId}`, admin)).status).toBe(200);
    expect((await f.call('GET', '/admin/v1/session', { bearer: secret })).status).toBe(401);
    // Revoked already: nothing changes, the attempt has its own row.
    expect((await f.call('DELETE', `/admin/v1/tokens/${credentialId}`, admin)).status).toBe(200);

    const rows = await newRows(since);
    expect(rows.map(({ action, target, reason, outcome }) => ({ action, target, reason, outcome }))).toEqual([
      { action: 'token.add', target: credentialId, reason: 'ci deploys: role viewer', outcome: 'ok' },
      { action: 'token.revoke', target: credentialId, reason: 'ci deploys', outcome: 'ok' },
      { action: 'token.revoke', target: credentialId, reason: 'ci deploys', outcome: 'already revoked' },
    ]);
    expect(JSON.stringify(rows)).not.toContain(secret);
  });

  it('session.login and session.logout: refused row, no session and no logout (503); then done, the row without the cookie', async () => {
    const since = await seqOf();
    const sessions = (await f.store.listCredentials('session')).length;
    refuseAuditOf(f.store, 'createCredential', 1);
    const refused = await login();
    expect(refused.res.status).toBe(503);
    expect(refused.cookie).toBe('');
    expect(await f.store.listCredentials('session')).toHaveLength(sessions);
    undo.splice(0).forEach((u) => u());

    const { cookie, csrf, res } = await login();
    expect(res.status).toBe(200);
    refuseAuditOf(f.store, 'revokeCredential', 2);
    expect((await f.call('DELETE', '/admin/v1/session', { cookie, csrf })).status).toBe(503);
    expect((await f.call('GET', '/admin/v1/session', { cookie })).status).toBe(200);
    undo.splice(0).forEach((u) => u());
    expect((await f.call('DELETE', '/admin/v1/session', { cookie, csrf })).status).toBe(200);
    expect((await f.call('GET', '/admin/v1/session', { cookie })).status).toBe(401);

    const rows = await newRows(since);
    const sessionId = (await f.store.listCredentials('session')).find((c) => c.revokedAt !== null && c.label === 'root')?.credentialId;
    expect(rows.map(({ actor, action, target, outcome }) => ({ actor, action, target, outcome }))).toEqual([
      { actor: 'user:root', action: 'session.login', target: sessionId, outcome: 'ok' },
      { actor: 'user:root', action: 'session.logout', target: sessionId, outcome: 'ok' },
    ]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(cookie.split('=')[1]!);
    expect(text).not.toContain(csrf);
    expect(text).not.toContain(FIXTURE_PASSWORD);
  });

  it('callback.redeliver: refused row, the callback stays as it was (503); then rescheduled with the row, no URL in it', async () => {
    const operator = { bearer: f.tokens.operator };
    const since = await seqOf();
    const path = `/admin/v1/payments/${f.payments.approved}/callbacks/${f.callbackId}/redeliver`;
    const before = await f.store.listCallbacks(f.payments.approved);
    refuseAuditOf(f.store, 'redeliverCallback', 2);
    expect((await f.call('POST', path, operator, { reason: 'gateway is back' })).status).toBe(503);
    expect(await f.store.listCallbacks(f.payments.approved)).toEqual(before);
    undo.splice(0).forEach((u) => u());
    expect((await f.call('POST', path, operator, { reason: 'gateway is back' })).status).toBe(200);

    const rows = await newRows(since);
    expect(rows.map(({ action, target, reason, outcome }) => ({ action, target, reason, outcome }))).toEqual([
      { action: 'callback.redeliver', target: `${f.payments.approved}#${f.callbackId}`, reason: `gateway is back (was ${before[0]!.status} after ${before[0]!.attempts} attempts)`, outcome: 'ok' },
    ]);
    expect(JSON.stringify(rows)).not.toContain(before[0]!.url);
  });

  it('payment.resolve and operation.resolve: refused row, still unknown and no callback (503); then resolved with the row as asked', async () => {
    const operator = { bearer: f.tokens.operator };
    const since = await seqOf();
    const paymentPath = `/admin/v1/payments/${f.payments.unknown}/resolve`;
    const events = await f.store.listPaymentEvents(f.payments.unknown);
    refuseAuditOf(f.store, 'applyTransition', 'field');
    const refused = await f.call('POST', paymentPath, operator, { outcome: 'denied', reason: 'journal shows declined' });
    expect(refused.status).toBe(503);
    expect(refused.json['code']).toBe('STORE_FAILED');
    expect((await f.store.getPayment(f.payments.unknown))?.status).toBe('unknown');
    expect(await f.store.listPaymentEvents(f.payments.unknown)).toEqual(events);
    expect(await f.store.listCallbacks(f.payments.unknown)).toEqual([]);
    undo.splice(0).forEach((u) => u());
    expect((await f.call('POST', paymentPath, operator, { outcome: 'denied', reason: 'journal shows declined' })).status).toBe(200);

    const operationPath = `/admin/v1/operations/${f.unknownRefund}/resolve`;
    refuseAuditOf(f.store, 'resolveUnknownOperation', 'field');
    expect((await f.call('POST', operationPath, operator, { outcome: 'approved', reason: 'portal shows refunded' })).status).toBe(503);
    expect((await f.store.getOperation(f.unknownRefund))?.status).toBe('unknown');
    undo.splice(0).forEach((u) => u());
    expect((await f.call('POST', operationPath, operator, { outcome: 'approved', reason: 'portal shows refunded' })).status).toBe(200);

    const rows = await newRows(since);
    expect(rows.map(({ actor, action, target, reason, outcome }) => ({ actor, action, target, reason, outcome }))).toEqual([
      { actor: expect.stringMatching(/^token:tok_/), action: 'payment.resolve', target: f.payments.unknown, reason: 'denied: journal shows declined', outcome: 'ok' },
      { actor: expect.stringMatching(/^token:tok_/), action: 'operation.resolve', target: f.unknownRefund, reason: 'approved: portal shows refunded', outcome: 'ok' },
    ]);
  });
});
