/**
 * The Concert E+ driver over a REAL pseudo-terminal pair made by socat: the agent's serial
 * transport on end `a`, the scripted Concert terminal opened with serialport on `b`. Proves the
 * parser copes with however the tty layer chunks the bytes. Skipped only without socat.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSerialPort } from '../../transports/serial.ts';
import { FakeConcertTerminal } from '../../testing/fake-concert-terminal.ts';
import { createLogSink } from '../../testing/log-sink.ts';
import { ConcertDriver } from './concert-driver.ts';

const hasSocat = spawnSync('sh', ['-c', 'command -v socat']).status === 0;

describe.skipIf(!hasSocat)('Concert E+ over a real pty (socat)', () => {
  let dir: string;
  let socat: ChildProcess;
  let deviceEnd: Duplex | undefined;
  let driver: ConcertDriver | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'posbridge-concert-pty-'));
    socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`], { stdio: 'ignore' });
    const t0 = Date.now();
    while (!(existsSync(join(dir, 'a')) && existsSync(join(dir, 'b')))) {
      if (Date.now() - t0 > 5000) throw new Error('socat did not create the pty pair');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(async () => {
    await driver?.close();
    if (deviceEnd && !deviceEnd.destroyed) {
      await new Promise<void>((r) => {
        deviceEnd!.once('close', () => r());
        deviceEnd!.destroy();
      });
    }
    socat?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs an approved sale, then a refused one after a NAKed frame', async () => {
    deviceEnd = await openSerialPort({ path: join(dir, 'b'), baudRate: 9600 });
    const terminal = new FakeConcertTerminal(deviceEnd, { nakFrames: 0 });
    driver = new ConcertDriver({
      open: () => openSerialPort({ path: join(dir, 'a'), baudRate: 9600 }),
      logger: createLogSink().logger,
      serialNumber: 'ING-PTY',
      timings: { answerTimeoutMs: 5000 },
    });
    await expect(driver.identify()).resolves.toMatchObject({ serialNumber: 'ING-PTY', dialect: 'concert-e+' });
    const rid = driver.newReference();
    const outcome = await driver.sale({ paymentId: 'pay-pty', rid, amount: { amountMinor: 1250, currency: 'EUR' }, method: 'debit', installments: 1 });
    expect(outcome).toMatchObject({ kind: 'result', result: { outcome: 'approved', card: { firstDigits: '497010', lastDigits: '1234' } } });
    expect(terminal.charged).toEqual(new Set([rid]));

    terminal.script = { status: '7', nakFrames: 2 };
    const rid2 = driver.newReference();
    const refused = await driver.sale({ paymentId: 'pay-pty-2', rid: rid2, amount: { amountMinor: 990, currency: 'EUR' }, method: 'debit', installments: 1 });
    expect(refused).toMatchObject({ kind: 'result', result: { outcome: 'denied' } });
  }, 20_000);
});
