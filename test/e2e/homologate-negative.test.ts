/**
 * `posbridge-homologate` must fail a connector that breaks VTEX's rules, and name the case. The
 * connector here is a deliberately wrong fake that lives only in this test (a real loopback HTTP
 * server): it denies the approved card, answers the denied card with a body missing the
 * OpenAPI's required fields, answers the async-approved card after 5.2 s (over the 5 s budget),
 * calls back the async-denied payment at its callbackUrl without the query it was given, and
 * answers a POS sale without paymentAppData. The manifest is right, so that case must pass.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runHomologate } from '../helpers/homologate-bin.ts';

const APP_TOKEN = 'fake-token-never-printed';
const SLOW_MS = 5_200;

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => resolve(text === '' ? {} : (JSON.parse(text) as Record<string, unknown>)));
  });
}

/** A Create Payment answer with every field the OpenAPI requires. */
function answer(paymentId: string, status: string): Record<string, unknown> {
  return { paymentId, status, authorizationId: 'A1', tid: 'T1', nsu: 'N1', acquirer: 'fake', code: null, message: null, delayToAutoSettle: 1200, delayToAutoSettleAfterAntifraud: 1200, delayToCancel: 900 };
}

describe('posbridge-homologate against a wrong connector', () => {
  let server: Server;
  let base: string;
  const finals = new Map<string, string>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      const send = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.method === 'GET' && req.url === '/manifest') return send(200, { paymentMethods: [{ name: 'Venda Direta Credito', allowsSplit: 'onCapture' }] });
      void readJson(req).then(async (body) => {
        const paymentId = String(body['paymentId']);
        if (req.url !== '/payments') return send(501, { paymentId, cancellationId: null, code: 'cancel-manually', message: 'no', requestId: String(body['requestId']) });
        const known = finals.get(paymentId);
        if (known) return send(200, answer(paymentId, known));
        const card = (body['card'] as { number?: string | null } | undefined)?.number ?? null;
        const callbackUrl = String(body['callbackUrl']);
        switch (card) {
          case '4444333322221111':
            return send(200, answer(paymentId, 'denied'));
          case '4444333322221112':
            return send(200, { status: 'denied' });
          case '4222222222222224':
            await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
            finals.set(paymentId, 'approved');
            send(200, answer(paymentId, 'undefined'));
            return void fetch(callbackUrl, { method: 'POST', body: JSON.stringify(answer(paymentId, 'approved')) });
          case '4222222222222225': {
            finals.set(paymentId, 'denied');
            send(200, answer(paymentId, 'undefined'));
            const u = new URL(callbackUrl);
            return void fetch(`${u.origin}${u.pathname}`, { method: 'POST', body: JSON.stringify(answer(paymentId, 'denied')) });
          }
          default:
            return send(200, answer(paymentId, 'undefined'));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('exits non-zero and names each failing case with its reason', async () => {
    const { code, stdout } = await runHomologate(['--url', base, '--app-key', 'k', '--app-token', APP_TOKEN, '--json']);
    expect(code).toBe(1);
    expect(stdout).not.toContain(APP_TOKEN);
    const report = JSON.parse(stdout) as { passed: boolean; cases: { name: string; passed: boolean; failures: string[] }[] };
    expect(report.passed).toBe(false);
    const failures = Object.fromEntries(report.cases.map((c) => [c.name, c.passed ? 'PASS' : c.failures.join(' | ')]));
    expect(failures['Manifest']).toBe('PASS');
    expect(failures['Authorize']).toMatch(/create: status "denied", expected "approved"/);
    expect(failures['Cancel']).toMatch(/create: status "denied", expected "approved"/);
    expect(failures['Denied']).toMatch(/Create Payment: 200 body violates the PPP OpenAPI: .*must have required property 'paymentId'/);
    expect(failures['AsyncApproved']).toMatch(/Create Payment: answered in \d+ ms, the Test Suite budget is < 5000 ms/);
    expect(failures['AsyncDenied']).toMatch(/callback: the connector called \/callbacks\/\w+, not the callbackUrl exactly as sent/);
    expect(failures['POS Create']).toMatch(/create: no paymentAppData/);
    expect(failures['POS Create']).toMatch(/cancel: expected 200 with cancellationId filled, got 501/);
  }, 60_000);

  it('prints the failing case by name in the text report', async () => {
    const { code, stdout } = await runHomologate(['--url', base, '--app-key', 'k', '--app-token', APP_TOKEN, '--payment-method', 'Venda Direta Credito']);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^Denied\s.*\sFAIL\s+\d+ ms$/m);
    expect(stdout).toMatch(/^Manifest\s.*\sPASS\s+\d+ ms$/m);
    expect(stdout).toMatch(/^ {2}Authorize: create: status "denied", expected "approved"$/m);
    expect(stdout).toMatch(/cases passed: FAIL\n$/);
  }, 60_000);
});
