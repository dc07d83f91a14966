/**
 * Property test of the agent hub over a real WebSocket (issue 7, fuzzing): an authenticated
 * agent sends random text, random JSON, valid messages with fields replaced by junk, wrong
 * versions, binary and oversized frames. Every frame the codec refuses gets an `error` message
 * with a catalogue code (or, after too many, the documented close 1008; oversized: 1009); no
 * frame makes the handler fail; the server stays healthy and still welcomes a well-behaved
 * agent afterwards. The codec alone is fuzzed in protocol/src/ws/codec.fuzz.test.ts.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@posbridge/protocol/errors';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, decodeAgentMessage, type ServerMessage } from '@posbridge/protocol/ws';
import { connectAgent, startTestServer, type TestAgent, type TestServer } from '../testing/helpers.ts';
import { waitFor } from '@posbridge/testkit';

let t: TestServer;
let token: string;
beforeAll(async () => {
  t = await startTestServer();
  token = (await t.server.issueAgentToken('fuzz-agent')).token;
});
afterAll(async () => {
  await t?.close();
});

const VALID: Record<string, unknown>[] = [
  { v: 1, id: 'm1', type: 'payment.result', paymentId: 'P1', outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'r1' },
  { v: 1, id: 'm2', type: 'payment.rejected', paymentId: 'P1', code: 'TERM_BUSY', message: 'busy' },
  { v: 1, id: 'm3', type: 'payment.progress', paymentId: 'P1', stage: 'pin' },
  { v: 1, id: 'm4', type: 'ack', ackOf: 'x1' },
  { v: 1, id: 'm5', type: 'operation.result', operationId: 'o1', paymentId: 'P1', kind: 'void', outcome: 'denied', amount: { amountMinor: 1, currency: 'BRL' }, terminalRef: 'r2' },
];

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.string({ maxLength: 30, unit: 'grapheme' }),
  fc.constantFrom(null, -1, 1e308, '', 'x'.repeat(5000), '\u0000💳\u202e', [], {}),
);

/** A frame: text (random, JSON junk, a mutated valid message) or binary. */
const frame: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.string({ maxLength: 200, unit: 'binary' }),
  fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v)),
  fc.tuple(fc.constantFrom(...VALID), fc.nat(), junk).map(([m, k, v]) => {
    const keys = Object.keys(m);
    return JSON.stringify({ ...m, [keys[k % keys.length]!]: v });
  }),
  fc.tuple(fc.constantFrom(...VALID), fc.nat()).map(([m, k]) => {
    const copy: Record<string, unknown> = { ...m };
    delete copy[Object.keys(m)[k % Object.keys(m).length]!];
    return JSON.stringify(copy);
  }),
  fc.constantFrom(...VALID).map((m) => JSON.stringify({ ...m, v: 2 })),
  fc.constantFrom(...VALID).map((m) => JSON.stringify({ ...m, card: { number: '4111111111111111' } })),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
);

describe('agent hub under random frames (real WebSocket)', () => {
  it('every refused frame gets a coded error; no frame breaks the handler', async () => {
    let agent: TestAgent | undefined;
    const open = async (): Promise<TestAgent> => {
      if (agent && agent.ws.readyState === WebSocket.OPEN) return agent;
      agent = await connectAgent(t.server.url, token);
      await agent.hello(['FUZZ0001']);
      return agent;
    };
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        const a = await open();
        const errorsBefore = a.messages.filter((m) => m.type === 'error').length;
        const closed = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
        a.ws.send(f);
        const refused = typeof f !== 'string' || !decodeAgentMessage(f).ok;
        if (!refused) return; // accepted by the codec: the hub may ack, error or ignore it
        const outcome = await Promise.race([
          waitFor(() => a.messages.filter((m) => m.type === 'error').length > errorsBefore, { timeoutMs: 3000, message: 'error message' }).then(() => 'error' as const),
          closed.then((code) => code),
        ]);
        if (outcome === 'error') {
          const err = a.messages.filter((m): m is Extract<ServerMessage, { type: 'error' }> => m.type === 'error').at(-1)!;
          expect(Object.keys(ERROR_CODES)).toContain(err.code);
          expect(err.message.length).toBeGreaterThan(0);
        } else {
          expect(outcome).toBe(1008); // too many invalid messages
        }
      }),
      { numRuns: 150 },
    );
    await agent?.close();
    expect(t.lines.filter((l) => l['msg'] === 'agent message handling failed')).toEqual([]);
  });

  it('an oversized frame closes the connection with 1009, and the hub goes on', async () => {
    const a = await connectAgent(t.server.url, token);
    await a.hello(['FUZZ0001']);
    const closed = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
    a.ws.send('x'.repeat(MAX_FRAME_BYTES + 10));
    expect(await closed).toBe(1009);
  });

  it('stays healthy: /healthz 200 and a well-behaved agent is welcomed', async () => {
    const health = await fetch(`${t.server.url}/healthz`);
    expect(health.status).toBe(200);
    const a = await connectAgent(t.server.url, token);
    const welcome = await a.hello(['FUZZ0002']);
    expect(welcome).toMatchObject({ v: PROTOCOL_VERSION, type: 'hub.welcome', accepted: ['FUZZ0002'] });
    await a.close();
  });
});
