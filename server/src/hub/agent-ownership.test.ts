/**
 * Terminal ownership and agent trust on the real server (HTTP on port 0, SQLite on disk) with
 * agents over real WebSockets: who may announce a serial (docs/protocol/ws.md "Terminal
 * ownership"), the registration limits, and which session may report what ("Who may report what").
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  PROTOCOL_VERSION,
  REHELLO_MIN_INTERVAL_MS,
  type AnnouncedTerminal,
  type OperationResult,
  type PaymentResult,
  type ServerMessage,
} from '@posbridge/protocol/ws';
import { hashAppToken } from '../ppp/auth.ts';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  type TestAgent,
  type TestServer,
  isServerMessage,
} from '../testing/helpers.ts';
import { waitFor } from '@posbridge/testkit';

type Welcome = Extract<ServerMessage, { type: 'hub.welcome' }>;
type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type OpStart = Extract<ServerMessage, { type: 'operation.start' }>;
type ErrorMsg = Extract<ServerMessage, { type: 'error' }>;
const isWelcome = isServerMessage('hub.welcome');
const isStart = isServerMessage('payment.start');
const isOp = isServerMessage('operation.start');
const isError = isServerMessage('error');
const isAck = isServerMessage('ack');
/** What a hijacker must never receive. */
const isCommand = (m: ServerMessage) => m.type === 'payment.start' || m.type === 'payment.abort' || m.type === 'operation.start';

let t: TestServer & { dir: string };
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
const agents: TestAgent[] = [];

beforeEach(async () => {
  t = await startTestServer();
  receiver = await startCallbackReceiver();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await t.close();
  await receiver.close();
});

async function agent(token: string): Promise<TestAgent> {
  const a = await connectAgent(t.server.url, token);
  agents.push(a);
  return a;
}

/** Sends `agent.hello` with these terminals and waits for the `n`-th welcome. */
async function hello(a: TestAgent, terminals: (string | AnnouncedTerminal)[], n = 1): Promise<Welcome> {
  a.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'agent.hello',
    agentVersion: 'test/1',
    terminals: terminals.map((x) => (typeof x === 'string' ? { serialNumber: x, dialect: 'PBL/1' } : x)),
  });
  return a.waitForMessage(isWelcome, n);
}

/**
 * Waits until `a`'s session has handled every frame sent before: frames are handled one at a time
 * in order, so the answer to a probe frame (a bad one: an error) comes after theirs.
 */
async function handled(a: TestAgent): Promise<void> {
  const errors = a.messages.filter(isError).length;
  a.sendRaw('probe: not json');
  await a.waitForMessage(isError, errors + 1);
}

/** A second merchant with a default store; returns an agent token of that store. */
async function otherMerchantAgent(name: string): Promise<{ token: string; agentId: string }> {
  await t.server.store.createMerchant({
    merchantId: `mch_${name}`,
    name,
    appKey: `${name}-key`,
    appTokenSha256: hashAppToken(`${name}-token`),
    callbackMode: 'notification',
    createdAt: 1,
  });
  await t.server.store.createStore({ storeId: `sto_${name}`, merchantId: `mch_${name}`, name: 'default', createdAt: 1 });
  return t.server.issueAgentToken(`${name}-desk`, `sto_${name}`);
}

async function createPayment(paymentId: string): Promise<string> {
  const res = await t.createPayment(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` }));
  expect(res.status).toBe(200);
  return (JSON.parse((res.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string }).submitUrl;
}

async function submit(submitUrl: string, serialNumber: string): Promise<number> {
  const res = await fetch(submitUrl, { method: 'POST', body: JSON.stringify({ serialNumber }), headers: { 'Content-Type': 'application/json' } });
  return res.status;
}

function result(paymentId: string, overrides: Partial<PaymentResult> = {}): PaymentResult {
  return {
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'payment.result',
    paymentId,
    outcome: 'approved',
    amount: { amountMinor: 3190, currency: 'BRL' },
    terminalRef: `ref-${paymentId}`,
    authorizationId: 'AUTH1',
    responseCode: '00',
    ...overrides,
  };
}

function opResult(op: OpStart, authorizationId: string): OperationResult {
  return {
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'operation.result',
    operationId: op.operationId,
    paymentId: op.paymentId,
    kind: op.kind,
    outcome: 'approved',
    amount: op.amount,
    terminalRef: 'op-ref',
    authorizationId,
  };
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Proves the hub's delivery made `passes` more passes over `a`'s session: a probe payment of
 * `merchant` (null = the bootstrap merchant; else the name given to {@link otherMerchantAgent}) is
 * bound to `serial`, a terminal of that session, and left unacknowledged until its start has come
 * `passes` more times, then acknowledged. Every pass lists what is due on all the session's
 * terminals, so anything else due to it would have been sent in those passes.
 * @returns a filter that drops the probe's starts from a list of messages.
 */
async function resendPasses(a: TestAgent, merchant: string | null, serial: string, paymentId: string, passes = 3): Promise<(m: ServerMessage) => boolean> {
  const headers = merchant === null ? AUTH_HEADERS : { 'X-VTEX-API-AppKey': `${merchant}-key`, 'X-VTEX-API-AppToken': `${merchant}-token` };
  const res = await fetch(`${t.server.url}/payments`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}`, ...(merchant === null ? {} : { merchantName: merchant }) })),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { paymentAppData: { payload: string } };
  expect(await submit((JSON.parse(json.paymentAppData.payload) as { submitUrl: string }).submitUrl, serial)).toBe(200);
  const isProbe = (m: ServerMessage): m is Start => isStart(m) && m.paymentId === paymentId;
  const first = await a.waitForMessage(isProbe);
  await a.waitForMessage(isProbe, 1 + passes);
  a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: first.id });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: `${paymentId} accepted` });
  return (m) => !isProbe(m);
}

async function metric(name: string): Promise<string[]> {
  const text = await (await fetch(`${t.server.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

describe('terminal ownership', () => {
  it("another merchant's agent announcing a registered serial is refused, even with the owner offline and after a restart; nothing is sent to it", async () => {
    const victim = await t.server.issueAgentToken('victim-desk');
    const v = await agent(victim.token);
    expect((await hello(v, ['SN1'])).accepted).toEqual(['SN1']);
    expect(await submit(await createPayment('PAY1'), 'SN1')).toBe(200);
    await v.waitForMessage(isStart);
    await v.close();
    await waitFor(() => t.lines.some((l) => l['msg'] === 'agent disconnected'), { timeoutMs: 5000, message: 'victim gone' });

    const hijacker = await otherMerchantAgent('evil');
    const offline = await agent(hijacker.token);
    const refusedLive = await hello(offline, ['SN1', 'EVIL1']);
    expect(refusedLive.accepted).toEqual(['EVIL1']);
    expect(refusedLive.refused).toEqual([{ serialNumber: 'SN1', code: 'WS_SERIAL_FOREIGN', message: expect.any(String) }]);
    expect(t.lines.find((l) => l['msg'] === 'terminal of another merchant announced; refused')).toMatchObject({
      level: 40,
      serialNumber: 'SN1',
      agentId: hijacker.agentId,
      merchantId: 'mch_evil',
      ownerAgentId: victim.agentId,
      ownerMerchantId: 'mch_bootstrap',
    });
    await offline.close();

    // Routes live in memory: after a restart the store alone must say who owns SN1.
    const dir = t.dir;
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    await t.server.close();
    t = await startTestServer({}, dir);
    const h = await agent(hijacker.token);
    // SNE, a terminal of the hijacker's own, carries the probe.
    expect((await hello(h, ['SN1', 'SNE'])).refused).toMatchObject([{ serialNumber: 'SN1', code: 'WS_SERIAL_FOREIGN' }]);
    const notProbe = await resendPasses(h, 'evil', 'SNE', 'PROBE-EVIL');
    expect(h.messages.filter(isCommand).filter(notProbe)).toEqual([]);
    expect(await t.server.store.findTerminal('SN1')).toMatchObject({ agentId: victim.agentId });
    expect((await t.server.store.listTerminalEvents('SN1')).map((e) => e.type)).toEqual(['registered']);

    // The real agent comes back: it is accepted and gets its payment.
    const back = await agent(victim.token);
    expect((await hello(back, ['SN1'])).accepted).toEqual(['SN1']);
    expect((await back.waitForMessage(isStart)).paymentId).toBe('PAY1');
  });

  it('moves inside a store only when the old session is gone and the serial was read from the device', async () => {
    // The server's clock runs ahead on demand (the repeated hello must come a second later).
    let ahead = 0;
    await t.close();
    t = await startTestServer({}, undefined, { now: () => Date.now() + ahead });
    const one = await t.server.issueAgentToken('till-1');
    const two = await t.server.issueAgentToken('till-2');
    const a = await agent(one.token);
    await hello(a, ['SN1']);
    // A sale bound to till-1, not yet acknowledged by it.
    expect(await submit(await createPayment('PAY8'), 'SN1')).toBe(200);
    await a.waitForMessage(isStart);
    const b = await agent(two.token);
    const device: AnnouncedTerminal = { serialNumber: 'SN1', dialect: 'PBL/1', serialSource: 'device' };
    expect((await hello(b, [device])).refused).toMatchObject([{ serialNumber: 'SN1', code: 'WS_SERIAL_CLAIMED' }]);
    await a.close();
    await waitFor(() => t.lines.some((l) => l['msg'] === 'agent disconnected'), { timeoutMs: 5000, message: 'till-1 gone' });

    const c = await agent(two.token);
    // A configured serial (Concert E+ cannot tell its own) is not proof enough.
    const configured = await hello(c, [{ serialNumber: 'SN1', dialect: 'concert-e+', serialSource: 'config' }]);
    expect(configured.refused).toMatchObject([{ serialNumber: 'SN1', code: 'WS_SERIAL_UNCONFIRMED' }]);
    expect(await t.server.store.findTerminal('SN1')).toMatchObject({ agentId: one.agentId });
    // The same connection announces again (no sooner than a second later) with the serial read from the device.
    ahead += REHELLO_MIN_INTERVAL_MS;
    const confirmed = await hello(c, [device], 2);
    expect(confirmed).toMatchObject({ accepted: ['SN1'], refused: [] });
    expect(await t.server.store.findTerminal('SN1')).toMatchObject({ agentId: two.agentId });
    expect(await t.server.store.listTerminalEvents('SN1')).toMatchObject([
      { type: 'registered', toAgentId: one.agentId },
      { type: 'moved', fromAgentId: one.agentId, toAgentId: two.agentId, actor: 'hub' },
    ]);
    expect(await submit(await createPayment('PAY2'), 'SN1')).toBe(200);
    expect((await c.waitForMessage(isStart)).paymentId).toBe('PAY2');
    // PAY8 stays with till-1: till-2's reports for it would be refused, so it is never sent to till-2
    // (the delivery decides so once and passes the row for that session).
    const passed = await waitFor(() => t.lines.find((l) => l['msg'] === 'command for a payment bound to another agent not sent'), {
      timeoutMs: 5000,
      message: 'PAY8 passed for till-2',
    });
    expect(passed).toMatchObject({ paymentId: 'PAY8', agentId: two.agentId });
    expect(new Set(c.messages.filter(isStart).map((m) => m.paymentId))).toEqual(new Set(['PAY2']));
  });

  it('an administrator move takes effect at once: the old agent gets nothing more, the new one gets the terminal', async () => {
    const one = await t.server.issueAgentToken('till-1');
    const evil = await otherMerchantAgent('evil');
    const a = await agent(one.token);
    await hello(a, ['SN1', 'SN5']); // SN5 carries the probe
    // What `posbridge-server terminal move SN1 --agent <evil> --reason …` does, while till-1 is connected.
    expect(
      await t.server.store.moveTerminal({ serialNumber: 'SN1', fromAgentId: one.agentId, toAgentId: evil.agentId, actor: 'cli:ops', reason: 'sold', at: 2 }),
    ).toBe(true);
    const submitUrl = await createPayment('PAY9');
    expect(await submit(submitUrl, 'SN1')).toBe(404); // now another merchant's terminal
    const b = await agent(evil.token);
    expect((await hello(b, [{ serialNumber: 'SN1', dialect: 'concert-e+' }])).accepted).toEqual(['SN1']);
    const notProbe = await resendPasses(a, null, 'SN5', 'PROBE9');
    expect(a.messages.filter(isCommand).filter(notProbe)).toEqual([]);
  });

  it('an administrator move stops the repeats already going to the old agent: it cannot take a sale it would charge unreported', async () => {
    const one = await t.server.issueAgentToken('till-1');
    const two = await t.server.issueAgentToken('till-2');
    const a = await agent(one.token);
    await hello(a, ['SN1']);
    expect(await submit(await createPayment('PAYR1'), 'SN1')).toBe(200);
    const first = await a.waitForMessage(isStart);
    // Not acknowledged yet (a slow agent): the hub repeats it. Then the terminal is moved away.
    expect(
      await t.server.store.moveTerminal({ serialNumber: 'SN1', fromAgentId: one.agentId, toAgentId: two.agentId, actor: 'cli:ops', reason: 'new till', at: 2 }),
    ).toBe(true);
    const copies = a.messages.filter(isStart).length;
    // The next delivery pass sees the move and stops the repeats for this session.
    await waitFor(() => t.lines.some((l) => l['msg'] === 'repeats stopped: the terminal moved to another agent' && l['serialNumber'] === 'SN1' && l['agentId'] === one.agentId), {
      timeoutMs: 5000,
      message: 'repeats stopped',
    });
    expect(a.messages.filter(isStart).length).toBe(copies);
    // Its late ack changes nothing.
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: first.id });
    await handled(a);
    expect((await t.server.store.getPayment('PAYR1'))?.status).not.toBe('accepted');
  });

  it('a terminal an administrator moves away and back gets what is owed again, on the session that stayed connected', async () => {
    const one = await t.server.issueAgentToken('till-1');
    const two = await t.server.issueAgentToken('till-2');
    const a = await agent(one.token);
    await hello(a, ['SN1']);
    expect(await submit(await createPayment('PAYB1'), 'SN1')).toBe(200);
    const first = await a.waitForMessage(isStart);
    // Not acknowledged (the agent could not journal it yet); moved away while it is repeated.
    expect(
      await t.server.store.moveTerminal({ serialNumber: 'SN1', fromAgentId: one.agentId, toAgentId: two.agentId, actor: 'cli:ops', reason: 'mistake', at: 2 }),
    ).toBe(true);
    await new Promise((r) => setTimeout(r, 350)); // > 3 dispatch resend intervals: the repeats stop
    const copies = a.messages.filter(isStart).length;
    // The administrator moves it back; till-1 never disconnected.
    expect(
      await t.server.store.moveTerminal({ serialNumber: 'SN1', fromAgentId: two.agentId, toAgentId: one.agentId, actor: 'cli:ops', reason: 'undo', at: 3 }),
    ).toBe(true);
    const again = await a.waitForMessage(isStart, copies + 1, 2000);
    expect(again.id).toBe(first.id);
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: first.id });
    await waitFor(async () => (await t.server.store.getPayment('PAYB1'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
  });

  it('refuses malformed serials and more than the configured number of terminals, storing none of them', async () => {
    await t.close();
    t = await startTestServer({ POSBRIDGE_MAX_TERMINALS_PER_AGENT: '2' });
    const { token } = await t.server.issueAgentToken('big-store');
    const a = await agent(token);
    const long = 'A'.repeat(33);
    const welcome = await hello(a, ['SN1', '-dash', long, 'SN2', 'SN3']);
    expect(welcome.accepted).toEqual(['SN1', 'SN2']);
    expect(welcome.refused).toEqual([
      { serialNumber: '-dash', code: 'WS_SERIAL_INVALID', message: expect.any(String) },
      { serialNumber: long, code: 'WS_SERIAL_INVALID', message: expect.any(String) },
      { serialNumber: 'SN3', code: 'WS_TERMINAL_LIMIT', message: expect.stringContaining('2') },
    ]);
    for (const serial of ['-dash', long, 'SN3']) expect(await t.server.store.findTerminal(serial)).toBeNull();
    expect((await t.server.store.listTerminals()).map((x) => x.serialNumber)).toEqual(['SN1', 'SN2']);
  });

  it('refuses serials in the virtual terminals\' VT- namespace (Test Suite mode), in any case', async () => {
    const { token } = await t.server.issueAgentToken('big-store');
    const a = await agent(token);
    const welcome = await hello(a, ['VT-m1', 'vt-m1', 'SN7']);
    expect(welcome.accepted).toEqual(['SN7']);
    expect(welcome.refused).toEqual([
      { serialNumber: 'VT-m1', code: 'WS_SERIAL_INVALID', message: expect.stringContaining('reserved') },
      { serialNumber: 'vt-m1', code: 'WS_SERIAL_INVALID', message: expect.stringContaining('reserved') },
    ]);
    for (const serial of ['VT-m1', 'vt-m1']) expect(await t.server.store.findTerminal(serial)).toBeNull();
  });
});

describe('the terminal limit', () => {
  it("never refuses a terminal the agent already owns in favour of a new one: its sale's result is still taken", async () => {
    await t.close();
    t = await startTestServer({ POSBRIDGE_MAX_TERMINALS_PER_AGENT: '2' });
    const { token } = await t.server.issueAgentToken('big-store');
    const a = await agent(token);
    expect((await hello(a, ['SN1', 'SN2'])).accepted).toEqual(['SN1', 'SN2']);
    expect(await submit(await createPayment('PAYL1'), 'SN2')).toBe(200);
    const start = await a.waitForMessage(isStart);
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    await waitFor(async () => (await t.server.store.getPayment('PAYL1'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    await a.close();
    // The agent restarts with a new terminal configured first.
    const b = await agent(token);
    const welcome = await hello(b, ['SN3', 'SN1', 'SN2']);
    expect(welcome.accepted).toEqual(expect.arrayContaining(['SN1', 'SN2']));
    expect(welcome.refused).toMatchObject([{ serialNumber: 'SN3', code: 'WS_TERMINAL_LIMIT' }]);
    expect(await t.server.store.findTerminal('SN3')).toBeNull();
    const done = result('PAYL1');
    b.send(done);
    await b.waitForMessage((m): m is Extract<ServerMessage, { type: 'ack' }> => isAck(m) && m.ackOf === done.id);
    expect(await t.server.store.getPayment('PAYL1')).toMatchObject({ status: 'approved' });
  });
});

describe('agent reports are bound to their sender', () => {
  it('refuses acks, progress, results and refund results from a session that was not sent the command or does not own the terminal', async () => {
    const owner = await t.server.issueAgentToken('owner-desk');
    const a = await agent(owner.token);
    await hello(a, ['SN1']);
    const evil = await otherMerchantAgent('evil');
    const h = await agent(evil.token);
    await hello(h, ['EVIL1']);

    expect(await submit(await createPayment('PAY3'), 'SN1')).toBe(200);
    const start = await a.waitForMessage(isStart);
    // Forged ack, progress and result from the other session: refused, nothing changes.
    const forgedAck = { v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id } as const;
    h.send(forgedAck);
    expect((await h.waitForMessage(isError)).code).toBe('WS_REPORT_REFUSED');
    h.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'payment.progress', paymentId: 'PAY3', stage: 'pin' });
    const forgedResult = result('PAY3', { authorizationId: 'FORGED' });
    h.send(forgedResult);
    const refused = await h.waitForMessage(isError, 3);
    expect(refused).toMatchObject({ code: 'WS_REPORT_REFUSED', ref: forgedResult.id, retryable: false });
    expect(h.messages.filter(isAck)).toEqual([]);
    const p = await t.server.store.getPayment('PAY3');
    expect(p).toMatchObject({ status: 'dispatched', progressStage: null });

    // The real agent completes the sale; the merchant settles; VTEX asks for a refund.
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    await waitFor(async () => (await t.server.store.getPayment('PAY3'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    a.send(result('PAY3'));
    await waitFor(async () => (await t.server.store.getPayment('PAY3'))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    expect((await post('/payments/PAY3/settlements', { paymentId: 'PAY3', requestId: 'S1', value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' })).status).toBe(200);
    const refund = post('/payments/PAY3/refunds', { paymentId: 'PAY3', requestId: 'F1', value: 10, settleId: 'se', tid: 'pb', transactionId: 'TX1' });
    const op = await a.waitForMessage(isOp);
    expect(op.kind).toBe('refund');
    // The hijacker forges "refund approved" (it learned or guessed the operationId).
    const forgedRefund = opResult(op, 'FORGED-AUTH');
    h.send(forgedRefund);
    await h.waitForMessage((m): m is ErrorMsg => isError(m) && m.ref === forgedRefund.id);
    const answer = await refund;
    expect(answer.status).toBe(500);
    expect(answer.json).toMatchObject({ code: 'PPP_OPERATION_PENDING', refundId: null });
    expect(await t.server.store.getOperation(op.operationId)).toMatchObject({ status: 'pending', authorizationId: null });

    // The real agent's answer is taken.
    a.send(opResult(op, 'REAL-AUTH'));
    await waitFor(async () => (await t.server.store.getOperation(op.operationId))?.status === 'approved', { timeoutMs: 5000, message: 'refund approved' });
    expect(await t.server.store.getOperation(op.operationId)).toMatchObject({ authorizationId: 'REAL-AUTH' });

    const warned = t.lines.filter((l) => l['msg'] === 'agent report refused');
    expect(warned.map((l) => [l['type'], l['reason']])).toEqual([
      ['ack', 'wrong_session'],
      ['payment.progress', 'wrong_agent'],
      ['payment.result', 'wrong_agent'],
      ['operation.result', 'not_owner'],
    ]);
    expect(warned[0]).toMatchObject({ level: 40, agentId: evil.agentId });
    expect(await metric('posbridge_agent_reports_refused_total{')).toEqual(
      expect.arrayContaining([
        'posbridge_agent_reports_refused_total{reason="wrong_session",type="ack"} 1',
        'posbridge_agent_reports_refused_total{reason="wrong_agent",type="payment.result"} 1',
        'posbridge_agent_reports_refused_total{reason="not_owner",type="operation.result"} 1',
      ]),
    );
  });
});

describe('payments of a terminal that moved to another agent of its store', () => {
  const device: AnnouncedTerminal = { serialNumber: 'SN1', dialect: 'PBL/1', serialSource: 'device' };
  const cancelBody = (paymentId: string, requestId: string) => ({ paymentId, requestId, authorizationId: 'AUTH1', transactionId: 'TX1' });

  /** PAY bound to till-1 on SN1 (acknowledged; `approve`: approved), till-1 gone, SN1 moved to till-2. */
  async function movedAfter(paymentId: string, approve: boolean): Promise<{ b: TestAgent; oneId: string; twoId: string }> {
    const one = await t.server.issueAgentToken('till-1');
    const two = await t.server.issueAgentToken('till-2');
    const a = await agent(one.token);
    await hello(a, ['SN1']);
    expect(await submit(await createPayment(paymentId), 'SN1')).toBe(200);
    const start = await a.waitForMessage(isStart);
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    if (approve) {
      a.send(result(paymentId));
      await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    }
    await a.close();
    await waitFor(() => t.lines.some((l) => l['msg'] === 'agent disconnected'), { timeoutMs: 5000, message: 'till-1 gone' });
    const b = await agent(two.token);
    expect((await hello(b, [device])).accepted).toEqual(['SN1']);
    return { b, oneId: one.agentId, twoId: two.agentId };
  }

  it("an approved payment is reversed by the terminal's new agent when VTEX cancels it, never left reversing", async () => {
    const { b } = await movedAfter('PAYM1', true);
    const cancel = post('/payments/PAYM1/cancellations', cancelBody('PAYM1', 'C1'));
    const op = await b.waitForMessage(isOp, 1, 3000);
    expect(op).toMatchObject({ kind: 'void', paymentId: 'PAYM1', serialNumber: 'SN1', originalTerminalRef: 'ref-PAYM1' });
    b.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: op.id });
    b.send(opResult(op, 'VOID-AUTH'));
    const answer = await cancel;
    expect(answer).toMatchObject({ status: 200, json: { code: null } });
    expect(await t.server.store.getPayment('PAYM1')).toMatchObject({ status: 'cancelled' });
  });

  it('a sale in flight when its terminal moved becomes unknown (flagged, resolvable), never stuck aborting', async () => {
    const { b } = await movedAfter('PAYM2', false);
    const answer = await post('/payments/PAYM2/cancellations', cancelBody('PAYM2', 'C2'));
    // till-2 never ran PAYM2 and cannot learn its outcome; till-1 no longer owns SN1.
    expect(b.messages.filter(isCommand)).toEqual([]);
    expect(answer).toMatchObject({ status: 500, json: { code: 'PPP_OUTCOME_UNKNOWN' } });
    expect(await t.server.store.getPayment('PAYM2')).toMatchObject({ status: 'unknown', endReason: 'cancelled' });
    expect(t.lines.find((l) => l['msg'] === 'payment outcome unknown; resolve it with posbridge-server payment resolve')).toMatchObject({
      level: 50,
      paymentId: 'PAYM2',
    });
    const resolved = await t.server.service.resolveUnknown('PAYM2', { outcome: 'denied', reason: 'not on the terminal journal', operator: 'ops' });
    expect(resolved.status).toBe('cancelled');
  });

  it('a refund or void is never sent to an agent of another merchant the terminal was moved to', async () => {
    const one = await t.server.issueAgentToken('till-1');
    const a = await agent(one.token);
    await hello(a, ['SN1']);
    expect(await submit(await createPayment('PAYM3'), 'SN1')).toBe(200);
    const start = await a.waitForMessage(isStart);
    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    a.send(result('PAYM3'));
    await waitFor(async () => (await t.server.store.getPayment('PAYM3'))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    expect((await post('/payments/PAYM3/settlements', { paymentId: 'PAYM3', requestId: 'S1', value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' })).status).toBe(200);
    await a.close();
    await waitFor(() => t.lines.some((l) => l['msg'] === 'agent disconnected'), { timeoutMs: 5000, message: 'till-1 gone' });
    // The terminal was sold: an administrator moved it to another merchant's agent.
    const evil = await otherMerchantAgent('evil');
    expect(
      await t.server.store.moveTerminal({ serialNumber: 'SN1', fromAgentId: one.agentId, toAgentId: evil.agentId, actor: 'cli:ops', reason: 'sold', at: 2 }),
    ).toBe(true);
    const h = await agent(evil.token);
    expect((await hello(h, ['SN1'])).accepted).toEqual(['SN1']);
    const refund = await post('/payments/PAYM3/refunds', { paymentId: 'PAYM3', requestId: 'F1', value: 10, settleId: 'se', tid: 'pb', transactionId: 'TX1' });
    expect(refund).toMatchObject({ status: 501, json: { code: 'refund-manually' } });
    // A sale of evil's own on SN1 proves the delivery passes over h's session that would carry it.
    const notProbe = await resendPasses(h, 'evil', 'SN1', 'PROBE-EVIL');
    expect(h.messages.filter(isCommand).filter(notProbe)).toEqual([]);
  });
});
