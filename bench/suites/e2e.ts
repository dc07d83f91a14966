/**
 * End-to-end latency from binding a terminal (`POST submitUrl`) to the VTEX callback arriving,
 * through server, WebSocket, agent, a real pseudo-terminal and the simulator at zero think
 * time — side by side with the raw round trip of the same PBL/1 lines over the same kind of
 * pseudo-terminal pair with a responder that answers instantly. The ratio is what posbridge's
 * hops (HTTP, SQLite commits, WebSocket, acks, the callback POST) add to the wire itself.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { encodeLine } from '@posbridge/protocol/terminal';
import { startLocalStack } from '@posbridge/testkit/stack';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
} from '@posbridge/testkit';

/** Latency distribution of one measured path, milliseconds. */
export interface LatencyRow {
  path:
    | 'posbridge bind→callback'
    | 'raw pty SALE→RESULT'
    | 'cluster bind→callback, agent on the same instance'
    | 'cluster bind→callback, agent on the other instance';
  samples: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

/** p-th percentile (0–100) of `values`, nearest-rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(0, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[rank] ?? Number.NaN;
}

/** The distribution of `samples` (ms) as a row. */
export function summarise(path: LatencyRow['path'], samples: number[]): LatencyRow {
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    path,
    samples: samples.length,
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    meanMs: round(samples.reduce((a, b) => a + b, 0) / samples.length),
  };
}

/** Bind → callback of `payments` sequential payments on the single-instance local stack (SQLite, in process), ms each. */
export async function measurePosbridge(payments: number): Promise<number[]> {
  const receiver = await startCallbackReceiver();
  const stack = await startLocalStack({ logger: pino({ level: 'silent' }), link: 'pty', stepDelayMs: 0 });
  try {
    const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
    const serialNumber = stack.terminals[0]!.serialNumber;
    const samples: number[] = [];
    for (let i = 0; i < payments + 3; i++) {
      const paymentId = `BENCH${Date.now().toString(16)}${i}`.toUpperCase().padEnd(32, '0');
      const transactionId = `TX${paymentId}`.slice(0, 32);
      const body = buildCreatePayment({ paymentId, transactionId, callbackUrl: receiver.callbackUrlFor(transactionId, paymentId) });
      const submitUrl = appPayload(await gateway.createPayment(body))!.payload['submitUrl'] as string;
      const started = performance.now();
      const callbackArrived = receiver.waitFor(paymentId, 30_000);
      await submitTerminal(submitUrl, serialNumber);
      await callbackArrived;
      if (i >= 3) samples.push(performance.now() - started); // the first three warm up
    }
    return samples;
  } finally {
    await stack.close();
    await receiver.close();
  }
}

async function waitForPath(path: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await stat(path);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`socat did not create ${path}`);
}

async function measureRawPty(roundTrips: number): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'posbridge-bench-pty-'));
  const socat = spawn('socat', [`pty,raw,echo=0,link=${dir}/a`, `pty,raw,echo=0,link=${dir}/b`], { stdio: 'ignore' });
  try {
    await waitForPath(join(dir, 'a'));
    await waitForPath(join(dir, 'b'));
    const host = new SerialPort({ path: join(dir, 'a'), baudRate: 9600 });
    const terminal = new SerialPort({ path: join(dir, 'b'), baudRate: 9600 });
    await Promise.all([host, terminal].map((p) => new Promise((r) => p.once('open', r))));
    const hostLines = host.pipe(new ReadlineParser({ delimiter: '\n' }));
    const terminalLines = terminal.pipe(new ReadlineParser({ delimiter: '\n' }));
    // The responder answers a SALE with exactly the lines the simulator sends: ACK, three PROGRESS, RESULT.
    terminalLines.on('data', (line: string) => {
      const rid = line.split(' ')[1] ?? 'x';
      terminal.write(
        encodeLine({ verb: 'ACK', rid }) +
          encodeLine({ verb: 'PROGRESS', rid, stage: 'waiting_card' }) +
          encodeLine({ verb: 'PROGRESS', rid, stage: 'pin' }) +
          encodeLine({ verb: 'PROGRESS', rid, stage: 'processing' }) +
          encodeLine({
            verb: 'RESULT',
            rid,
            status: 'approved',
            amountMinor: 3190,
            currency: '986',
            responseCode: '00',
            brand: 'Mastercard',
            bin: '545454',
            last4: '5454',
            authCode: '112648',
            nsu: '000000001',
            tid: 'SIM0001-000001',
            message: 'Approved',
          }),
      );
    });
    const samples: number[] = [];
    for (let i = 0; i < roundTrips + 3; i++) {
      const rid = `r${i}`;
      const started = performance.now();
      const done = new Promise<void>((resolve) => {
        const onLine = (line: string) => {
          if (line.startsWith(`RESULT ${rid} `)) {
            hostLines.off('data', onLine);
            resolve();
          }
        };
        hostLines.on('data', onLine);
      });
      host.write(encodeLine({ verb: 'SALE', rid, amountMinor: 3190, currency: '986', method: 'credit', installments: 1 }));
      await done;
      if (i >= 3) samples.push(performance.now() - started);
    }
    await Promise.all([host, terminal].map((p) => new Promise((r) => p.close(r))));
    return samples;
  } finally {
    socat.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

/** Measures both paths with `samples` payments / round trips each. */
export async function benchE2e(samples: number, log: (line: string) => void): Promise<LatencyRow[]> {
  const raw = summarise('raw pty SALE→RESULT', await measureRawPty(samples));
  log(`e2e raw pty SALE→RESULT      p50 ${raw.p50Ms} ms  p99 ${raw.p99Ms} ms  (n=${raw.samples})`);
  const full = summarise('posbridge bind→callback', await measurePosbridge(samples));
  log(`e2e posbridge bind→callback  p50 ${full.p50Ms} ms  p99 ${full.p99Ms} ms  (n=${full.samples})`);
  return [raw, full];
}
