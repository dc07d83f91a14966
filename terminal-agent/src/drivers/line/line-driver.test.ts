import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { createMemoryPair } from '../../transports/memory-pair.ts';
import { FakeLineTerminal, type FakeTerminalScript } from '../../testing/fake-line-terminal.ts';
import { createLogSink, type LogSink } from '../../testing/log-sink.ts';
import type { SaleRequest } from '../terminal-driver.ts';
import { LineDriver, type LineDriverTimings } from './line-driver.ts';
import { ManualClock } from '../../time/manual-clock.ts';
import type { Clock } from '../../time/clock.ts';

const FAST: LineDriverTimings = {
  identTimeoutMs: 100,
  ackTimeoutMs: 60,
  saleAttempts: 3,
  resultTimeoutMs: 300,
  statusTimeoutMs: 60,
  statusAttempts: 3,
  statusBackoffMs: 10,
};

const request = (rid = 'pabc123'): SaleRequest => ({
  paymentId: 'pay-1',
  rid,
  amount: { amountMinor: 3190, currency: 'BRL' },
  method: 'credit',
  installments: 1,
});

const open: LineDriver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

/** A driver wired to a fake terminal through an in-memory pair; each (re)open makes a new pair. */
function rig(script: Partial<FakeTerminalScript> = {}, timings: Partial<LineDriverTimings> = {}, clock?: Clock) {
  const sink: LogSink = createLogSink('debug');
  const terminals: FakeLineTerminal[] = [];
  let fullScript: FakeTerminalScript = { serial: 'SN-1', ...script };
  const ends: Duplex[] = [];
  // One logical terminal: sales survive reopening the port.
  let sales: FakeLineTerminal['sales'] | undefined;
  const driver = new LineDriver({
    logger: sink.logger,
    timings: { ...FAST, ...timings },
    ...(clock ? { clock } : {}),
    open: async () => {
      const { a, b } = createMemoryPair();
      const term = new FakeLineTerminal(b, fullScript);
      if (sales) for (const [k, v] of sales) term.sales.set(k, v);
      sales = term.sales;
      terminals.push(term);
      ends.push(b);
      return a;
    },
  });
  open.push(driver);
  return {
    driver,
    sink,
    terminal: () => terminals.at(-1)!,
    terminals,
    ends,
    setScript(s: Partial<FakeTerminalScript>) {
      fullScript = { ...fullScript, ...s };
      for (const t of terminals) t.script = fullScript;
    },
    totalSaleLines: (rid: string) => terminals.reduce((n, t) => n + t.saleLinesFor(rid), 0),
  };
}

describe('LineDriver', () => {
  it('identifies the terminal', async () => {
    const { driver } = rig();
    await expect(driver.identify()).resolves.toEqual({
      serialNumber: 'SN-1',
      serialSource: 'device',
      dialect: 'PBL/1',
      model: 'FAKE-1',
      vendor: 'posbridge',
      firmware: '1.0',
    });
  });

  it('runs an approved sale and maps the RESULT', async () => {
    const { driver, terminal, sink } = rig();
    const stages: string[] = [];
    const outcome = await driver.sale(request(), { onProgress: (s) => stages.push(s) });
    expect(outcome).toEqual({
      kind: 'result',
      result: {
        outcome: 'approved',
        terminalStatus: 'approved',
        amount: { amountMinor: 3190, currency: 'BRL' },
        responseCode: '00',
        authorizationId: 'A1B2C3',
        nsu: '000123',
        tid: 'T-9',
        card: { brand: 'visa', firstDigits: '411111', lastDigits: '1111' },
      },
    });
    expect(stages).toEqual(['waiting_card']);
    expect(terminal().received).toEqual([
      { verb: 'SALE', rid: 'pabc123', amountMinor: 3190, currency: '986', method: 'credit', installments: 1 },
    ]);
    const sent = sink.find('line sent');
    expect(sent[0]).toMatchObject({ level: 20, line: expect.stringMatching(/^SALE pabc123 amount=3190 currency=986 method=credit installments=1\*[0-9A-F]{4}$/) });
    expect(sink.find('line received').length).toBeGreaterThanOrEqual(3);
    expect(sink.find('terminal result')[0]).toMatchObject({ paymentId: 'pay-1', rid: 'pabc123', outcome: 'approved' });
  });

  it('maps a declined sale to denied', async () => {
    const { driver } = rig({ status: 'declined' });
    const outcome = await driver.sale(request());
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { outcome: 'denied', terminalStatus: 'declined', responseCode: '51', message: 'Insufficient funds', tid: 'pabc123' },
    });
  });

  it('resends the same SALE after a NAK and charges once', async () => {
    const { driver, terminal } = rig({ nak: (l, n) => l.verb === 'SALE' && n === 0 });
    const outcome = await driver.sale(request());
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(terminal().saleLinesFor('pabc123')).toBe(2);
    expect(terminal().sales.size).toBe(1);
  });

  it('resends the same rid when the ACK is lost, and the terminal charges once', async () => {
    const { driver, terminal } = rig({ hold: true, drop: (l, n) => (l.verb === 'ACK' && n === 0) || l.verb === 'PROGRESS' });
    const acked: boolean[] = [];
    const pending = driver.sale(request(), { onAcked: () => acked.push(true) });
    await waitFor(() => terminal().saleLinesFor('pabc123') === 2);
    terminal().finish('pabc123');
    const outcome = await pending;
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(terminal().sales.size).toBe(1);
    expect(new Set(terminal().received.map((l) => l.rid))).toEqual(new Set(['pabc123']));
    expect(acked).toEqual([true]);
  });

  it('recovers a lost RESULT with STATUS', async () => {
    const { driver, terminal } = rig({ drop: (l, n) => l.verb === 'RESULT' && n === 0 }, { resultTimeoutMs: 80 });
    const recovering: string[] = [];
    const outcome = await driver.sale(request(), { onRecovering: (r) => recovering.push(r) });
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(terminal().count('STATUS')).toBe(1);
    expect(terminal().sales.size).toBe(1);
    expect(recovering).toHaveLength(1);
  });

  it('recovers with STATUS after the port closes mid-sale, reopening it', async () => {
    const r = rig({ hold: true });
    const pending = r.driver.sale(request());
    await waitFor(() => r.terminal().sales.size === 1);
    r.ends[0]!.destroy(); // cable pulled while the customer types the PIN
    await waitFor(() => r.terminals.length === 2 && r.terminals[1]!.count('STATUS') >= 1);
    r.terminals[1]!.finish('pabc123');
    const outcome = await pending;
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(r.totalSaleLines('pabc123')).toBe(1);
  });

  it('reports unknown, never denied, when nothing answers at all', async () => {
    const { driver, terminal, sink } = rig({ silent: true });
    const outcome = await driver.sale(request());
    expect(outcome.kind).toBe('unknown');
    expect(terminal().saleLinesFor('pabc123')).toBe(3);
    expect(terminal().count('STATUS')).toBe(3);
    expect(sink.find('terminal result')[0]).toMatchObject({ outcome: 'unknown' });
  });

  it('does not accept a RESULT whose amount differs from the request', async () => {
    const { driver, sink } = rig({ mutateResult: (l) => ({ ...l, amountMinor: l.amountMinor + 1 }) });
    const outcome = await driver.sale(request());
    expect(outcome.kind).toBe('unknown');
    const warn = sink.find('terminal result does not match the request');
    expect(warn.length).toBeGreaterThan(0);
    expect(warn[0]).toMatchObject({ level: 40, line: expect.stringContaining('amount=3191') });
  });

  it('rejects with TERM_BUSY when the terminal answers ERR BUSY', async () => {
    const { driver, terminal } = rig({ busy: true });
    const outcome = await driver.sale(request());
    expect(outcome).toEqual({ kind: 'rejected', code: 'TERM_BUSY', message: 'terminal is busy with another transaction' });
    expect(terminal().count('STATUS')).toBe(0);
  });

  it('confirms with STATUS before trusting ERR BUSY to a resent SALE', async () => {
    // First SALE is lost on the way (garbled, NAK lost); the terminal then turns busy.
    const r = rig({ nak: (l, n) => l.verb === 'SALE' && n === 0, drop: (l) => l.verb === 'NAK' });
    const pending = r.driver.sale(request());
    await waitFor(() => r.terminal().count('SALE') === 1);
    r.setScript({ busy: true });
    await expect(pending).resolves.toMatchObject({ kind: 'rejected', code: 'TERM_BUSY' });
    expect(r.terminal().count('STATUS')).toBe(1);
  });

  it('rejects when the SALE never got an ACK and STATUS says NOT_FOUND (nothing charged)', async () => {
    // Every SALE arrives garbled (the terminal NAKs it) and every NAK is lost on the way back.
    const r = rig({ nak: (l) => l.verb === 'SALE', drop: (l) => l.verb === 'NAK' });
    const outcome = await r.driver.sale(request());
    expect(outcome).toMatchObject({ kind: 'rejected', code: 'TERM_DISCONNECTED' });
    expect(r.terminal().sales.size).toBe(0);
  });

  it('reports unknown when STATUS says NOT_FOUND after an ACK (contradiction)', async () => {
    const r = rig({ hold: true }, { resultTimeoutMs: 50 });
    const pending = r.driver.sale(request());
    await waitFor(() => r.terminal().sales.size === 1);
    r.terminal().sales.clear(); // the terminal "forgets" the sale it acknowledged
    const outcome = await pending;
    expect(outcome.kind).toBe('unknown');
  });

  it('ignores undecodable lines and lines for other rids', async () => {
    const { driver, terminal, sink } = rig({ hold: true });
    const pending = driver.sale(request());
    await waitFor(() => terminal().sales.size === 1);
    terminal().sendRaw('garbage without crc\n');
    terminal().send({ verb: 'PROGRESS', rid: 'someoneelse', stage: 'pin' });
    terminal().finish('pabc123');
    await expect(pending).resolves.toMatchObject({ kind: 'result' });
    expect(sink.find('undecodable terminal line ignored')[0]).toMatchObject({ level: 40, line: 'garbage without crc' });
    expect(sink.find('line for another rid ignored')[0]).toMatchObject({ rid: 'someoneelse' });
  });

  it('times out on its injected clock, not on real time', async () => {
    const clock = new ManualClock(1_000_000);
    const agentDefaults = { ackTimeoutMs: 2000, resultTimeoutMs: 180_000, statusTimeoutMs: 5000, statusBackoffMs: 1000 };
    const { driver, terminals } = rig({ silent: true }, agentDefaults, clock);
    let settled = false;
    const pending = driver.sale(request()).then((o) => {
      settled = true;
      return o;
    });
    const saleLines = () => terminals.reduce((n, t) => n + t.saleLinesFor('pabc123'), 0);
    await waitFor(() => saleLines() === 1 && clock.pending === 1);
    await clock.advance(1999);
    expect(saleLines()).toBe(1);
    await clock.advance(1);
    await waitFor(() => saleLines() === 2);
    // Three SALEs, then three STATUS with their back-off: about 25 s of terminal time, no real wait.
    for (let i = 0; i < 100 && !settled; i++) {
      await clock.advance(1000);
      await new Promise((r) => setImmediate(r));
    }
    await expect(pending).resolves.toMatchObject({ kind: 'unknown' });
    expect(saleLines()).toBe(3);
    expect(terminals.at(-1)!.count('STATUS')).toBe(3);
  });

  it('answers a background status check', async () => {
    const r = rig();
    await r.driver.sale(request());
    await expect(r.driver.checkStatus(request())).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    await expect(r.driver.checkStatus(request('pother'))).resolves.toEqual({ kind: 'not_found' });
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  const holds = () => {
    try {
      return cond();
    } catch {
      return false;
    }
  };
  while (!holds()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
