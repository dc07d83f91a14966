/**
 * Device machine behaviours added for testers: VOID/REFUND, the test-amount rows decided inside
 * the machine (approval after an abort, customer cancel, lost answer, slow answer, disconnect,
 * reboot), the manual customer; plus scenario validation, interactive keys, and the README's
 * tables against the code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createDeviceState, transition, type DeviceConfig, type DeviceEffect, type DeviceEvent, type DeviceState } from './device-machine.ts';
import { pbl1EventFromLine, pbl1LineFromReply } from './dialects/pbl1.ts';
import { keyToCommand } from './interactive.ts';
import { decodeWireLine, encodeWireLine } from './line-codec.ts';
import { TEST_AMOUNTS, TEST_CARDS } from './scenarios/outcomes.ts';
import { DEFAULT_SCENARIO, mergeScenario, parseScenarioPatch } from './scenarios/scenario.ts';

function device(extra: Partial<DeviceConfig> = {}) {
  let state: DeviceState = createDeviceState({
    serialNumber: 'SIM0001',
    model: 'POSBRIDGE-SIM',
    vendor: 'posbridge',
    firmware: '0.1.0',
    dialect: 'PBL/1',
    stepDelayMs: 10,
    historyLimit: 1000,
    ...extra,
  });
  let now = 0;
  const apply = (e: DeviceEvent): DeviceEffect[] => {
    const out = transition(state, e, (now += 1));
    state = out.state;
    return out.effects;
  };
  const lines = (effects: DeviceEffect[]) => effects.flatMap((e) => (e.type === 'reply' ? [pbl1LineFromReply(e.reply)] : []));
  const fields = (line: string) => {
    const d = decodeWireLine(line);
    if (!d.ok) throw new Error(line);
    return { verb: d.line.verb, rid: d.line.rid, ...Object.fromEntries(d.line.fields) } as Record<string, string>;
  };
  return {
    get state() {
      return state;
    },
    send: (line: string) => lines(apply(pbl1EventFromLine(line))).map(fields),
    effects: (e: DeviceEvent) => apply(e),
    step: (rid: string) => lines(apply({ type: 'step-due', rid })).map(fields),
    run(rid: string) {
      const out: Record<string, string>[] = [];
      while (state.phase.kind === 'running' && state.phase.sale.rid === rid) out.push(...this.step(rid));
      return out;
    },
  };
}
const line = (verb: string, rid: string, f: [string, string][] = []) => encodeWireLine({ verb, rid, fields: f });
const sale = (rid: string, amount: number, method = 'credit') =>
  line('SALE', rid, [['amount', String(amount)], ['currency', '986'], ['method', method], ['installments', '1']]);
const reverse = (verb: 'VOID' | 'REFUND', rid: string, ref: string, amount: number, currency = '986') =>
  line(verb, rid, [['ref', ref], ['amount', String(amount)], ['currency', currency]]);

describe('VOID and REFUND', () => {
  it('refunds in parts up to the sale amount, then rc 13; a VOID after a refund is rc 13', () => {
    const d = device();
    d.send(sale('s1', 3000));
    expect(d.run('s1').at(-1)).toMatchObject({ status: 'approved' });
    expect(d.send(reverse('REFUND', 'f1', 's1', 1000))).toEqual([
      { verb: 'ACK', rid: 'f1' },
      expect.objectContaining({ verb: 'RESULT', rid: 'f1', status: 'approved', amount: '1000', rc: '00', msg: 'Refunded', bin: '545454' }),
    ]);
    expect(d.send(reverse('REFUND', 'f2', 's1', 2000)).at(-1)).toMatchObject({ status: 'approved' });
    expect(d.send(reverse('REFUND', 'f3', 's1', 1)).at(-1)).toMatchObject({ status: 'declined', rc: '13' });
    expect(d.send(reverse('VOID', 'v1', 's1', 3000)).at(-1)).toMatchObject({ status: 'declined', rc: '13' });
  });

  it('voids the full amount once; a repeated rid never reverses twice', () => {
    const d = device();
    d.send(sale('s1', 1250));
    d.run('s1');
    const first = d.send(reverse('VOID', 'v1', 's1', 1250));
    expect(first.at(-1)).toMatchObject({ status: 'approved', msg: 'Voided' });
    expect(d.send(reverse('VOID', 'v1', 's1', 1250))).toEqual([first.at(-1)]);
    expect(d.send(reverse('VOID', 'v2', 's1', 1250)).at(-1)).toMatchObject({ status: 'declined', rc: '13' });
    expect(d.send(reverse('REFUND', 'f1', 's1', 1)).at(-1)).toMatchObject({ status: 'declined', rc: '13' });
  });

  it('rc 12 for an unknown, declined or aborted original, or another currency; BUSY while a sale runs', () => {
    const d = device();
    expect(d.send(reverse('VOID', 'v0', 'nope', 100)).at(-1)).toMatchObject({ status: 'declined', rc: '12' });
    d.send(sale('s5', 1305));
    d.run('s5');
    expect(d.send(reverse('REFUND', 'f5', 's5', 100)).at(-1)).toMatchObject({ rc: '12' });
    d.send(sale('s6', 1000));
    d.run('s6');
    expect(d.send(reverse('REFUND', 'f6', 's6', 100, '978')).at(-1)).toMatchObject({ rc: '12' });
    d.send(sale('s7', 1000));
    expect(d.send(reverse('REFUND', 'f7', 's6', 100))).toEqual([expect.objectContaining({ verb: 'ERR', code: 'BUSY' })]);
    expect(d.send(line('VOID', 'v8', [['amount', '1'], ['currency', '986']]))).toEqual([
      expect.objectContaining({ verb: 'ERR', code: 'BAD_REQUEST' }),
    ]);
  });
});

describe('test-amount rows decided by the machine', () => {
  it('60: an ABORT comes too late — ACK, then RESULT approved', () => {
    const d = device();
    d.send(sale('r60', 2060));
    expect(d.send(line('ABORT', 'r60'))).toEqual([
      { verb: 'ACK', rid: 'r60' },
      expect.objectContaining({ verb: 'RESULT', status: 'approved', rc: '00', auth: expect.stringMatching(/^\d{6}$/) }),
    ]);
  });
  it('10: the customer cancels while the card is asked for', () => {
    const d = device();
    d.send(sale('r10', 2010));
    expect(d.step('r10')).toEqual([expect.objectContaining({ verb: 'RESULT', status: 'aborted', rc: 'CANCELLED' })]);
  });
  it('30: the RESULT is decided and remembered but not sent; STATUS returns it', () => {
    const d = device();
    d.send(sale('r30', 2030));
    expect(d.run('r30')).toEqual([expect.objectContaining({ stage: 'pin' }), expect.objectContaining({ stage: 'processing' })]);
    expect(d.send(line('STATUS', 'r30'))).toEqual([expect.objectContaining({ verb: 'RESULT', status: 'approved' })]);
  });
  it('20: one more timer of slowAnswerDelayMs before the RESULT', () => {
    const d = device({ slowAnswerDelayMs: 12_345 });
    d.send(sale('r20', 2020));
    d.step('r20');
    d.step('r20');
    expect(d.effects({ type: 'step-due', rid: 'r20' })).toEqual([{ type: 'start-timer', rid: 'r20', delayMs: 12_345 }]);
    expect(d.step('r20')).toEqual([expect.objectContaining({ verb: 'RESULT', status: 'approved' })]);
  });
  it('40: reading the card pulls the cable for unplugMs', () => {
    const d = device({ unplugMs: 777 });
    d.send(sale('r40', 2040));
    expect(d.effects({ type: 'step-due', rid: 'r40' })).toContainEqual({ type: 'unplug', forMs: 777 });
  });
  it('54: expired card, declined with the card read', () => {
    const d = device();
    d.send(sale('r54', 2054, 'debit'));
    expect(d.run('r54').at(-1)).toMatchObject({ status: 'declined', rc: '54', brand: 'Maestro', bin: '520082', last4: '8210' });
  });
  it('reboot: a running sale ends aborted REBOOT and nothing is sent', () => {
    const d = device();
    d.send(sale('rb', 1000));
    const effects = d.effects({ type: 'reboot' });
    expect(effects.some((e) => e.type === 'reply')).toBe(false);
    expect(d.send(line('STATUS', 'rb'))).toEqual([expect.objectContaining({ status: 'aborted', rc: 'REBOOT' })]);
  });
  it('forceBehaviour and forceBrand override the amount', () => {
    const d = device({ forceBehaviour: 'decline-expired', forceBrand: 'amex' });
    d.send(sale('f', 1000));
    expect(d.run('f').at(-1)).toMatchObject({ status: 'declined', rc: '54', brand: 'Amex' });
  });
});

describe('manual customer', () => {
  it('arms no timer: the sale waits for the customer', () => {
    const d = device({ customer: 'manual' });
    const started = d.effects(pbl1EventFromLine(sale('m1', 1000)));
    expect(started.some((e) => e.type === 'start-timer')).toBe(false);
    expect(d.send(line('STATUS', 'm1'))).toEqual([expect.objectContaining({ verb: 'PROGRESS', stage: 'waiting_card' })]);
  });
  it('insert → PIN → processing → RESULT with the chosen brand', () => {
    const d = device({ customer: 'manual' });
    d.send(sale('m2', 1000));
    const insert = d.effects({ type: 'customer', action: 'present-card', entry: 'insert', brand: 'Elo' });
    expect(insert.some((e) => e.type === 'start-timer')).toBe(false);
    expect(d.state.phase.kind === 'running' && d.state.phase.sale.stage).toBe('pin');
    d.effects({ type: 'customer', action: 'enter-pin' });
    expect(d.run('m2').at(-1)).toMatchObject({ status: 'approved', brand: 'Elo', bin: '636368' });
  });
  it('cancel while waiting for the card; ignored once processing', () => {
    const d = device({ customer: 'manual' });
    d.send(sale('m3', 1000));
    d.effects({ type: 'customer', action: 'cancel' });
    expect(d.send(line('STATUS', 'm3'))).toEqual([expect.objectContaining({ status: 'aborted', rc: 'CANCELLED' })]);
    d.send(sale('m4', 1000));
    d.effects({ type: 'customer', action: 'present-card', entry: 'tap' });
    expect(d.effects({ type: 'customer', action: 'cancel' })).toEqual([expect.objectContaining({ type: 'input-rejected', reason: 'customer' })]);
  });
});

describe('scenario validation', () => {
  it('accepts a full patch and merges it', () => {
    const patch = parseScenarioPatch({ stepDelayMs: 5, customer: 'manual', forceBehaviour: 'lost-answer', faults: { corruptRate: 0.2, nakFirst: true } });
    const merged = mergeScenario(DEFAULT_SCENARIO, patch);
    expect(merged).toMatchObject({ stepDelayMs: 5, customer: 'manual', forceBehaviour: 'lost-answer', faults: { corruptRate: 0.2, nakFirst: true, dropAck: 0 } });
  });
  it('refuses unknown keys and bad values, listing every problem', () => {
    expect(() => parseScenarioPatch({ stepDelay: 1, faults: { corruptRate: 2, bogus: true }, forceBrand: 'Diners' })).toThrow(
      expect.objectContaining({ code: 'CFG_INVALID', details: { problems: expect.arrayContaining([expect.stringContaining('stepDelay'), expect.stringContaining('corruptRate'), expect.stringContaining('bogus'), expect.stringContaining('forceBrand')]) } }),
    );
  });
});

describe('interactive keys', () => {
  it('maps keys to commands', () => {
    expect(keyToCommand('i', { name: 'i' })).toEqual({ kind: 'insert' });
    expect(keyToCommand('t', { name: 't' })).toEqual({ kind: 'tap' });
    expect(keyToCommand('7', { name: '7' })).toEqual({ kind: 'pin-digit', digit: '7' });
    expect(keyToCommand('\r', { name: 'return' })).toEqual({ kind: 'pin-enter' });
    expect(keyToCommand('c', { name: 'c' })).toEqual({ kind: 'cancel' });
    expect(keyToCommand('u', { name: 'u' })).toEqual({ kind: 'cable' });
    expect(keyToCommand(undefined, { name: 'c', ctrl: true })).toEqual({ kind: 'quit' });
    expect(keyToCommand('z', { name: 'z' })).toEqual({ kind: 'none' });
  });
});

describe('README tables', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  it.each(TEST_AMOUNTS)('documents cents $cents ($behaviour)', (row) => {
    expect(readme).toMatch(new RegExp(`\\| \`${row.cents}\` \\|[^\\n]*\\| ${row.status} \\| \`${row.responseCode}\` \\|`));
  });
  it.each(TEST_CARDS)('documents the $method card $card.brand', (row) => {
    expect(readme).toContain(`| ${row.method} | \`${row.unitsDigit}\` | ${row.card.brand} | \`${row.card.bin}\` | \`${row.card.last4}\` |`);
  });
});
