import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CodedError, ERROR_CODES, isCodedError, toError } from './errors.ts';

describe('error catalogue', () => {
  it('is documented in docs/errors.md in both directions', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]));
    expect([...documented].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('CodedError carries code, retryable flag, cause and a wire shape without a stack', () => {
    const err = new CodedError('TERM_TIMEOUT', undefined, { cause: 'socket closed', details: { rid: 'p1' } });
    expect(isCodedError(err)).toBe(true);
    expect(err.cause).toBeInstanceOf(Error);
    expect(err.toWire()).toEqual({ code: 'TERM_TIMEOUT', message: 'terminal did not answer in time', retryable: true });
  });

  it('recognises coded errors structurally, not by instanceof', () => {
    expect(isCodedError({ code: 'PPP_INTERNAL', message: 'x' })).toBe(true);
    expect(isCodedError({ code: 'ENOENT' })).toBe(false);
    expect(isCodedError(null)).toBe(false);
  });

  it('toError normalises anything thrown', () => {
    expect(toError('boom').message).toBe('boom');
    expect(toError({ a: 1 }).message).toBe('{"a":1}');
  });
});
