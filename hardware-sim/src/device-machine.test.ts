/**
 * Device machine, driven through the PBL/1 adapter with hand-written lines and the simulator's
 * own codec. Time is passed in; timers are fired by dispatching `step-due` by hand.
 */
import { describe, expect, it } from 'vitest';
import {
  createDeviceState,
  runningRid,
  transition,
  type DeviceEffect,
  type DeviceEvent,
  type DeviceState,
} from './device-machine.ts';
import { pbl1EventFromLine, pbl1LineFromReply } from './dialects/pbl1.ts';
import { decodeWireLine, encodeWireLine, fieldOf, simCrcHex, type WireLine } from './line-codec.ts';

const T0 = 1_700_000_000_000;

/** A tiny harness: keeps state, records effects, renders replies as lines. */
function device(historyLimit = 1000) {
  let state: DeviceState = createDeviceState({
    serialNumber: 'SIM0001',
    model: 'POSBRIDGE-SIM',
    vendor: 'posbridge',
    firmware: '0.1.0',
    dialect: 'PBL/1',
    stepDelayMs: 250,
    historyLimit,
  });
  let now = T0;
  const apply = (event: DeviceEvent): DeviceEffect[] => {
    now += 1;
    const out = transition(state, event, now);
    state = out.state;
    return out.effects;
  };
  const sent = (effects: DeviceEffect[]): string[] =>
    effects.flatMap((e) => (e.type === 'reply' ? [pbl1LineFromReply(e.reply)] : []));
  return {
    get state() {
      return state;
    },
    /** Sends one line; returns the lines the terminal answered. */
    send(line: string): string[] {
      return sent(apply(pbl1EventFromLine(line)));
    },
    sendEffects(line: string): DeviceEffect[] {
      return apply(pbl1EventFromLine(line));
    },
    /** Fires the step timer of `rid`; returns answered lines. */
    step(rid: string): string[] {
      return sent(apply({ type: 'step-due', rid }));
    },
    stepEffects(rid: string): DeviceEffect[] {
      return apply({ type: 'step-due', rid });
    },
    /** Runs the sale timer to the end; returns every line sent meanwhile. */
    runToEnd(rid: string): string[] {
      const lines: string[] = [];
      while (runningRid(state) === rid) lines.push(...this.step(rid));
      return lines;
    },
  };
}

const line = (verb: string, rid: string, fields: [string, string][] = []) => encodeWireLine({ verb, rid, fields });
const sale = (rid: string, amountMinor: number) =>
  line('SALE', rid, [
    ['amount', String(amountMinor)],
    ['currency', '986'],
    ['method', 'credit'],
    ['installments', '1'],
  ]);
const decoded = (text: string): WireLine => {
  const d = decodeWireLine(text);
  if (!d.ok) throw new Error(`undecodable ${text}`);
  return d.line;
};
const summary = (text: string) => {
  const d = decoded(text);
  return `${d.verb} ${d.rid}${d.fields.map(([k, v]) => ` ${k}=${v}`).join('')}`;
};

describe('device machine: sale', () => {
  it('approves with the test card: ACK, three stages, RESULT', () => {
    const d = device();
    const started = d.sendEffects(sale('r1', 1250));
    expect(started).toContainEqual({ type: 'sale-started', rid: 'r1', amountMinor: 1250, currency: '986' });
    expect(started).toContainEqual({ type: 'start-timer', rid: 'r1', delayMs: 250 });
    expect(started.filter((e) => e.type === 'reply').map((e) => (e.type === 'reply' ? summary(pbl1LineFromReply(e.reply)) : ''))).toEqual([
      'ACK r1',
      'PROGRESS r1 stage=waiting_card',
    ]);
    expect(d.step('r1').map(summary)).toEqual(['PROGRESS r1 stage=pin']);
    expect(d.step('r1').map(summary)).toEqual(['PROGRESS r1 stage=processing']);
    const final = d.stepEffects('r1');
    const lines = final.flatMap((e) => (e.type === 'reply' ? [pbl1LineFromReply(e.reply)] : []));
    expect(lines).toHaveLength(1);
    const result = decoded(lines[0] ?? '');
    expect(result.verb).toBe('RESULT');
    expect(Object.fromEntries(result.fields)).toEqual({
      status: 'approved',
      amount: '1250',
      currency: '986',
      rc: '00',
      brand: 'Mastercard',
      bin: '545454',
      last4: '5454',
      auth: expect.stringMatching(/^\d{6}$/),
      nsu: '000000001',
      tid: 'SIM0001-000001',
      msg: 'Approved',
    });
    expect(final).toContainEqual(expect.objectContaining({ type: 'sale-finished' }));
    expect(runningRid(d.state)).toBeUndefined();
  });

  it('declines amounts ending in 05 with rc 51 and no auth code', () => {
    const d = device();
    d.send(sale('r2', 1305));
    const result = decoded(d.runToEnd('r2').at(-1) ?? '');
    expect(result.verb).toBe('RESULT');
    expect(fieldOf(result, 'status')).toBe('declined');
    expect(fieldOf(result, 'rc')).toBe('51');
    expect(fieldOf(result, 'msg')).toBe('Insufficient funds');
    expect(fieldOf(result, 'auth')).toBeUndefined();
  });

  it('numbers NSUs and tids upwards across sales', () => {
    const d = device();
    d.send(sale('a', 100));
    const first = decoded(d.runToEnd('a').at(-1) ?? '');
    d.send(sale('b', 200));
    const second = decoded(d.runToEnd('b').at(-1) ?? '');
    expect([fieldOf(first, 'nsu'), fieldOf(second, 'nsu')]).toEqual(['000000001', '000000002']);
    expect([fieldOf(first, 'tid'), fieldOf(second, 'tid')]).toEqual(['SIM0001-000001', 'SIM0001-000002']);
  });

  it('never charges twice for a repeated rid: ACK while running, the same RESULT once finished', () => {
    const d = device();
    d.send(sale('r1', 1250));
    const again = d.sendEffects(sale('r1', 1250));
    expect(again.some((e) => e.type === 'sale-started' || e.type === 'start-timer')).toBe(false);
    expect(again.flatMap((e) => (e.type === 'reply' ? [summary(pbl1LineFromReply(e.reply))] : []))).toEqual(['ACK r1']);

    const resultLine = d.runToEnd('r1').at(-1) ?? '';
    const repeat = d.sendEffects(sale('r1', 1250));
    expect(repeat.some((e) => e.type === 'sale-started' || e.type === 'sale-finished')).toBe(false);
    expect(repeat.flatMap((e) => (e.type === 'reply' ? [pbl1LineFromReply(e.reply)] : []))).toEqual([resultLine]);
    // Even with another amount: the rid is the transaction.
    expect(d.send(sale('r1', 9999))).toEqual([resultLine]);
  });

  it('answers BUSY to a new rid while another sale runs, and starts nothing', () => {
    const d = device();
    d.send(sale('r1', 1250));
    const busy = d.sendEffects(sale('r2', 500));
    expect(busy.some((e) => e.type === 'sale-started')).toBe(false);
    expect(busy.flatMap((e) => (e.type === 'reply' ? [summary(pbl1LineFromReply(e.reply))] : []))).toEqual(['ERR r2 code=BUSY']);
    expect(runningRid(d.state)).toBe('r1');
    // r2 is not remembered: once idle, it can run.
    d.runToEnd('r1');
    expect(d.send(sale('r2', 500)).map(summary)).toEqual(['ACK r2', 'PROGRESS r2 stage=waiting_card']);
  });

  it('ignores a stale step timer', () => {
    const d = device();
    expect(d.stepEffects('ghost')).toEqual([]);
  });

  it('forgets the oldest finished rid beyond the history limit', () => {
    const d = device(2);
    for (const rid of ['a', 'b', 'c']) {
      d.send(sale(rid, 100));
      d.runToEnd(rid);
    }
    expect(d.send(line('STATUS', 'a')).map(summary)).toEqual(['ERR a code=NOT_FOUND']);
    expect(decoded(d.send(line('STATUS', 'c'))[0] ?? '').verb).toBe('RESULT');
  });
});

describe('device machine: STATUS', () => {
  it('is NOT_FOUND for an unknown rid', () => {
    expect(device().send(line('STATUS', 'nope')).map(summary)).toEqual(['ERR nope code=NOT_FOUND']);
  });
  it('reports the current stage while running', () => {
    const d = device();
    d.send(sale('r1', 1250));
    expect(d.send(line('STATUS', 'r1')).map(summary)).toEqual(['PROGRESS r1 stage=waiting_card']);
    d.step('r1');
    expect(d.send(line('STATUS', 'r1')).map(summary)).toEqual(['PROGRESS r1 stage=pin']);
    d.step('r1');
    expect(d.send(line('STATUS', 'r1')).map(summary)).toEqual(['PROGRESS r1 stage=processing']);
  });
  it('repeats the stored RESULT once finished', () => {
    const d = device();
    d.send(sale('r1', 1250));
    const resultLine = d.runToEnd('r1').at(-1);
    expect(d.send(line('STATUS', 'r1'))).toEqual([resultLine]);
  });
  it('does not mix up rids: STATUS of another rid while one runs is NOT_FOUND', () => {
    const d = device();
    d.send(sale('r1', 1250));
    expect(d.send(line('STATUS', 'r2')).map(summary)).toEqual(['ERR r2 code=NOT_FOUND']);
  });
});

describe('device machine: ABORT', () => {
  it('aborts a running sale: ACK, RESULT aborted, timer cancelled, later steps ignored', () => {
    const d = device();
    d.send(sale('r1', 1250));
    d.step('r1');
    const effects = d.sendEffects(line('ABORT', 'r1'));
    expect(effects).toContainEqual({ type: 'cancel-timer', rid: 'r1' });
    expect(effects).toContainEqual(expect.objectContaining({ type: 'sale-finished' }));
    const lines = effects.flatMap((e) => (e.type === 'reply' ? [summary(pbl1LineFromReply(e.reply))] : []));
    expect(lines).toEqual([
      'ACK r1',
      'RESULT r1 status=aborted amount=1250 currency=986 rc=ABORTED tid=SIM0001-000001 msg=Aborted by host',
    ]);
    expect(d.step('r1')).toEqual([]);
    // The aborted rid is final: SALE, STATUS and ABORT all repeat its RESULT.
    const resultLine = encodeWireLine(decoded(d.send(line('STATUS', 'r1'))[0] ?? ''));
    expect(d.send(sale('r1', 1250))).toEqual([resultLine]);
    expect(d.send(line('ABORT', 'r1'))).toEqual([resultLine]);
  });
  it('repeats the RESULT of a finished sale', () => {
    const d = device();
    d.send(sale('r1', 1250));
    const resultLine = d.runToEnd('r1').at(-1);
    expect(d.send(line('ABORT', 'r1'))).toEqual([resultLine]);
  });
  it('is NOT_FOUND for an unknown rid', () => {
    expect(device().send(line('ABORT', 'x')).map(summary)).toEqual(['ERR x code=NOT_FOUND']);
  });
});

describe('device machine: IDENT and bad input', () => {
  it('answers IDENT with serial, model, vendor, firmware and dialect', () => {
    const body = 'IDENT id1 serial=SIM0001 model=POSBRIDGE-SIM vendor=posbridge firmware=0.1.0 dialect=PBL%2F1';
    expect(device().send(line('IDENT', 'id1'))).toEqual([`${body}*${simCrcHex(body)}`]);
  });
  it('NAKs a bad CRC with the rid when readable, and starts nothing', () => {
    const good = sale('r1', 1250);
    const bad = `${good.slice(0, -4)}${good.endsWith('0000') ? '0001' : '0000'}`;
    const d = device();
    const effects = d.sendEffects(bad);
    expect(effects.some((e) => e.type === 'sale-started')).toBe(false);
    expect(effects.flatMap((e) => (e.type === 'reply' ? [summary(pbl1LineFromReply(e.reply))] : []))).toEqual(['NAK r1 reason=checksum']);
    expect(effects).toContainEqual(expect.objectContaining({ type: 'input-rejected', reason: 'checksum', rid: 'r1' }));
  });
  it('NAKs an unreadable line with rid "-"', () => {
    expect(device().send('garbage without trailer').map(summary)).toEqual(['NAK - reason=syntax']);
    expect(device().send(line('STATUS', 'ok').replace('ok', 'o!')).map(summary)).toEqual(['NAK - reason=checksum']);
  });
  it('NAKs a grammar error (valid CRC) with reason syntax', () => {
    const body = 'SALE r1 amount=12 50';
    expect(device().send(`${body}*${simCrcHex(body)}`).map(summary)).toEqual(['NAK r1 reason=syntax']);
  });
  it('answers UNSUPPORTED to an unknown verb', () => {
    expect(device().send(line('PRINT', 'r5')).map(summary)).toEqual(['ERR r5 code=UNSUPPORTED msg=verb PRINT is not supported']);
  });
  it('answers BAD_REQUEST to a SALE with a missing or bad field', () => {
    expect(device().send(line('SALE', 'r6', [['amount', '100']])).map(summary)[0]).toMatch(/^ERR r6 code=BAD_REQUEST msg=/);
    expect(
      device()
        .send(line('SALE', 'r7', [['amount', '0'], ['currency', '986'], ['method', 'credit'], ['installments', '1']]))
        .map(summary)[0],
    ).toMatch(/^ERR r7 code=BAD_REQUEST/);
  });
});
