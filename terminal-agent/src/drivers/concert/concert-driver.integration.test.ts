/**
 * The Concert E+ driver over a REAL pseudo-terminal pair made by socat: the agent's serial
 * transport on end `a`, the scripted Concert terminal opened with serialport on `b`. Proves the
 * parser copes with however the tty layer chunks the bytes. Run against a terminal that echoes
 * the private field and against ones that do not (blank, zeros, their own reference: what real
 * terminals do). Skipped only without socat.
 * @requires-program socat
 */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPtyPair, type PtyPair } from '../../testing/pty-pair.ts';
import { destroyStream } from '../../transports/byte-transport.ts';
import { openSerialPort } from '../../transports/serial.ts';
import { FakeConcertTerminal } from '../../testing/fake-concert-terminal.ts';
import { createLogSink } from '../../testing/log-sink.ts';
import { ConcertDriver } from './concert-driver.ts';


describe.each(['echo', 'blank', 'zeros', 'own'] as const)('Concert E+ over a real pty (socat), private field %s', (privateField) => {
  let pty: PtyPair;
  let deviceEnd: Duplex | undefined;
  let driver: ConcertDriver | undefined;

  beforeAll(async () => {
    pty = await openPtyPair('posbridge-concert-pty-');
  });

  afterAll(async () => {
    await driver?.close();
    await destroyStream(deviceEnd);
    pty?.close();
  });

  it('runs an approved sale, then a refused one after a NAKed frame', async () => {
    deviceEnd = await openSerialPort({ path: pty.devicePath, baudRate: 9600 });
    const terminal = new FakeConcertTerminal(deviceEnd, { nakFrames: 0, privateField });
    driver = new ConcertDriver({
      open: () => openSerialPort({ path: pty.hostPath, baudRate: 9600 }),
      logger: createLogSink().logger,
      serialNumber: 'ING-PTY',
      timings: { answerTimeoutMs: 5000 },
    });
    await expect(driver.identify()).resolves.toMatchObject({ serialNumber: 'ING-PTY', dialect: 'concert-e+' });
    const rid = driver.newReference();
    const outcome = await driver.sale({ paymentId: 'pay-pty', rid, amount: { amountMinor: 1250, currency: 'EUR' }, method: 'debit', installments: 1 });
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved', card: { firstDigits: '497010', lastDigits: '1234' } } });
    expect(terminal.charged).toEqual(new Set([rid]));

    terminal.script = { status: '7', nakFrames: 2, privateField };
    const rid2 = driver.newReference();
    const refused = await driver.sale({ paymentId: 'pay-pty-2', rid: rid2, amount: { amountMinor: 990, currency: 'EUR' }, method: 'debit', installments: 1 });
    expect(refused).toMatchObject({ kind: 'result', result: { outcome: 'denied' } });
  }, 20_000);
});
