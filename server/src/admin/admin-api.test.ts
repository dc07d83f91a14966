/**
 * What the admin API answers (docs/admin-api.md): every answer matches its JSON Schema
 * (docs/admin-api.schema.json) and carries no secret; searches, the timeline, callbacks and
 * their redelivery, the unknown queue and its resolution, listings with presence, users and
 * tokens — each action audited with who, what, target, why and when.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { connectAgent } from '../testing/helpers.ts';
import { expectAdminContract } from '../testing/admin-contract.ts';
import { startAdminFixture, type AdminFixture } from '../testing/admin-fixture.ts';

let f: AdminFixture;
beforeAll(async () => {
  f = await startAdminFixture();
});
afterAll(async () => {
  await f.close();
});

type Row = Record<string, unknown>;
const ids = (json: Row): string[] => (json['payments'] as Row[]).map((p) => p['paymentId'] as string);

describe('payments', () => {
  it('searches by each identifier and by status and time, in bounded pages with a cursor', async () => {
    const get = async (query: string) => {
      const res = await f.call('GET', `/admin/v1/payments${query}`, { bearer: f.tokens.viewer });
      expect(res.status, query).toBe(200);
      expectAdminContract('PaymentPage', res.json);
      return res.json;
    };
    const { approved, unknown, otherUnknown } = f.payments;
    expect(ids(await get(''))).toEqual([otherUnknown, unknown, approved]);
    expect(ids(await get(`?paymentId=${approved}`))).toEqual([approved]);
    expect(ids(await get(`?orderId=ORD-${unknown}`))).toEqual([unknown]);
    expect(ids(await get(`?transactionId=TX-${approved}`))).toEqual([approved]);
    expect(ids(await get(`?tid=pb_${approved}`))).toEqual([approved]);
    expect(ids(await get('?nsu=NSU1&authorizationId=AUTH1'))).toEqual([approved]);
    expect(ids(await get('?serialNumber=SN-A&merchantId=mch_other'))).toEqual([otherUnknown]);
    expect(ids(await get('?status=unknown,reversal_unknown'))).toEqual([otherUnknown, unknown]);
    expect(ids(await get('?storeId=sto_other'))).toEqual([]);
    const created = Date.parse(((await get(`?paymentId=${unknown}`))['payments'] as Row[])[0]!['createdAt'] as string);
    expect(ids(await get(`?from=${new Date(created).toISOString()}&to=${new Date(created + 1).toISOString()}`))).toEqual([unknown]);

    const first = await get('?limit=2');
    expect(ids(first)).toEqual([otherUnknown, unknown]);
    const second = await get(`?limit=2&cursor=${first['next'] as string}`);
    expect(ids(second)).toEqual([approved]);
    expect(second['next']).toBeNull();

    for (const bad of ['?limit=0', '?limit=101', '?status=paid', '?from=yesterday', '?cursor=!!', '?orderId=', '?color=red', `?orderId=${'x'.repeat(129)}`]) {
      const res = await f.call('GET', `/admin/v1/payments${bad}`, { bearer: f.tokens.viewer });
      expect(res.status, bad).toBe(400);
      expectAdminContract('Error', res.json);
      expect(res.json['code']).toBe('ADMIN_INVALID_REQUEST');
    }
  });

  it('shows a payment with its timeline from the event rows, no callback URL query and no card digits but the last four', async () => {
    const res = await f.call('GET', `/admin/v1/payments/${f.payments.approved}`, { bearer: f.tokens.viewer });
    expect(res.status).toBe(200);
    expectAdminContract('PaymentDetail', res.json);
    const payment = res.json['payment'] as Row;
    expect(payment).toMatchObject({ status: 'approved', callbackOrigin: 'http://127.0.0.1:1', outcome: { card: { brand: 'Visa', lastDigits: '1111' } } });
    const text = JSON.stringify(res.json);
    expect(text).not.toContain('411111');
    expect(text).not.toContain('s3cr3t');
    const timeline = res.json['timeline'] as Row[];
    expect(timeline.map((e) => `${e['component'] as string}:${e['event'] as string}`)).toEqual([
      'server:created',
      'server:terminal.bound',
      'server:command.sent',
      'agent:agent.acked',
      'agent:command.acked',
      'server:command.closed',
      'terminal:result.received',
    ]);
    expect(timeline[2]).toMatchObject({ commandId: `st_${f.payments.approved}`, kind: 'start', serialNumber: 'SN-A', attempts: 1 });
    expect(timeline[6]).toMatchObject({ fromStatus: 'accepted', toStatus: 'approved', data: { outcome: 'approved', terminalRef: `r_${f.payments.approved}`, responseCode: '00', amountMinor: 3190 } });
    expect((await f.call('GET', '/admin/v1/payments/NOPE', { bearer: f.tokens.viewer })).status).toBe(404);
  });

  it('lists callbacks and commands, and an operator redelivers a failed callback, audited', async () => {
    const callbacks = await f.call('GET', `/admin/v1/payments/${f.payments.approved}/callbacks`, { bearer: f.tokens.viewer });
    expectAdminContract('Callbacks', callbacks.json);
    expect(callbacks.json['callbacks']).toEqual([expect.objectContaining({ callbackId: f.callbackId, status: 'failed', attempts: 1, origin: 'http://127.0.0.1:1' })]);
    const commands = await f.call('GET', `/admin/v1/payments/${f.payments.approved}/commands`, { bearer: f.tokens.viewer });
    expectAdminContract('Commands', commands.json);
    expect(commands.json['commands']).toEqual([
      expect.objectContaining({ commandId: `st_${f.payments.approved}`, kind: 'start', messageType: 'payment.start', status: 'closed', attempts: 1, closeReason: 'accepted' }),
    ]);
    expect(JSON.stringify(commands.json)).not.toContain('"message"');

    const path = `/admin/v1/payments/${f.payments.approved}/callbacks/${f.callbackId}/redeliver`;
    const noReason = await f.call('POST', path, { bearer: f.tokens.operator }, {});
    expect(noReason.status).toBe(400);
    const wrongPayment = await f.call('POST', `/admin/v1/payments/${f.payments.unknown}/callbacks/${f.callbackId}/redeliver`, { bearer: f.tokens.operator }, { reason: 'x' });
    expect(wrongPayment.status).toBe(404);
    const res = await f.call('POST', path, { bearer: f.tokens.operator }, { reason: 'gateway was down; it is back' });
    expect(res.status).toBe(200);
    expectAdminContract('CallbackOne', res.json);
    // The worker takes it again: one more attempt (it fails again: port 1 still refuses).
    await waitFor(async () => {
      const [c] = await f.store.listCallbacks(f.payments.approved);
      return c?.status === 'failed' && c.attempts === 1 && c.nextAttemptAt > 0 ? c : undefined;
    }, { timeoutMs: 5000, message: 'the redelivered callback was tried again' });
    const [row] = await f.store.listAudit(1);
    expect(row).toMatchObject({
      actor: expect.stringMatching(/^token:tok_/),
      action: 'callback.redeliver',
      target: `${f.payments.approved}#${f.callbackId}`,
      reason: 'gateway was down; it is back (was failed after 1 attempts)',
      outcome: 'ok',
    });
    expect(row!.at).toBeGreaterThan(Date.now() - 60_000);
  });

  it('queues unknown outcomes, and an operator resolves one with a reason, audited, enqueuing its callback', async () => {
    const queue = await f.call('GET', '/admin/v1/unknown', { bearer: f.tokens.viewer });
    expectAdminContract('PaymentPage', queue.json);
    expect(ids(queue.json)).toEqual([f.payments.otherUnknown, f.payments.unknown]);
    const path = `/admin/v1/payments/${f.payments.unknown}/resolve`;
    expect((await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'approved' })).status).toBe(400);
    expect((await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'denied', reason: '  ' })).status).toBe(400);
    expect((await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'denied', reason: 'r', authorizationId: 'A' })).status).toBe(400);
    const res = await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'approved', reason: 'receipt 0042 shows approved', authorizationId: 'RCPT42' });
    expect(res.status).toBe(200);
    expectAdminContract('PaymentOne', res.json);
    expect(res.json['payment']).toMatchObject({ status: 'approved', outcome: { authorizationId: 'RCPT42' } });
    expect((await f.store.listCallbacks(f.payments.unknown)).length).toBe(1);
    const events = await f.store.listPaymentEvents(f.payments.unknown);
    expect(events.at(-1)).toMatchObject({ type: 'operator.resolved', data: expect.objectContaining({ operator: expect.stringMatching(/^token:tok_/) }) });
    expect((await f.store.listAudit(1))[0]).toMatchObject({ action: 'payment.resolve', target: f.payments.unknown, reason: 'approved: receipt 0042 shows approved', outcome: 'ok' });

    const again = await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'denied', reason: 'twice' });
    expect(again.status).toBe(409);
    expectAdminContract('Error', again.json);
    expect(again.json['code']).toBe('ADMIN_RESOLVE_REFUSED');
    expect((await f.store.listAudit(1))[0]).toMatchObject({ action: 'payment.resolve', outcome: 'ADMIN_RESOLVE_REFUSED' });
    expect(ids((await f.call('GET', '/admin/v1/unknown', { bearer: f.tokens.viewer })).json)).toEqual([f.payments.otherUnknown]);
  });
});

describe('operations', () => {
  it('lists a payment’s operations and the unknown refunds; an operator resolves one with a reason, audited', async () => {
    const ops = await f.call('GET', `/admin/v1/payments/${f.payments.approved}/operations`, { bearer: f.tokens.viewer });
    expect(ops.status).toBe(200);
    expectAdminContract('Operations', ops.json);
    expect((ops.json['operations'] as Row[]).map((o) => `${o['operationId'] as string}:${o['kind'] as string}:${o['status'] as string}`)).toEqual([
      `${f.unknownRefund}:refund:unknown`,
      'se_fixture:settle:approved',
    ]);
    const queue = await f.call('GET', '/admin/v1/unknown-operations?limit=10', { bearer: f.tokens.viewer });
    expectAdminContract('Operations', queue.json);
    expect((queue.json['operations'] as Row[]).map((o) => o['operationId'])).toEqual([f.unknownRefund]);
    const path = `/admin/v1/operations/${f.unknownRefund}/resolve`;
    expect((await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'approved' })).status).toBe(400);
    expect((await f.call('POST', '/admin/v1/operations/op_none/resolve', { bearer: f.tokens.operator }, { outcome: 'approved', reason: 'x' })).status).toBe(404);
    const res = await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'denied', reason: 'terminal journal shows no refund' });
    expect(res.status).toBe(200);
    expectAdminContract('OperationOne', res.json);
    expect(res.json['operation']).toMatchObject({ operationId: f.unknownRefund, status: 'denied' });
    expect((await f.store.listAudit(1))[0]).toMatchObject({ action: 'operation.resolve', target: f.unknownRefund, reason: 'denied: terminal journal shows no refund', outcome: 'ok' });
    const again = await f.call('POST', path, { bearer: f.tokens.operator }, { outcome: 'approved', reason: 'twice' });
    expect(again.status).toBe(409);
    expect((await f.store.listAudit(1))[0]).toMatchObject({ action: 'operation.resolve', outcome: 'ADMIN_RESOLVE_REFUSED' });
    expect((await f.call('GET', '/admin/v1/unknown-operations', { bearer: f.tokens.viewer })).json).toEqual({ operations: [] });
  });
});

describe('directory', () => {
  it('lists merchants, stores, terminals and agents with presence, version and last seen, no secrets', async () => {
    const { token } = await f.t.server.issueAgentToken('caixa-1');
    const agent = await connectAgent(f.url, token);
    try {
      await agent.hello(['SN-LIVE']);
      const agents = await waitFor(async () => {
        const res = await f.call('GET', '/admin/v1/agents', { bearer: f.tokens.viewer });
        const row = (res.json['agents'] as Row[]).find((a) => a['name'] === 'caixa-1');
        return row?.['agentVersion'] === 'test/1' ? res : undefined;
      }, { timeoutMs: 3000, message: 'the agent hello recorded' });
      expectAdminContract('Agents', agents.json);
      expect((agents.json['agents'] as Row[]).find((a) => a['name'] === 'caixa-1')).toMatchObject({ online: true, serialNumbers: ['SN-LIVE'], storeId: 'sto_bootstrap' });
      const terminals = await f.call('GET', '/admin/v1/terminals', { bearer: f.tokens.viewer });
      expectAdminContract('Terminals', terminals.json);
      expect(terminals.json['terminals']).toEqual([expect.objectContaining({ serialNumber: 'SN-LIVE', online: true, agentName: 'caixa-1' })]);
      await agent.close();
      await waitFor(async () => {
        const res = await f.call('GET', '/admin/v1/terminals', { bearer: f.tokens.viewer });
        return (res.json['terminals'] as Row[])[0]?.['online'] === false;
      }, { timeoutMs: 3000, message: 'the terminal offline' });
    } finally {
      await agent.close();
    }
    const merchants = await f.call('GET', '/admin/v1/merchants', { bearer: f.tokens.viewer });
    expectAdminContract('Merchants', merchants.json);
    expect((merchants.json['merchants'] as Row[]).map((m) => m['merchantId'])).toEqual(expect.arrayContaining(['mch_bootstrap', 'mch_other']));
    const stores = await f.call('GET', '/admin/v1/stores', { bearer: f.tokens.viewer });
    expectAdminContract('Stores', stores.json);
  });
});

describe('users, tokens and the audit log', () => {
  it('an admin adds a user and a token, revokes it, disables the user — each audited; a token never outranks its maker', async () => {
    const admin = { bearer: f.tokens.admin };
    const weak = await f.call('POST', '/admin/v1/users', admin, { name: 'carla', password: 'short', role: 'operator' });
    expect(weak.status).toBe(400);
    // `user:<name>` is the operator recorded on a resolution, bounded at 64 characters.
    expect((await f.call('POST', '/admin/v1/users', admin, { name: 'n'.repeat(60), password: 'a long enough password', role: 'viewer' })).status).toBe(400);
    expect((await f.call('POST', '/admin/v1/users', admin, { name: 'n'.repeat(59), password: 'a long enough password', role: 'viewer' })).status).toBe(201);
    const added = await f.call('POST', '/admin/v1/users', admin, { name: 'carla', password: 'a long enough password', role: 'operator', merchantId: 'mch_other' });
    expect(added.status).toBe(201);
    expectAdminContract('UserOne', added.json);
    expect((await f.call('POST', '/admin/v1/users', admin, { name: 'carla', password: 'a long enough password', role: 'viewer' })).status).toBe(400);
    const users = await f.call('GET', '/admin/v1/users', admin);
    expectAdminContract('Users', users.json);
    const carla = (users.json['users'] as Row[]).find((u) => u['name'] === 'carla')!;
    expect(carla).toMatchObject({ role: 'operator', merchantId: 'mch_other', disabled: false });

    const login = await f.call('POST', '/admin/v1/session', {}, { name: 'carla', password: 'a long enough password' });
    expect(login.status).toBe(200);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('posbridge_session='))!.split(';')[0]!;
    const seen = await f.call('GET', '/admin/v1/payments', { cookie });
    expect(ids(seen.json)).toEqual([f.payments.otherUnknown]);
    expect((await f.call('POST', '/admin/v1/tokens', { cookie, csrf: login.json['csrfToken'] as string }, { label: 'x', role: 'viewer' })).status).toBe(403);

    const issued = await f.call('POST', '/admin/v1/tokens', admin, { label: 'nightly export', role: 'viewer', expiresInDays: 30 });
    expect(issued.status).toBe(201);
    expectAdminContract('TokenIssued', issued.json);
    const secret = issued.json['secret'] as string;
    const credentialId = (issued.json['token'] as Row)['credentialId'] as string;
    expect((await f.call('GET', '/admin/v1/session', { bearer: secret })).status).toBe(200);
    const list = await f.call('GET', '/admin/v1/tokens', admin);
    expectAdminContract('Tokens', list.json);
    expect(JSON.stringify(list.json)).not.toContain(secret);
    const revoked = await f.call('DELETE', `/admin/v1/tokens/${credentialId}`, admin);
    expect(revoked.status).toBe(200);
    expectAdminContract('TokenOne', revoked.json);
    expect((await f.call('GET', '/admin/v1/session', { bearer: secret })).status).toBe(401);

    const disabled = await f.call('POST', `/admin/v1/users/${carla['userId'] as string}/disable`, admin, { reason: 'left the company' });
    expect(disabled.status).toBe(200);
    expectAdminContract('UserOne', disabled.json);
    expect((await f.call('GET', '/admin/v1/payments', { cookie })).status).toBe(401);
    expect((await f.call('POST', '/admin/v1/session', {}, { name: 'carla', password: 'a long enough password' })).status).toBe(401);

    const audit = await f.call('GET', '/admin/v1/audit?limit=20', admin);
    expectAdminContract('Audit', audit.json);
    const actions = (audit.json['entries'] as Row[]).map((e) => `${e['action'] as string} ${e['target'] as string} ${e['outcome'] as string}`);
    expect(actions).toEqual(expect.arrayContaining(['user.add carla ok', `token.add ${credentialId} ok`, `token.revoke ${credentialId} ok`, 'user.disable carla ok']));
    expect((audit.json['entries'] as Row[]).find((e) => e['action'] === 'user.disable')).toMatchObject({ reason: 'left the company', actor: expect.stringMatching(/^token:/) });
  });

  it('serves a plain placeholder at /console/ that says the UI is not built', async () => {
    const res = await fetch(`${f.url}/console/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await res.text()).toContain('The console UI is not built yet');
    expect((await fetch(`${f.url}/console`, { redirect: 'manual' })).status).toBe(301);
    expect((await f.call('GET', '/admin/v1/nothing-here', { bearer: f.tokens.viewer })).status).toBe(404);
  });
});
