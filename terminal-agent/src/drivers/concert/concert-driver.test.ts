/**
 * The Concert E+ driver against a scripted Concert terminal on an in-memory byte pair:
 * link-layer faults from the reference, matching an answer to its request (POS number, amount,
 * currency; the private field only confirms when echoed — real terminals send it blank,
 * zero-filled or with their own reference), and outcomes (a lost answer is unknown, never denied).
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex } from '@posbridge/protocol/terminal';
import { createMemoryPair } from '../../transports/memory-pair.ts';
import { FakeConcertTerminal, type FakeConcertScript } from '../../testing/fake-concert-terminal.ts';
import { createLogSink } from '../../testing/log-sink.ts';
import type { SaleRequest } from '../terminal-driver.ts';
import { ConcertDriver } from './concert-driver.ts';
import { REDACT_PATHS } from '../../main.ts';
import type { Clock } from '../../time/clock.ts';
import { ManualClock } from '../../time/manual-clock.ts';

const FAST = { ackTimeoutMs: 150, enqRetryDelayMs: 20, frameTimeoutMs: 200, eotTimeoutMs: 100, answerTimeoutMs: 1200 };
const REQ: SaleRequest = { paymentId: 'pay-1', rid: 'PB00000001', amount: { amountMinor: 1250, currency: 'EUR' }, method: 'debit', installments: 1 };

/** Moves `clock` on by `ms`, then lets the in-memory link carry what that sent. */
async function passTime(clock: ManualClock, ms: number): Promise<void> {
  await clock.advance(ms);
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function setup(script: FakeConcertScript = {}, redactPaths?: readonly string[], clock?: Clock) {
  const pair = createMemoryPair();
  const terminal = new FakeConcertTerminal(pair.b, script, clock);
  const sink = createLogSink('trace', redactPaths);
  const wire: string[] = [];
  const driver = new ConcertDriver({
    open: async () => pair.a,
    logger: sink.logger,
    serialNumber: 'ING-1',
    timings: FAST,
    events: { wire: (direction, hex) => wire.push(`${direction} ${hex}`) },
    ...(clock ? { clock } : {}),
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

  it('takes an answer whose private field is some other value (not an echo): matched by POS number, amount and currency', async () => {
    const { driver, sink } = setup({ wrongPrivate: 'SOMEONE' });
    await expect(driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: REQ.rid } });
    expect(sink.find('answer for another transaction kept for recovery')).toHaveLength(0);
  });

  it('does not apply an answer that echoes the reference of an earlier request of ours (a late answer): kept for that one', async () => {
    const { driver, terminal, sink } = setup({ noAnswer: true });
    const first = { ...REQ, paymentId: 'pay-first', rid: 'PFIRST0001' };
    await expect(driver.sale(first)).resolves.toMatchObject({ kind: 'unknown' });
    terminal.script = { wrongPrivate: first.rid };
    const second = { ...REQ, paymentId: 'pay-second', rid: 'PSECOND001' };
    const outcome = await driver.sale(second);
    expect(outcome).toMatchObject({ kind: 'unknown' });
    expect(sink.find('answer for another transaction kept for recovery')).toHaveLength(1);
    await expect(driver.checkStatus(first)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    await expect(driver.checkStatus(second)).resolves.toMatchObject({ kind: 'no_answer' });
  });

  describe.each(['blank', 'zeros', 'own', 'echo'] as const)('a terminal whose answer private field is %s', (privateField) => {
    it('approves a sale, with the card digits', async () => {
      const { driver } = setup({ privateField });
      await expect(driver.sale(REQ)).resolves.toEqual({
        kind: 'result',
        result: {
          outcome: 'approved',
          terminalStatus: 'accepted',
          amount: { amountMinor: 1250, currency: 'EUR' },
          tid: 'PB00000001',
          card: { brand: 'Visa', firstDigits: '497010', lastDigits: '1234' },
        },
      });
    });

    it('declines (status 7) and reports status 9 as unknown', async () => {
      await expect(setup({ privateField, status: '7' }).driver.sale(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'denied' } });
      await expect(setup({ privateField, status: '9' }).driver.sale(REQ)).resolves.toMatchObject({ kind: 'unknown' });
    });

    it('runs a cancellation (type 2) and a refund (type 1)', async () => {
      const { driver, terminal } = setup({ privateField });
      await expect(driver.sale({ ...REQ, kind: 'void' })).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
      await expect(driver.sale({ ...REQ, rid: 'PB00000002', kind: 'refund' })).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
      expect(terminal.requests.map((r) => r.transactionType)).toEqual(['cancellation', 'credit']);
    });

    it('keeps a late answer (after the answer wait) for checkStatus', async () => {
      // Driver and terminal share a manual clock: the 1.4 s answer delay passes without waiting.
      const clock = new ManualClock(1_700_000_000_000);
      const { driver } = setup({ privateField, answerDelayMs: 1_400 }, undefined, clock);
      let settled = false;
      const sale = driver.sale(REQ).finally(() => (settled = true));
      for (let i = 0; i < 100 && !settled; i++) await passTime(clock, 20);
      await expect(sale).resolves.toMatchObject({ kind: 'unknown', reason: expect.stringContaining('no answer') });
      for (let i = 0; i < 30; i++) await passTime(clock, 20);
      await expect(driver.checkStatus(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: REQ.rid } });
    });

    it.each([
      { field: 'amount', answerPatch: { amountMinor: 1200 }, says: /amount 1200.*1250/ },
      { field: 'currency', answerPatch: { currencyNumeric: '840' }, says: /currency 840.*978/ },
      { field: 'POS number', answerPatch: { posNumber: 7 }, says: /POS number 7.*1/ },
    ])('refuses an answer with another $field: logged as refused with the reason; unknown, never denied, and not "no answer"', async ({ answerPatch, says }) => {
      const { driver, sink } = setup({ privateField, answerPatch });
      const outcome = await driver.sale(REQ);
      expect(outcome).toMatchObject({ kind: 'unknown', reason: expect.stringMatching(says) });
      if (outcome.kind !== 'unknown') throw new Error('unknown expected');
      expect(outcome.reason).not.toMatch(/no answer/);
      expect(outcome.reason).toMatch(/refused/);
      const refused = sink.find('terminal answer refused: it does not match the request');
      expect(refused).toHaveLength(1);
      expect(String(refused[0]?.['reason'])).toMatch(says);
      await expect(driver.checkStatus(REQ)).resolves.toMatchObject({ kind: 'no_answer' });
    });
  });

  it('logs discarded bytes with their token type readable through the agent redaction (only secrets are censored)', async () => {
    const { driver, sink } = setup({ badLrcAnswers: 1 }, REDACT_PATHS);
    await driver.sale(REQ);
    const lines = sink.find('terminal bytes discarded');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatchObject({ tokenType: 'bad_frame' });
    expect(JSON.stringify(lines)).not.toContain('[redacted]');
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

  it('does not take a repeat of the previous answer (same terminal reference) as the next request\'s answer', async () => {
    // A terminal that repeats its answer after our ACK, late enough that our next request (the
    // void of that sale, run at once from the queue) is already written: the repeat carries the
    // terminal's own reference of the sale, not an answer to the void.
    const { driver, terminal } = setup({ privateField: 'own', duplicateAnswer: true, duplicateDelayMs: 150 });
    const sale = { ...REQ, paymentId: 'pay-1', rid: 'PSALE00001' };
    await expect(driver.sale(sale)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    terminal.script = { privateField: 'own', duplicateDelayMs: 150, noAnswer: true };
    const voidReq = { ...sale, rid: 'PVOID00001', kind: 'void' as const };
    const outcome = await driver.sale(voidReq);
    expect(terminal.requests.map((r) => r.transactionType)).toEqual(['debit', 'cancellation']);
    // The terminal never answered the void: unknown, never "voided" on the strength of the sale's repeat.
    expect(outcome).toMatchObject({ kind: 'unknown' });
    await expect(driver.checkStatus(sale)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: sale.rid } });
  });

  it('takes a byte-identical answer that comes after the resend window as the new request\'s answer (a void answered with the sale\'s reference)', async () => {
    const { driver, terminal } = setup({ wrongPrivate: 'AUTH123456' });
    const sale = { ...REQ, paymentId: 'pay-1', rid: 'PSALE00001' };
    await expect(driver.sale(sale)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved' } });
    terminal.script = { wrongPrivate: 'AUTH123456', answerDelayMs: 600 }; // > 150 + 200 + 100 ms
    await expect(driver.sale({ ...sale, rid: 'PVOID00001', kind: 'void' })).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: 'PVOID00001' } });
  });

  it('keeps a late answer of the previous request that arrives while the next one (another amount) waits, for checkStatus', async () => {
    const { driver, terminal, sink } = setup({ privateField: 'blank', answerDelayMs: 1_400 });
    const first = { ...REQ, paymentId: 'pay-first', rid: 'PFIRST0001' };
    await expect(driver.sale(first)).resolves.toMatchObject({ kind: 'unknown' });
    terminal.script = { privateField: 'blank', answerDelayMs: 600 };
    const second = { ...REQ, paymentId: 'pay-second', rid: 'PSECOND001', amount: { amountMinor: 999, currency: 'EUR' } };
    await expect(driver.sale(second)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', amount: { amountMinor: 999 } } });
    expect(sink.find('terminal answer refused: it does not match the request')).toHaveLength(1);
    // The first sale's answer came (charged): it resolves that sale's unknown outcome.
    await expect(driver.checkStatus(first)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: first.rid } });
  });

  const JOURNALED = {
    posNumber: 1,
    amountMinor: 1250,
    answer: 'full',
    paymentMode: '1',
    transactionType: 'debit',
    currencyNumeric: '978',
    privateData: REQ.rid,
    answerDelay: 'end',
    authorisation: 'terminal',
  } as const;

  it('after an agent restart mid-sale, keeps the late answer that echoes the journaled reference for checkStatus', async () => {
    const { driver, terminal } = setup({ privateField: 'echo' });
    await driver.identify(); // the restarted agent opens the port; this process never sent the request
    await terminal.sendAnswerFor(JOURNALED);
    await expect(driver.checkStatus(REQ)).resolves.toMatchObject({ kind: 'result', result: { outcome: 'approved', tid: REQ.rid } });
  });

  it('after an agent restart, an answer without our reference is not attributed, and checkStatus says an answer came', async () => {
    const { driver, terminal, sink } = setup({ privateField: 'blank' });
    await driver.identify();
    await terminal.sendAnswerFor(JOURNALED);
    const check = await driver.checkStatus(REQ);
    expect(check).toMatchObject({ kind: 'no_answer' });
    if (check.kind !== 'no_answer') throw new Error('no_answer expected');
    expect(check.reason).not.toMatch(/no late answer/);
    expect(check.reason).toMatch(/answer/);
    expect(sink.find('terminal answer with no outstanding request kept for the operator')).toHaveLength(1);
  });

  it('never logs the report field of an answer', async () => {
    const { driver, sink } = setup({ report: '4970109999991234' });
    await driver.sale(REQ);
    expect(JSON.stringify(sink.records)).not.toContain('4970109999991234');
  });
});
