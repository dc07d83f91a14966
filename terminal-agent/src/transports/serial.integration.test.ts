/**
 * One approved sale over a REAL pseudo-terminal pair made by socat: the agent's serial
 * transport + line driver on end `a`, a scripted fake terminal opened with serialport on `b`.
 * Skipped (with a message) only when socat is not on PATH.
 * @requires-program socat
 */
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, type PtyPair } from '../testing/pty-pair.ts';
import { destroyStream } from './byte-transport.ts';
import { LineDriver } from '../drivers/line/line-driver.ts';
import { FakeLineTerminal } from '../testing/fake-line-terminal.ts';
import { createLogSink } from '../testing/log-sink.ts';
import { openSerialPort } from './serial.ts';

describe('serial transport over a real pty (socat)', () => {
  let pty: PtyPair;
  let deviceEnd: Duplex | undefined;
  let driver: LineDriver | undefined;

  beforeAll(async () => {
    pty = await openPtyPair('posbridge-pty-');
  });

  afterAll(async () => {
    await driver?.close();
    await destroyStream(deviceEnd);
    pty?.close();
  });

  it('runs one approved sale', async () => {
    deviceEnd = await openSerialPort({ path: pty.devicePath, baudRate: 9600 });
    const terminal = new FakeLineTerminal(deviceEnd, { serial: 'PTY-1' });
    const sink = createLogSink('debug');
    driver = new LineDriver({
      open: () => openSerialPort({ path: pty.hostPath, baudRate: 9600 }),
      logger: sink.logger,
      timings: {
        identTimeoutMs: 1000,
        ackTimeoutMs: 1000,
        saleAttempts: 3,
        resultTimeoutMs: 3000,
        statusTimeoutMs: 1000,
        statusAttempts: 3,
        statusBackoffMs: 50,
      },
    });
    await expect(driver.identify()).resolves.toMatchObject({ serialNumber: 'PTY-1', dialect: 'PBL/1' });
    const outcome = await driver.sale({
      paymentId: 'pay-pty',
      rid: 'ppty0001',
      amount: { amountMinor: 1250, currency: 'BRL' },
      method: 'debit',
      installments: 1,
    });
    expect(outcome).toMatchObject({
      kind: 'result',
      result: { outcome: 'approved', amount: { amountMinor: 1250, currency: 'BRL' }, card: { lastDigits: '1111' } },
    });
    expect(terminal.sales.size).toBe(1);
    expect(terminal.saleLinesFor('ppty0001')).toBe(1);
    expect(sink.find('line received').some((r) => String(r['line']).startsWith('RESULT ppty0001'))).toBe(true);
  }, 15_000);

  it('reports TERM_PORT_OPEN_FAILED for a missing port', async () => {
    await expect(openSerialPort({ path: join(dirname(pty.hostPath), 'nope'), baudRate: 9600 })).rejects.toMatchObject({ code: 'TERM_PORT_OPEN_FAILED' });
  });
});
