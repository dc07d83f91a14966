/**
 * Issue 10 item 17: the agent's root logger uses the one redaction list shared with the server
 * and the simulator, and masks token-bearing paths on every line.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS as SHARED } from '@posbridge/protocol/redaction';
import { REDACT_PATHS, createAgentLogger } from './logger.ts';
import { REDACT_PATHS as FROM_MAIN } from './main.ts';

describe('agent root logger', () => {
  it('shares the redaction list and masks tokens on every line', () => {
    expect(REDACT_PATHS).toBe(SHARED);
    expect(FROM_MAIN).toBe(SHARED);
    const out: string[] = [];
    const logger = createAgentLogger('info', new Writable({ write: (c: Buffer, _e, d) => (out.push(c.toString()), d()) }));
    logger.info({ token: 'agent-bearer-secret', card: { pan: '4111111111111111' }, url: 'https://h/pos/v1/status/UDE.secretmac' }, 'GET /pos/v1/submit/UDE.secretmac');
    const text = out.join('');
    expect(text).not.toContain('agent-bearer-secret');
    expect(text).not.toContain('4111111111111111');
    expect(text).not.toContain('UDE.secretmac');
    expect(text).toContain('/pos/v1/submit/[token]');
  });
});
