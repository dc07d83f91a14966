/**
 * The Concert E+ driver against a scripted Concert terminal on an in-memory byte pair:
 * link-layer faults from the reference, the private-field echo check, and outcomes
 * (a lost answer is unknown, never denied).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex } from '@posbridge/protocol/terminal';
import { createMemoryPair } from '../../transports/memory-pair.ts';
import { FakeConcertTerminal, type FakeConcertScript } from '../../testing/fake-concert-terminal.ts';
import { createLogSink } from '../../testing/log-sink.ts';
import type { SaleRequest } from '../terminal-driver.ts';
import { ConcertDriver } from './concert-driver.ts';

const FAST = { ackTimeoutMs: 150, enqRetryDelayMs: 20, frameTimeoutMs: 200, eotTimeoutMs: 100, answerTimeoutMs: 1200 };
const REQ: SaleRequest = { paymentId: 'pay-1', rid: 'PB00000001', amount: { amountMinor: 1250, currency: 'EUR' }, method: 'debit', installments: 1 };

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(script: FakeConcertScript = {}) {
  const pair = createMemoryPair();
  const terminal = new FakeConcertTerminal(pair.b, script);
  const sink = createLogSink('trace');
  const wire: string[] = [];
  const driver = new ConcertDriver({
    open: async () => pair.a,
    logger: sink.logger,
    serialNumber: 'ING-1',
    timings: FAST,
    events: { wire: (direction, hex) => wire.push(`${direction} ${hex}`) },
  });
  cleanup.push(() => driver.close());
  return { driver, terminal, sink, wire };
}

describe('ConcertDriver', () => {
  it('identifies with the configured serial only, and refuses without one', async () => {
    const { driver } = setup();
    await expect(driver.identify()).resolves.toEqual({ serialNumber: 'ING-1', serialSource: 'config', dialect: 'concert-e+', vendor: 'Ingenico' });
    const bare = new ConcertDriver({ open: async () => createMemoryPair().a, logger: createLogSink().logger });
    cleanup.push(() => bare.close());
    await expect(bare.identify()).rejects.toMatchObject({ code: 'CFG_INVALID' });
  });

  it('mints 10-char references that fit the private field', () => {
    const { driver } = setup();
    const ref = driver.newReference();
    expect(ref).toMatch(/^P[A-Z2-7]{9}$/);
    expect(driver.newReference()).not.toBe(ref);
  });

  it('writes the golden 12.50 EUR request frame byte for byte and maps the approved answer', async () => {
    const { driver, terminal, wire } = setup();
    const hooks: string[] = [];
    const outcome = await driver.sale(REQ, { onSent: () => hooks.push('sent'), onAcked: () => hooks.push('acked') });
    expect(outcome).toEqual({
      kind: 'result',
      result: {
        outcome: 'approved',
        terminalStatus: 'accepted',
        amount: { amountMinor: 1250, currency: 'EUR' },
        tid: 'PB00000001',
        card: { brand: 'Visa', firstDigits: '497010', lastDigits: '1234' },
      },
    });
    expect(hooks).toEqual(['sent', 'acked']);
    const golden = fromHex(readFileSync(new URL('../../../../test/fixtures/frames/concert-eplus.sale-request.pos-to-terminal.hex', import.meta.url), 'utf8'));
    const sentFrame = wire.find((w) => w.startsWith('sent 02'));
    expect(sentFrame).toBe(`sent ${Array.from(golden, (b) => b.toString(16).padStart(2, '0')).join(' ')}`);
    expect(terminal.charged).toEqual(new Set(['PB00000001']));
  });

  it('retries ENQ with EOT in between, and reports not ready without charging when the terminal never ACKs', async () => {
    const ok = setup({ ignoreEnqs: 2 });
    await expect(ok.driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(ok.terminal.controls.slice(0, 5)).toEqual(['ENQ', 'EOT', 'ENQ', 'EOT', 'ENQ']);

    const never = setup({ ignoreEnqs: 99 });
    await expect(never.driver.sale(REQ)).resolves.toMatchObject({ kind: 'rejected', code: 'TERM_BUSY' });
    expect(never.terminal.controls.filter((c) => c === 'ENQ')).toHaveLength(3);
    expect(never.terminal.charged.size).toBe(0);
  });

  it('resends a NAKed request frame (at most 3 sends) and charges once', async () => {
    const { driver, terminal } = setup({ nakFrames: 2 });
    await expect(driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(terminal.requests).toHaveLength(1);
    const refused = setup({ nakFrames: 3 });
    await expect(refused.driver.sale(REQ)).resolves.toMatchObject({ kind: 'rejected', code: 'TERM_DISCONNECTED' });
    expect(refused.terminal.charged.size).toBe(0);
  });

  it('NAKs an answer with a bad LRC and takes the resent one', async () => {
    const { driver, terminal, sink } = setup({ badLrcAnswers: 1 });
    await expect(driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    expect(terminal.controls).toContain('NAK');
    expect(sink.find('terminal bytes discarded').length).toBeGreaterThan(0);
  });

  it('treats an answer with a wrong private field as a protocol error: unknown, never denied', async () => {
    const { driver, sink } = setup({ wrongPrivate: 'SOMEONE' });
    const outcome = await driver.sale(REQ);
    expect(outcome).toMatchObject({ kind: 'unknown' });
    expect(sink.find('answer for another transaction kept for recovery')).toHaveLength(1);
  });

  it('maps status 7 to denied and status 9 to unknown', async () => {
    await expect(setup({ status: '7' }).driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'denied', terminalStatus: 'refused' } });
    await expect(setup({ status: '9' }).driver.sale(REQ)).resolves.toMatchObject({ kind: 'unknown' });
  });

  it('reports a lost answer as unknown (the terminal did charge): never denied', async () => {
    const { driver, terminal } = setup({ noAnswer: true });
    const outcome = await driver.sale(REQ);
    expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('no answer') });
    await expect(driver.checkStatus(REQ)).resolves.toMatchObject({ kind: 'no_answer' });
    expect(terminal.charged.size).toBe(1);
  });

  it('keeps waiting when the request frame ACK is lost (the terminal may be running it)', async () => {
    const { driver } = setup({ swallowFrameAck: true });
    const recovering: string[] = [];
    const outcome = await driver.sale(REQ, { onRecovering: (r) => recovering.push(r) });
    expect(recovering).toEqual(['request frame ACK lost']);
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
  });

  it('ignores a duplicate answer (charged once, outcome unchanged)', async () => {
    const { driver, terminal } = setup({ duplicateAnswer: true });
    await expect(driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    await new Promise((r) => setTimeout(r, 100));
    expect(terminal.charged.size).toBe(1);
    // The duplicate is kept by reference: checkStatus answers from it.
    await expect(driver.checkStatus(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
  });

  it('never logs the report field of an answer', async () => {
    const { driver, sink } = setup({ report: '4970109999991234' });
    await driver.sale(REQ);
    expect(JSON.stringify(sink.records)).not.toContain('4970109999991234');
  });
});
