/**
 * A Concert E+ terminal on a real pty, driven by a minimal POS written in this test (exchange A,
 * exchange B) with the simulator's codec, so the Concert dialect of the simulator is checked
 * independently of the agent's driver. Run once per `privateField` mode: the terminal's own
 * reference (the default, as real terminals), blank, zeros, and an echo of the request's. The
 * same rows and faults through agent and server: test/e2e/sim-concert.test.ts.
 * @requires-program socat
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { SerialPort } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACK,
  buildConcertRequest,
  ConcertReader,
  encodeConcertFrame,
  ENQ,
  EOT,
  NAK,
  parseConcertAnswer,
  type ConcertAnswer,
  type ConcertReadEvent,
} from './concert-codec.ts';
import { DEFAULT_SCENARIO, PRIVATE_FIELD_MODES, startSim, type PrivateFieldMode, type PtySimTerminalHandle, type RunningSim, type SimScenarioPatch } from './index.ts';

const TIMINGS: SimScenarioPatch = { stepDelayMs: 5, slowAnswerDelayMs: 800, unplugMs: 600, rebootMs: 400 };

/** What the answer's private field must be for a request that carried `ref`, in `mode`. */
function privateFieldOf(mode: PrivateFieldMode, ref: string): unknown {
  switch (mode) {
    case 'echo':
      return ref.padEnd(10);
    case 'blank':
      return ' '.repeat(10);
    case 'zeros':
      return '0'.repeat(10);
    case 'own':
      return expect.stringMatching(/^T\d{9}$/);
  }
}

/** The POS side: raw bytes in, Concert events out, awaited in order. */
class Pos {
  readonly #reader = new ConcertReader();
  readonly #events: ConcertReadEvent[] = [];
  #wake: (() => void) | undefined;
  port: SerialPort;
  constructor(port: SerialPort) {
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      this.#events.push(...this.#reader.push(chunk));
      this.#wake?.();
    });
  }
  static async open(path: string): Promise<Pos> {
    const port = new SerialPort({ path, baudRate: 9600, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new Pos(port);
  }
  write(bytes: ArrayLike<number>): Promise<void> {
    return new Promise((resolve, reject) => this.port.write(Buffer.from(Array.from(bytes)), (err) => (err ? reject(err) : this.port.drain(() => resolve()))));
  }
  /** Next event that is not noise (noise is counted), or undefined after `timeoutMs`. */
  async next(timeoutMs = 2_000): Promise<ConcertReadEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = this.#events.shift();
      if (ev !== undefined) {
        if (ev.type === 'noise') {
          this.noise += 1;
          continue;
        }
        return ev;
      }
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
  noise = 0;
  async expectControl(byte: number, timeoutMs?: number): Promise<void> {
    expect(await this.next(timeoutMs)).toEqual({ type: 'control', byte });
  }
  /** Exchange A: ENQ (retried up to 3 times), request frame, EOT. */
  async request(
    amountMinor: number,
    privateData: string,
    opts: { answerDelay?: 'A010' | 'A011'; nakFirstExpected?: boolean; transactionType?: '0' | '1' | '2' | '4' } = {},
  ): Promise<number> {
    let enqs = 0;
    for (;;) {
      enqs += 1;
      await this.write([ENQ]);
      const ev = await this.next(400);
      if (ev?.type === 'control' && ev.byte === ACK) break;
      if (enqs >= 3) throw new Error('terminal not ready');
    }
    const payload = buildConcertRequest({
      posNumber: '01',
      amountMinor,
      answer: 'full',
      paymentMode: '1',
      transactionType: opts.transactionType ?? '0',
      currency: '986',
      privateData,
      answerDelay: opts.answerDelay ?? 'A010',
      authorisation: 'B010',
    });
    for (let i = 0; ; i++) {
      await this.write(encodeConcertFrame(payload));
      const ev = await this.next();
      if (ev?.type === 'control' && ev.byte === ACK) break;
      if (!(ev?.type === 'control' && ev.byte === NAK) || i >= 2) throw new Error(`request frame not taken: ${JSON.stringify(ev)}`);
    }
    await this.write([EOT]);
    return enqs;
  }
  /** Exchange B: wait ENQ, ACK, read the frame (NAK bad ones), ACK, wait EOT. */
  async answer(waitMs = 3_000): Promise<{ answer: ConcertAnswer; naks: number } | undefined> {
    const enq = await this.next(waitMs);
    if (enq === undefined) return undefined;
    expect(enq).toEqual({ type: 'control', byte: ENQ });
    await this.write([ACK]);
    let naks = 0;
    for (;;) {
      const ev = await this.next();
      // The terminal gives up after 3 refused frames (EOT): the answer is lost.
      if (ev?.type === 'control' && ev.byte === EOT) return { answer: undefined, naks } as unknown as { answer: ConcertAnswer; naks: number };
      if (ev?.type !== 'frame') throw new Error(`expected a frame, got ${JSON.stringify(ev)}`);
      if (!ev.result.ok) {
        naks += 1;
        await this.write([NAK]);
        continue;
      }
      await this.write([ACK]);
      await this.expectControl(EOT);
      const parsed = parseConcertAnswer(ev.result.payload);
      if (!parsed.ok) throw new Error(parsed.detail);
      return { answer: parsed.value, naks };
    }
  }
  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}

it('does not echo the private field by default (as real terminals)', () => {
  expect(DEFAULT_SCENARIO.privateField).toBe('own');
});

describe.each(PRIVATE_FIELD_MODES)('Concert E+ terminal on a pty, private field %s', (mode) => {
  const BASE: SimScenarioPatch = { ...TIMINGS, privateField: mode };
  const priv = (ref: string) => privateFieldOf(mode, ref);
  let sim: RunningSim;
  let t: PtySimTerminalHandle;
  let pos: Pos;
  beforeAll(async () => {
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    sim = await startSim({
      terminals: [{ serialNumber: 'CON0001', dialect: 'CONCERT-E+' }],
      logger: pino({ level: 'debug' }, sink),
      link: 'pty',
      scenario: BASE,
    });
    const h = sim.terminals[0];
    if (h?.link !== 'pty') throw new Error('pty expected');
    t = h;
    pos = await Pos.open(t.path);
  });
  afterAll(async () => {
    await pos?.close();
    await sim?.close();
  });
  const fresh = (patch: SimScenarioPatch = {}) => {
    t.setScenario({ ...BASE, ...patch }, true);
    t.clearFrames();
  };

  it('approves a sale: exchange A, then exchange B with the masked test card and the private field of the mode', async () => {
    fresh();
    await pos.request(1290, 'SIM-REF-01');
    const got = await pos.answer();
    expect(got?.answer).toMatchObject({ posNumber: '01', status: '0', amountMinor: 1290, currency: '986', privateData: priv('SIM-REF-01') });
    expect(got?.answer.report).toMatch(/^545454XXXXXX5454 +$/);
    expect(t.sales().byReference['SIM-REF-01']).toEqual({ finals: 1, charges: 1, reversals: 0 });
    // The frame log shows each frame's last byte as its LRC, never as a control name.
    const frames = t.frames().filter((f) => f.text.startsWith('<STX>'));
    expect(frames.map((f) => f.dir).sort()).toEqual(['in', 'out']);
    for (const f of frames) expect(f.text).toMatch(/<ETX><LRC [0-9a-f]{2}>$/);
  });

  it('05 and 54: refused with status 7 and a blank report; 10: customer cancel → 7', async () => {
    for (const [amount, ref] of [[1305, 'REF-05'], [1354, 'REF-54'], [1310, 'REF-10']] as const) {
      fresh();
      await pos.request(amount, ref);
      const got = await pos.answer();
      expect(got?.answer).toMatchObject({ status: '7', privateData: priv(ref), report: ' '.repeat(55) });
      expect(t.sales().byReference[ref]?.charges).toBe(0);
    }
  });

  it('A011: immediate answer with status 9; the transaction still runs (no final answer)', async () => {
    fresh();
    await pos.request(1200, 'REF-A011', { answerDelay: 'A011' });
    expect((await pos.answer())?.answer).toMatchObject({ status: '9', privateData: priv('REF-A011') });
    expect(await pos.answer(300)).toBeUndefined();
    expect(t.sales().byReference['REF-A011']).toEqual({ finals: 1, charges: 1, reversals: 0 });
  });

  it('30: ACK then silence (the answer is lost); 20: the ENQ comes late', async () => {
    fresh();
    await pos.request(1330, 'REF-30');
    expect(await pos.answer(500)).toBeUndefined();
    expect(t.sales().byReference['REF-30']?.charges).toBe(1);
    fresh();
    await pos.request(1320, 'REF-20');
    expect(await pos.answer(300)).toBeUndefined(); // past a short POS timer…
    expect((await pos.answer(2_000))?.answer).toMatchObject({ status: '0', privateData: priv('REF-20') }); // …the late ENQ
  });

  it('40: the pty closes mid-transaction (USB gone) and comes back; the answer is lost', async () => {
    fresh();
    await pos.request(1340, 'REF-40');
    await expect.poll(() => t.snapshot().plugged, { timeout: 2_000 }).toBe(false);
    await expect.poll(() => t.snapshot().plugged, { timeout: 3_000 }).toBe(true);
    await pos.close();
    pos = await Pos.open(t.path);
    expect(t.sales().byReference['REF-40']?.charges).toBe(1);
    fresh();
    await pos.request(1350, 'REF-AFTER');
    expect((await pos.answer())?.answer.status).toBe('0');
  });

  it('dropAck: ENQ without ACK, granted on the retry', async () => {
    fresh({ faults: { dropAck: 1 } });
    expect(await pos.request(1101, 'REF-DROP')).toBe(2);
    expect((await pos.answer())?.answer.status).toBe('0');
    expect(t.frames().some((f) => f.note === 'fault:drop-ack')).toBe(true);
  });

  it('delayAckMs: the ACK to ENQ comes late', async () => {
    fresh({ faults: { delayAckMs: 150 } });
    const started = Date.now();
    await pos.request(1102, 'REF-DELAY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect((await pos.answer())?.answer.status).toBe('0');
  });

  it('nakFirst: the first request frame is NAKed, the resend is taken: one sale', async () => {
    fresh({ faults: { nakFirst: true } });
    await pos.request(1103, 'REF-NAK');
    expect((await pos.answer())?.answer.status).toBe('0');
    expect(t.frames().filter((f) => f.note === 'fault:nak-first').map((f) => f.text)).toContain('<NAK>');
    expect(t.sales().byReference['REF-NAK']?.finals).toBe(1);
  });

  it('corruptRate: a bad LRC is NAKed by the POS and the terminal resends', async () => {
    fresh({ seed: 3, faults: { corruptRate: 0.5 } });
    let naks = 0;
    for (const ref of ['REF-C1', 'REF-C2', 'REF-C3', 'REF-C4']) {
      await pos.request(1104, ref);
      const got = await pos.answer();
      if (got !== undefined) naks += got.naks;
    }
    expect(naks).toBeGreaterThan(0);
    expect(t.frames().some((f) => (f.note ?? '').includes('fault:corrupt'))).toBe(true);
  });

  it('garbageRate: noise bytes between frames', async () => {
    fresh({ faults: { garbageRate: 1 } });
    pos.noise = 0;
    await pos.request(1106, 'REF-NOISE');
    expect((await pos.answer())?.answer.status).toBe('0');
    expect(pos.noise).toBeGreaterThan(0);
  });

  it('duplicateAnswer: exchange B runs twice for one sale', async () => {
    fresh({ faults: { duplicateAnswer: true } });
    await pos.request(1107, 'REF-DUP');
    const a = await pos.answer();
    const b = await pos.answer();
    expect(a?.answer).toEqual(b?.answer);
    expect(t.sales().byReference['REF-DUP']).toEqual({ finals: 1, charges: 1, reversals: 0 });
  });

  it('wrongRef: the answer carries another private data', async () => {
    fresh({ faults: { wrongRef: 1 } });
    await pos.request(1108, 'REF-WRONG');
    expect((await pos.answer())?.answer.privateData).toBe('REF-WRONGX');
  });

  it('wrongAmount: the answer carries an amount one minor unit off', async () => {
    fresh({ faults: { wrongAmount: 1 } });
    await pos.request(1112, 'REF-AMOUNT');
    expect((await pos.answer())?.answer).toMatchObject({ status: '0', amountMinor: 1113, currency: '986' });
    expect(t.sales().byReference['REF-AMOUNT']?.charges).toBe(1);
  });

  it('rebootMidTransaction: silence, no answer, nothing charged', async () => {
    fresh({ faults: { rebootMidTransaction: true } });
    await pos.request(1109, 'REF-BOOT');
    expect(await pos.answer(900)).toBeUndefined();
    expect(t.sales().byReference['REF-BOOT']).toEqual({ finals: 1, charges: 0, reversals: 0 });
    expect(t.snapshot().last).toMatchObject({ status: 'aborted', responseCode: 'REBOOT' });
  });

  it('type 2 cancels the latest approved sale of that amount once; nothing to cancel → 7; type 4 → 7', async () => {
    fresh();
    await pos.request(1412, 'REF-SALE');
    expect((await pos.answer())?.answer.status).toBe('0');
    await pos.request(1412, 'REF-VOID', { transactionType: '2' });
    const voided = await pos.answer();
    expect(voided?.answer).toMatchObject({ status: '0', amountMinor: 1412, privateData: priv('REF-VOID') });
    expect(voided?.answer.report).toMatch(/^545454XXXXXX5454 +$/);
    expect(t.sales().byReference['REF-SALE']).toEqual({ finals: 1, charges: 1, reversals: 0 });
    expect(t.sales().byReference['REF-VOID']).toEqual({ finals: 0, charges: 0, reversals: 1 });
    await pos.request(1412, 'REF-VOID2', { transactionType: '2' }); // already cancelled
    expect((await pos.answer())?.answer.status).toBe('7');
    await pos.request(1413, 'REF-PRE', { transactionType: '4' });
    expect((await pos.answer())?.answer.status).toBe('7');
    expect(t.sales().byReference['REF-VOID2']).toBeUndefined();
  });

  it('a repeated request is a second sale (E+ has no request id): counted per private data', async () => {
    fresh();
    await pos.request(1111, 'REF-TWICE');
    await pos.answer();
    await pos.request(1111, 'REF-TWICE');
    await pos.answer();
    expect(t.sales().byReference['REF-TWICE']?.charges).toBe(2);
  });
});
