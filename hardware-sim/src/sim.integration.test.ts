/**
 * The simulator end to end on its real links: socat pseudo-terminals opened with serialport (as
 * the agent does), and the in-process Duplex. Requests are encoded with the simulator's own codec;
 * every answer is also checked with the agent-side decoder so both sides agree on the wire.
 * @requires-program socat
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Duplex } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import pino from 'pino';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeTerminalLine } from '@posbridge/protocol/terminal';
import { LineSplitter } from './in-process.ts';
import { decodeWireLine, encodeWireLine, fieldOf } from './line-codec.ts';
import { startSim, type RunningSim, type SimTerminalHandle } from './index.ts';

/** A pino logger whose records land in an array. */
function captureLogger() {
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') records.push(JSON.parse(text) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), records };
}

/** Lines read from a byte stream, awaited in order. */
class LineInbox {
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  push(line: string): void {
    this.#lines.push(line.replace(/\r$/, ''));
    this.#wake?.();
  }
  /** Next line (waits up to `timeoutMs`). */
  async next(timeoutMs = 3_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.#lines.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('no line received in time');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    return this.#lines.shift() as string;
  }
  /** Reads lines until one satisfies `done`; returns all of them. */
  async until(done: (line: string) => boolean): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const line = await this.next();
      out.push(line);
      if (done(line)) return out;
    }
  }
}

const req = (verb: string, rid: string, fields: [string, string][] = []) => `${encodeWireLine({ verb, rid, fields })}\n`;
const sale = (rid: string, amountMinor: number) =>
  req('SALE', rid, [
    ['amount', String(amountMinor)],
    ['currency', '986'],
    ['method', 'credit'],
    ['installments', '1'],
  ]);
/** Decodes an answer with both codecs; returns the simulator codec's view. */
function answer(text: string) {
  const sim = decodeWireLine(text);
  if (!sim.ok) throw new Error(`sim codec rejects ${text}: ${sim.detail}`);
  const agent = decodeTerminalLine(text);
  if (!agent.ok) throw new Error(`agent codec rejects ${text}: ${agent.detail}`);
  return sim.line;
}
const verbs = (lines: string[]) => lines.map((l) => {
  const a = answer(l);
  return a.verb === 'PROGRESS' ? `PROGRESS ${fieldOf(a, 'stage')}` : a.verb;
});
const isResult = (rid: string) => (l: string) => {
  const a = decodeWireLine(l);
  return a.ok && a.line.verb === 'RESULT' && a.line.rid === rid;
};

/** Opens the agent's end of a pty link the way the agent does. */
async function openAgentEnd(path: string): Promise<{ port: SerialPort; inbox: LineInbox; write(text: string): Promise<void> }> {
  const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const inbox = new LineInbox();
  port.pipe(new ReadlineParser({ delimiter: '\n' })).on('data', (l: string) => inbox.push(l));
  return {
    port,
    inbox,
    write: (text) => new Promise<void>((resolve, reject) => port.write(text, (err) => (err ? reject(err) : port.drain(() => resolve())))),
  };
}
const closePort = (port: SerialPort) => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
async function started(sim: Promise<RunningSim>): Promise<RunningSim> {
  const s = await sim;
  cleanups.push(() => s.close());
  return s;
}

describe("link 'pty' (socat + serialport)", () => {
  it('answers IDENT and SALE on the real pty, never charges a rid twice, survives the agent reopening', async () => {
    const { logger, records } = captureLogger();
    const sim = await started(startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger, link: 'pty', stepDelayMs: 5 }));
    const handle = sim.terminals[0] as SimTerminalHandle;
    expect(handle.link).toBe('pty');
    if (handle.link !== 'pty') return;
    expect(existsSync(handle.path)).toBe(true);

    let agent = await openAgentEnd(handle.path);
    cleanups.push(() => closePort(agent.port));

    await agent.write(req('IDENT', 'id1'));
    const ident = answer(await agent.inbox.next());
    expect(ident.verb).toBe('IDENT');
    expect(Object.fromEntries(ident.fields)).toMatchObject({ serial: 'SIM0001', model: 'POSBRIDGE-SIM', vendor: 'posbridge', dialect: 'PBL/1' });
    expect(fieldOf(ident, 'firmware')).toMatch(/^\d+\.\d+\.\d+/);

    await agent.write(sale('r1', 1250));
    const lines = await agent.inbox.until(isResult('r1'));
    expect(verbs(lines)).toEqual(['ACK', 'PROGRESS waiting_card', 'PROGRESS pin', 'PROGRESS processing', 'RESULT']);
    const result = answer(lines.at(-1) ?? '');
    expect(Object.fromEntries(result.fields)).toMatchObject({ status: 'approved', amount: '1250', rc: '00', brand: 'Mastercard', bin: '545454', last4: '5454' });
    expect(handle.salesCount('r1')).toBe(1);

    // Same rid again: the same RESULT line, no second charge.
    await agent.write(sale('r1', 1250));
    expect(await agent.inbox.next()).toBe(lines.at(-1));
    expect(handle.salesCount('r1')).toBe(1);

    // Decline by test amount.
    await agent.write(sale('r2', 1305));
    const declined = answer((await agent.inbox.until(isResult('r2'))).at(-1) ?? '');
    expect(Object.fromEntries(declined.fields)).toMatchObject({ status: 'declined', rc: '51', msg: 'Insufficient funds' });
    expect(fieldOf(declined, 'auth')).toBeUndefined();
    expect(handle.salesCount()).toBe(2);

    // A corrupted line is NAKed.
    const good = sale('r3', 100);
    await agent.write(`${good.slice(0, -5)}${good.slice(-5, -1) === '0000' ? '0001' : '0000'}\n`);
    expect(answer(await agent.inbox.next())).toEqual({ verb: 'NAK', rid: 'r3', fields: [['reason', 'checksum']] });

    // The agent closes and reopens its end: the sim is still there and remembers r1.
    await closePort(agent.port);
    agent = await openAgentEnd(handle.path);
    cleanups.push(() => closePort(agent.port));
    await agent.write(req('STATUS', 'r1'));
    expect(await agent.inbox.next()).toBe(lines.at(-1));

    const msgs = records.map((r) => r['msg']);
    expect(records).toContainEqual(expect.objectContaining({ msg: 'sale started', component: 'terminal', serialNumber: 'SIM0001', rid: 'r1', amountMinor: 1250 }));
    expect(records).toContainEqual(expect.objectContaining({ msg: 'sale finished', serialNumber: 'SIM0001', rid: 'r2', status: 'declined' }));
    expect(records).toContainEqual(expect.objectContaining({ msg: 'line received', level: 20, serialNumber: 'SIM0001', line: req('IDENT', 'id1').trimEnd() }));
    expect(msgs).toContain('line sent');
    expect(records.filter((r) => r['msg'] === 'sale started')).toHaveLength(2);

    await sim.close();
    expect(existsSync(handle.path)).toBe(false);
    expect(existsSync(join(handle.path, '..'))).toBe(false); // its own temp dir is removed
  });

  it('reports socat failing, with its stderr', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'posbridge-fake-socat-'));
    cleanups.push(() => rm(bin, { recursive: true, force: true }));
    await writeFile(join(bin, 'socat'), '#!/bin/sh\necho "E something is wrong with $3" >&2\nexit 1\n', { mode: 0o755 });
    const { logger } = captureLogger();
    await expect(startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger, link: 'pty', searchPath: bin })).rejects.toMatchObject({
      code: 'TERM_PORT_OPEN_FAILED',
      message: expect.stringMatching(/socat exited \(code 1[\s\S]*socat stderr:\nE something is wrong with pty,raw,echo=0,link=\S*SIM0001\.sim$/),
    });
  });

  it('runs several terminals in a given directory and leaves that directory in place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'posbridge-sim-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const { logger } = captureLogger();
    const sim = await started(
      startSim({ terminals: [{ serialNumber: 'SIMA' }, { serialNumber: 'SIMB' }], logger, link: 'pty', dir, stepDelayMs: 0 }),
    );
    expect(sim.terminals.map((t) => (t.link === 'pty' ? t.path : ''))).toEqual([join(dir, 'SIMA'), join(dir, 'SIMB')]);
    for (const t of sim.terminals) {
      if (t.link !== 'pty') throw new Error('expected pty');
      const agent = await openAgentEnd(t.path);
      cleanups.push(() => closePort(agent.port));
      await agent.write(req('IDENT', 'i'));
      expect(fieldOf(answer(await agent.inbox.next()), 'serial')).toBe(t.serialNumber);
    }
    await sim.close();
    expect(existsSync(dir)).toBe(true);
    expect(existsSync(join(dir, 'SIMA'))).toBe(false);
  });
});

describe("link 'in-process'", () => {
  function duplexInbox(end: Duplex): LineInbox {
    const inbox = new LineInbox();
    const splitter = new LineSplitter();
    end.on('data', (chunk: Buffer) => {
      for (const l of splitter.push(chunk)) inbox.push(l);
    });
    return inbox;
  }

  it('serves a sale over the Duplex and survives a reconnect', async () => {
    const { logger } = captureLogger();
    const sim = await started(startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger, link: 'in-process', stepDelayMs: 0 }));
    const handle = sim.terminals[0] as SimTerminalHandle;
    if (handle.link !== 'in-process') throw new Error('expected in-process');

    const first = handle.connect();
    const inbox = duplexInbox(first);
    // Split a line across writes, as a serial port may.
    const text = sale('r1', 4200);
    first.write(text.slice(0, 10));
    first.write(text.slice(10));
    const lines = await inbox.until(isResult('r1'));
    expect(verbs(lines)).toEqual(['ACK', 'PROGRESS waiting_card', 'PROGRESS pin', 'PROGRESS processing', 'RESULT']);
    expect(handle.salesCount('r1')).toBe(1);

    const ended = new Promise<void>((resolve) => first.once('end', () => resolve()));
    const second = handle.connect();
    await ended;
    const inbox2 = duplexInbox(second);
    second.write(sale('r1', 4200));
    expect(await inbox2.next()).toBe(lines.at(-1));
    expect(handle.salesCount()).toBe(1);
    await sim.close();
  });

  it("'auto' falls back to in-process with a warning when socat is not on PATH", async () => {
    const { logger, records } = captureLogger();
    const sim = await started(startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger, link: 'auto', searchPath: '' }));
    expect(sim.terminals[0]?.link).toBe('in-process');
    expect(records).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'socat not found — install it with `apt-get install socat`; falling back to an in-process link' }),
    );
  });

  it("'pty' without socat throws and says how to install it", async () => {
    const { logger } = captureLogger();
    await expect(startSim({ terminals: [{ serialNumber: 'SIM0001' }], logger, link: 'pty', searchPath: '' })).rejects.toMatchObject({
      code: 'TERM_PORT_OPEN_FAILED',
      message: expect.stringContaining('apt-get install socat'),
    });
  });

  it('rejects bad options with CFG_INVALID', async () => {
    const { logger } = captureLogger();
    await expect(startSim({ terminals: [{ serialNumber: '../x' }, { serialNumber: 'A' }, { serialNumber: 'A' }], logger })).rejects.toMatchObject({
      code: 'CFG_INVALID',
    });
  });
});
