/**
 * The enrolment and totals routes mounted in the real admin API (`/admin/v1`, API tokens of the
 * admin module) on a real server: role and scope refusals come from the admin API's own
 * authentication, the actor recorded is the token's, and each action lands in the admin audit log.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueApiToken } from '../admin/credentials.ts';
import type { AdminRole } from '../ports/admin.ts';
import { startTestServer, type TestServer } from '../testing/helpers.ts';

let t: TestServer;
beforeEach(async () => {
  t = await startTestServer();
  await t.server.store.createMerchant({ merchantId: 'mch_other', name: 'other', appKey: 'k-other', appTokenSha256: 'a'.repeat(64), callbackMode: 'notification', createdAt: 0 });
});
afterEach(async () => {
  await t.close();
});

const token = async (role: AdminRole, merchantId: string | null = null) =>
  (await issueApiToken(t.server.store, { label: `${role} test`, role, merchantId, userId: null, now: Date.now(), expiresAt: null })).token;

async function call(method: string, path: string, bearer?: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.server.url}/admin/v1${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(bearer === undefined ? {} : { Authorization: `Bearer ${bearer}` }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('admin API extensions', () => {
  it('pairing codes, rotation and revocation need admin; scoped callers see only their merchant; all audited', async () => {
    expect((await call('POST', '/stores/sto_bootstrap/pairing-codes', undefined, {})).status).toBe(401);
    expect((await call('POST', '/stores/sto_bootstrap/pairing-codes', await token('operator'), {})).status).toBe(403);
    expect((await call('POST', '/stores/sto_bootstrap/pairing-codes', await token('admin', 'mch_other'), {})).status).toBe(404);
    const admin = await token('admin');
    const created = await call('POST', '/stores/sto_bootstrap/pairing-codes', admin, { agentName: 'till 4' });
    expect(created.status).toBe(201);
    const paired = await t.server.enrolment.pair(String(created.json['code']), '127.0.0.1');
    expect((await call('POST', `/agents/${paired.agentId}/token`, await token('viewer'))).status).toBe(403);
    expect((await call('POST', `/agents/${paired.agentId}/token`, admin)).status).toBe(200);
    expect((await call('POST', `/agents/${paired.agentId}/revoke`, admin, { reason: 'lost' })).json).toEqual({ agentId: paired.agentId, revoked: true });
    const audit = await t.server.store.listAudit(20);
    expect(audit.map((a) => [a.action, a.actor.startsWith('token:'), a.outcome])).toEqual(
      expect.arrayContaining([
        ['agent.pair_code.created', true, 'ok'],
        ['agent.paired', false, 'ok'],
        ['agent.token.rotated', true, 'ok'],
        ['agent.revoked', true, 'ok'],
      ]),
    );
    expect(audit.find((a) => a.action === 'agent.revoked')?.reason).toBe('lost');
  });

  it('totals need viewer, and a scoped viewer only its merchant', async () => {
    expect((await call('GET', '/totals?merchantId=mch_bootstrap&date=2026-12-02')).status).toBe(401);
    const ok = await call('GET', '/totals?merchantId=mch_bootstrap&date=2026-12-02', await token('viewer'));
    expect(ok).toMatchObject({ status: 200, json: { merchantId: 'mch_bootstrap', rows: [] } });
    expect((await call('GET', '/totals?merchantId=mch_bootstrap&date=2026-12-02', await token('viewer', 'mch_other'))).status).toBe(404);
  });
});
