/**
 * Issue 10 item 17: the simulator's root logger uses the one redaction list shared with the
 * server and the agent (it had none), and masks token-bearing paths on every line.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createSimLogger } from './logger.ts';

describe('simulator root logger', () => {
  it('redacts the shared paths and masks tokens on every line', () => {
    const out: string[] = [];
    const logger = createSimLogger('info', new Writable({ write: (c: Buffer, _e, d) => (out.push(c.toString()), d()) }));
    logger.child({ serialNumber: 'SIM0001' }).info({ pan: '4111111111111111', token: 'secret', path: '/pos/v1/terminals/UDE.secretmac' }, 'simulated');
    const line = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ app: 'posbridge-sim', pan: '[redacted]', token: '[redacted]', path: '/pos/v1/terminals/[token]' });
  });
});
