import { describe, expect, it } from 'vitest';
import { createDeviceState, transition, type FinishedSale, type SaleResult } from './device-machine.ts';
import { deviceTotals } from './device-totals.ts';
import { pbl1EventFromLine, pbl1LineFromReply } from './dialects/pbl1.ts';

const DAY = Date.UTC(2026, 11, 2, 12);

const done = (result: Partial<SaleResult> & Pick<SaleResult, 'rid' | 'operation' | 'status' | 'amountMinor'>, at = DAY): [string, FinishedSale] => [
  result.rid,
  { result: { reference: result.rid, currency: '986', responseCode: '00', tid: 't', message: '', method: 'credit', ...result }, finishedAtMs: at },
];

describe('the simulated terminal totals', () => {
  const finished = new Map<string, FinishedSale>([
    done({ rid: 's1', operation: 'sale', status: 'approved', amountMinor: 1000 }),
    done({ rid: 's2', operation: 'sale', status: 'approved', amountMinor: 700 }),
    done({ rid: 'v2', operation: 'void', status: 'approved', amountMinor: 700, ref: 's2' }),
    done({ rid: 's3', operation: 'sale', status: 'declined', amountMinor: 300, responseCode: '51' }),
    done({ rid: 's4', operation: 'sale', status: 'aborted', amountMinor: 900 }),
    done({ rid: 's5', operation: 'sale', status: 'approved', amountMinor: 5000, method: 'debit' }, DAY - 86_400_000),
    done({ rid: 'r5', operation: 'refund', status: 'approved', amountMinor: 200, ref: 's5', method: 'debit' }),
    done({ rid: 'r6', operation: 'refund', status: 'declined', amountMinor: 9999, ref: 's1' }),
  ]);

  it('counts approved, voided, declined and refunded of the day; aborted and other days are not counted', () => {
    expect(deviceTotals(finished, '20261202')).toEqual([
      { currency: '986', method: 'credit', bucket: 'approved', count: 1, amountMinor: 1000 },
      { currency: '986', method: 'credit', bucket: 'declined', count: 1, amountMinor: 300 },
      { currency: '986', method: 'credit', bucket: 'voided', count: 1, amountMinor: 700 },
      { currency: '986', method: 'debit', bucket: 'refunded', count: 1, amountMinor: 200 },
    ]);
    expect(deviceTotals(finished, '20261201')).toEqual([{ currency: '986', method: 'debit', bucket: 'approved', count: 1, amountMinor: 5000 }]);
  });

  it('answers TOTALS over PBL/1 (checksum computed outside the codebase), today by default, and refuses a bad date', () => {
    const config = { serialNumber: 'SIM0001', model: 'POSBRIDGE-SIM', vendor: 'posbridge', firmware: '0.1.0', dialect: 'PBL/1', stepDelayMs: 5, historyLimit: 1000 };
    const state = { ...createDeviceState(config), finished };
    const { effects } = transition(state, pbl1EventFromLine(`TOTALS tq1*${crcOf('TOTALS tq1')}`), DAY);
    const lines = effects.flatMap((e) => (e.type === 'reply' ? [pbl1LineFromReply(e.reply)] : []));
    // Python: binascii.crc_hqx(body, 0xFFFF) → 6C13.
    expect(lines).toEqual([
      'TOTALS tq1 date=20261202 n=4 t1=986.credit.approved.1.1000 t2=986.credit.declined.1.300 t3=986.credit.voided.1.700 t4=986.debit.refunded.1.200*6C13',
    ]);
    expect(pbl1EventFromLine(`TOTALS tq2 date=2026-12-02*${crcOf('TOTALS tq2 date=2026-12-02')}`)).toMatchObject({ type: 'refused', code: 'BAD_REQUEST' });
  });
});

/** CRC-16/CCITT-FALSE, written out here so the test does not lean on the simulator's codec. */
function crcOf(body: string): string {
  let crc = 0xffff;
  for (const ch of body) {
    crc ^= ch.charCodeAt(0) << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, '0');
}
