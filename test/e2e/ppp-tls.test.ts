/**
 * HTTPS end to end: the server serves PPP on HTTPS with a certificate signed by a private CA
 * (made here with openssl), the terminal agent reaches the hub over `wss://` and verifies that
 * certificate with `POSBRIDGE_SERVER_CA_FILE`, and one payment goes through VTEX → server →
 * agent → simulated terminal and back. Without the CA (or with the wrong one) the agent is
 * refused: a clear "server certificate not trusted" error in its logs, retried with backoff,
 * never connected. `posbridge-agent doctor`'s server check honours the CA the same way.
 * @see docs/ppp.md "HTTPS and proxies", terminal-agent/README.md (caFile)
 * @requires-program openssl
 */
import { request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from '@posbridge/hardware-sim';
import { loadServerConfig, startServer, type RunningServer } from '@posbridge/server';
import { defaultDoctorDeps, loadAgentConfig, runDoctor, startAgent, type RunningAgent } from '@posbridge/terminal-agent';
import { createTestPki, type TestPki, buildCreatePayment, startCallbackReceiver, waitFor, type CallbackReceiver } from '@posbridge/testkit';

function collectingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}


describe('HTTPS and wss:// with a private CA', () => {
  let pki: TestPki;
  let dir: string;
  let server: RunningServer;
  let sim: RunningSim;
  let receiver: CallbackReceiver;
  const appKey = 'vtexappkey-tls';
  const appToken = 'tls-merchant-secret-0123456789';
  const serverLogs = collectingLogger();
  const agents: RunningAgent[] = [];

  beforeAll(async () => {
    pki = createTestPki();
    dir = mkdtempSync(join(tmpdir(), 'posbridge-tls-e2e-'));
    receiver = await startCallbackReceiver();
    // No POSBRIDGE_PUBLIC_URL: the server builds https://127.0.0.1:<port>, a name the certificate carries.
    server = await startServer({
      config: loadServerConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        POSBRIDGE_DB: join(dir, 'db.sqlite'),
        POSBRIDGE_APP_KEY: appKey,
        POSBRIDGE_APP_TOKEN: appToken,
        POSBRIDGE_CALLBACK_APP_KEY: 'partner',
        POSBRIDGE_CALLBACK_APP_TOKEN: 'partner-secret',
        POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1', // the test's callback receiver
        POSBRIDGE_TLS_CERT_FILE: pki.certFile,
        POSBRIDGE_TLS_KEY_FILE: pki.keyFile,
      }),
      logger: serverLogs.logger,
    });
    sim = await startSim({ terminals: [{ serialNumber: 'TLS0001' }, { serialNumber: 'TLS0002' }, { serialNumber: 'TLS0003' }], logger: pino({ level: 'silent' }), dir, stepDelayMs: 5 });
  });

  afterAll(async () => {
    for (const a of agents) await a.close();
    await sim?.close();
    await server?.close();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    pki?.cleanup();
  });

  /** Starts an agent on simulated terminal `index` (one agent per terminal) with `env` on top of the basics. */
  async function agentWith(index: number, env: Record<string, string>, logger: Logger): Promise<RunningAgent> {
    const terminal = sim.terminals[index]!;
    const { token } = await server.issueAgentToken(`tls-${agents.length}`);
    const config = loadAgentConfig({
      POSBRIDGE_SERVER_URL: `wss://127.0.0.1:${server.port}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: terminal.link === 'pty' ? terminal.path : `in-process:${terminal.serialNumber}`,
      POSBRIDGE_RECONNECT_BASE_MS: '50',
      POSBRIDGE_RECONNECT_CAP_MS: '200',
      ...env,
    });
    const agent = await startAgent({ config, logger, ...(terminal.link === 'in-process' ? { openPort: async () => terminal.connect() } : {}) });
    agents.push(agent);
    return agent;
  }

  function https(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = request(url, { method, ca: pki.caPem, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  it('without the CA the agent is refused, says why, and keeps retrying with backoff', async () => {
    const { logger, lines } = collectingLogger();
    const agent = await agentWith(1, {}, logger);
    const refusals = () => lines.filter((l) => l['msg'] === 'server certificate not trusted');
    await waitFor(() => refusals().length >= 3, { timeoutMs: 10_000, message: 'three refused attempts' });
    const first = refusals()[0]!;
    expect(first).toMatchObject({ level: 50, component: 'link', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(String(first['fix'])).toContain('POSBRIDGE_SERVER_CA_FILE');
    expect(lines.some((l) => l['msg'] === 'connected to server')).toBe(false);
    expect(JSON.stringify(lines)).not.toContain(appToken);
    await agent.close();
  });

  it('the wrong CA is refused too', async () => {
    const { logger, lines } = collectingLogger();
    const agent = await agentWith(2, { POSBRIDGE_SERVER_CA_FILE: pki.otherCaFile }, logger);
    await waitFor(() => lines.some((l) => l['msg'] === 'server certificate not trusted'), { timeoutMs: 10_000, message: 'a refusal' });
    expect(lines.some((l) => l['msg'] === 'connected to server')).toBe(false);
    await agent.close();
  });

  it('with the CA the agent connects over wss:// and a payment goes through over HTTPS', async () => {
    const { logger } = collectingLogger();
    const agent = await agentWith(0, { POSBRIDGE_SERVER_CA_FILE: pki.caFile }, logger);
    await agent.ready;
    const base = `https://127.0.0.1:${server.port}`;
    const paymentId = 'A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6';
    const transactionId = 'F1E2D3C4B5A6F7E8D9C0B1A2F3E4D5C6';
    const body = buildCreatePayment({ value: 31.9, paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
    const auth = { 'X-VTEX-API-AppKey': appKey, 'X-VTEX-API-AppToken': appToken };
    const created = await https('POST', `${base}/payments`, body, auth);
    expect(created).toMatchObject({ status: 200, json: { status: 'undefined' } });
    const { submitUrl } = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string };
    expect(submitUrl.startsWith('https://')).toBe(true);
    expect(await https('POST', submitUrl, { serialNumber: 'TLS0001' })).toMatchObject({ status: 200 });
    const callback = await receiver.waitFor(paymentId, 20_000);
    expect(callback.body).toMatchObject({ paymentId, status: 'approved', lastDigits: expect.stringMatching(/^\d{4}$/) });
    expect((await https('POST', `${base}/payments`, body, auth)).json).toMatchObject({ status: 'approved' });
  });

  it('doctor: the server check passes with the CA and fails with the fix without it', async () => {
    const { token } = await server.issueAgentToken('tls-doctor');
    const base = {
      POSBRIDGE_SERVER_URL: `wss://127.0.0.1:${server.port}/agent/v1`,
      POSBRIDGE_AGENT_TOKEN: token,
      POSBRIDGE_TERMINAL_PORT: '/dev/null',
      POSBRIDGE_JOURNAL: join(dir, 'doctor-journal.sqlite'),
    };
    const serverChecks = async (env: Record<string, string>) =>
      (await runDoctor(loadAgentConfig({ ...base, ...env }), [], defaultDoctorDeps)).filter((c) => ['server', 'agent token', 'clock'].includes(c.check));
    const trusted = await serverChecks({ POSBRIDGE_SERVER_CA_FILE: pki.caFile });
    expect(trusted.map((c) => [c.check, c.status])).toEqual([
      ['server', 'pass'],
      ['agent token', 'pass'],
      ['clock', 'pass'],
    ]);
    const untrusted = await serverChecks({});
    expect(untrusted).toHaveLength(1);
    expect(untrusted[0]).toMatchObject({ check: 'server', status: 'fail', detail: expect.stringContaining('certificate not trusted') });
    expect(untrusted[0]!.fix).toContain('POSBRIDGE_SERVER_CA_FILE');
  });
});
