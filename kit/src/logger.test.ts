import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { REDACT_PATHS as SHARED } from '@posbridge/protocol/redaction';
import { REDACT_PATHS, createLogger } from './logger.ts';

/** A destination that keeps the lines written to it. */
function sink(): { out: string[]; stream: Writable } {
  const out: string[] = [];
  return { out, stream: new Writable({ write: (c: Buffer, _e, d) => (out.push(c.toString()), d()) }) };
}

describe('createLogger', () => {
  it('is the one redaction list of protocol/redaction', () => {
    expect(REDACT_PATHS).toBe(SHARED);
  });

  it('binds the base fields, redacts the shared paths, masks tokens and serializes errors', () => {
    const { out, stream } = sink();
    const logger = createLogger({ level: 'info', base: { app: 'kit-test', pid: 42 }, destination: stream });
    logger.child({ component: 'x' }).info(
      { token: 'bearer-secret', card: { pan: '4111111111111111' }, req: { headers: { authorization: 'Bearer s3cret' } }, err: new Error('GET /pos/v1/submit/UDE.mac failed') },
      'see /pos/v1/status/UDE.mac',
    );
    const line = JSON.parse(out.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ app: 'kit-test', pid: 42, component: 'x', token: '[redacted]', card: '[redacted]', msg: 'see /pos/v1/status/[token]' });
    expect((line['req'] as { headers: Record<string, unknown> }).headers['authorization']).toBe('[redacted]');
    expect(line['err']).toMatchObject({ type: 'Error', message: 'GET /pos/v1/submit/[token] failed' });
    expect(out.join('')).not.toContain('UDE.mac');
    expect(out.join('')).not.toContain('4111111111111111');
  });

  it('honours the level', () => {
    const { out, stream } = sink();
    const logger = createLogger({ level: 'warn', base: {}, destination: stream });
    logger.info('hidden');
    logger.warn('shown');
    expect(out).toHaveLength(1);
    expect(out[0]).toContain('shown');
  });
});
