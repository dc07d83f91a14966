/**
 * `npm run stack` as another tool sees it: a child process that prints one JSON "ready" line,
 * serves PPP on the announced URL with the announced credentials, and stops cleanly on SIGTERM.
 * The client below knows only docs/protocol/vtex-ppp.md and that contract (plain fetch).
 * @requires-program socat
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCallbackReceiver, waitFor, type CallbackReceiver } from '@posbridge/testkit';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
  giftcard: { serviceUrl: string; appKey: string; appToken: string };
  adminToken: string;
  consoleUrl: string;
}

describe('npm run stack contract', () => {
  let child: ChildProcessWithoutNullStreams;
  let ready: Ready;
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  let receiver: CallbackReceiver;

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    child = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', '--step-delay-ms', '5'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', LOG_LEVEL: 'info' },
    });
    createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr:\n${stderrLines.join('\n')}`)), 45_000);
      child.once('exit', (code) => reject(new Error(`stack exited with ${code}; stderr:\n${stderrLines.join('\n')}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        stdoutLines.push(line);
        const parsed = JSON.parse(line) as Ready; // every stdout line must be JSON
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await receiver.close();
  });

  it('prints exactly one ready line with the PPP base URL, credentials and terminals', () => {
    expect(stdoutLines).toHaveLength(1);

    expect(ready.giftcard.serviceUrl).toBe(`${ready.pppBaseUrl}/giftcard-provider/posbridge-local`);
    expect(ready.giftcard.appKey).not.toBe(ready.appKey);
    expect(ready.giftcard.appToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Object.keys(ready).sort()).toEqual(['adminToken', 'appKey', 'appToken', 'consoleUrl', 'event', 'giftcard', 'pppBaseUrl', 'terminals']);
    expect(ready.adminToken).toMatch(/^pbk_[A-Za-z0-9_-]{43}$/);
    expect(ready.consoleUrl).toBe(`${ready.pppBaseUrl}/console/`);
    expect(ready.pppBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.pppBaseUrl).not.toMatch(/:0$/);
    expect(ready.terminals).toEqual([{ serialNumber: 'SIM0001' }]);
    for (const line of stderrLines) expect(JSON.parse(line)).not.toHaveProperty('event', 'ready');
  });

  it('serves an approved debit payment to a client that knows only the spec', async () => {
    const headers = {
      'content-type': 'application/json',
      'x-vtex-api-appkey': ready.appKey,
      'x-vtex-api-apptoken': ready.appToken,
    };
    const paymentId = 'B0C1D2E3F4A5B6C7D8E9F0A1B2C3D4E5';
    const transactionId = 'A0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5';
    const body = {
      reference: '1',
      orderId: '1',
      shopperInteraction: 'instore',
      transactionId,
      paymentId,
      paymentMethod: 'Venda Direta Debito',
      paymentMethodCustomCode: null,
      merchantName: 'mystore',
      card: { holder: null, number: null, csc: null, expiration: { month: null, year: null }, document: null, token: null },
      value: 10.5,
      currency: 'BRL',
      installments: 1,
      deviceFingerprint: '1',
      miniCart: { shippingValue: 0, taxValue: 0, items: [] },
      url: 'https://admin.example.com',
      callbackUrl: receiver.callbackUrlFor(transactionId, paymentId),
      returnUrl: 'https://example.com',
    };
    const post = async (url: string, payload: unknown, h: Record<string, string> = headers) => {
      const res = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify(payload) });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };

    const unauthorised = await post(`${ready.pppBaseUrl}/payments`, body, { 'content-type': 'application/json' });
    expect(unauthorised.status).toBe(401);

    // A W3C traceparent on Create Payment: its trace id follows the payment (docs/tracing.md).
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const first = await post(`${ready.pppBaseUrl}/payments`, body, { ...headers, traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    expect(first.json['status']).toBe('undefined');
    const appData = first.json['paymentAppData'] as { appName: string; payload: string };
    expect(appData.appName).toBe('vtex.terminal-connector-app');
    const { submitUrl } = JSON.parse(appData.payload) as { submitUrl: string };

    expect((await post(submitUrl, { serialNumber: 'NOPE-0000' }, { 'content-type': 'application/json' })).status).toBe(404);
    expect((await post(submitUrl, { serialNumber: ready.terminals[0]!.serialNumber }, { 'content-type': 'application/json' })).status).toBe(200);

    const callback = await receiver.waitFor(paymentId, 20_000);
    expect(callback.body).toMatchObject({ paymentId, status: 'approved', cardBrand: expect.any(String) });
    expect(callback.body['firstDigits']).toMatch(/^\d{6}$/);
    expect(callback.body['lastDigits']).toMatch(/^\d{4}$/);
    const callbackTrace = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(callback.headers['traceparent']));
    expect(callbackTrace?.[1]).toBe(traceId);
    expect(callbackTrace?.[2]).not.toBe('b7ad6b7169203331');
    expect((await post(`${ready.pppBaseUrl}/payments`, body)).json['status']).toBe('approved');

    // The admin API (docs/admin-api.md "Payments"): the payment and its whole path.
    const detailUrl = `${ready.pppBaseUrl}/admin/v1/payments/${paymentId}`;
    expect((await fetch(detailUrl)).status).toBe(401);
    expect((await fetch(detailUrl, { headers: { authorization: `Bearer pbk_${'x'.repeat(43)}` } })).status).toBe(401);
    // The agent's stages arrive best effort, shortly after the result: wait for its last one.
    const read = async () => {
      const detail = await fetch(detailUrl, { headers: { authorization: `Bearer ${ready.adminToken}` } });
      expect(detail.status).toBe(200);
      return (await detail.json()) as { payment: Record<string, unknown>; timeline: Record<string, unknown>[] };
    };
    const { payment, timeline } = await waitFor(
      async () => {
        const d = await read();
        return d.timeline.some((e) => e['event'] === 'result.acked') ? d : undefined;
      },
      { timeoutMs: 10_000, message: 'the agent stages in the timeline' },
    );
    expect(payment['traceId']).toBe(traceId);
    expect(payment).toMatchObject({ paymentId, transactionId, status: 'approved', amount: { amountMinor: 1050, currency: 'BRL' } });
    expect(JSON.stringify(payment)).not.toContain(callback.body['firstDigits'] as string);
    expect(timeline.length).toBeGreaterThanOrEqual(4);
    for (const entry of timeline) {
      expect(entry['at']).toBe(new Date(Date.parse(entry['at'] as string)).toISOString());
      expect(['server', 'agent', 'terminal']).toContain(entry['component']);
      expect(entry['event']).toEqual(expect.any(String));
    }
    const times = timeline.map((e) => Date.parse(e['at'] as string));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const kinds = timeline.map((e) => `${e['component'] as string}:${e['event'] as string}`);
    expect(kinds).toEqual(expect.arrayContaining(['server:created', 'server:terminal.bound', 'agent:agent.acked', 'agent:command.acked', 'terminal:result.received']));
    // The agent's own stages and the terminal exchange it ran (rid mapped to the payment).
    expect(kinds).toEqual(
      expect.arrayContaining(['agent:command.received', 'terminal:terminal.request', 'terminal:terminal.answer', 'agent:result.sent', 'agent:result.acked']),
    );
    const request = timeline.find((e) => e['event'] === 'terminal.request');
    expect(request?.['detail']).toMatchObject({ rid: expect.stringMatching(/^[A-Za-z0-9._-]+$/), serialNumber: 'SIM0001' });
    const at = (event: string) => Date.parse(timeline.find((e) => e['event'] === event)?.['at'] as string);
    expect(at('command.received')).toBeLessThanOrEqual(at('terminal.request'));
    expect(at('terminal.request')).toBeLessThanOrEqual(at('terminal.answer'));

    const consolePage = await fetch(ready.consoleUrl);
    expect(consolePage.status).toBe(200);
    // The console's build when `npm run console:build` made one, else the page saying how to (docs/console.md).
    expect(consolePage.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await consolePage.text()).toContain('<title>posbridge console</title>');
  });

  it('stops cleanly on SIGTERM and removes its temporary folder', async () => {
    const readyLog = stderrLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'local stack ready');
    const dir = readyLog?.['dir'] as string;
    expect(existsSync(dir)).toBe(true);
    expect(processesMentioning(dir).length).toBeGreaterThan(0); // socat holds the pty pair in dir
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]); // socat (the pty pair) stopped with it
  });
});

/** Command lines of running processes that mention `text` (Linux /proc). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}
