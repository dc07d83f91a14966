import { describe, expect, it } from 'vitest';
import { createSubmitToken, submitUrlFor, verifySubmitToken } from './submit-token.ts';

describe('submit tokens', () => {
  const secret = 'a-secret-of-enough-length';

  it('is deterministic and verifies back to the paymentId', () => {
    const token = createSubmitToken(secret, 'P-1');
    expect(createSubmitToken(secret, 'P-1')).toBe(token);
    expect(verifySubmitToken(secret, token)).toBe('P-1');
    expect(submitUrlFor('https://pb.example', secret, 'P-1')).toBe(`https://pb.example/pos/v1/submit/${token}`);
  });

  it('differs per payment and per secret', () => {
    expect(createSubmitToken(secret, 'P-1')).not.toBe(createSubmitToken(secret, 'P-2'));
    expect(verifySubmitToken('another-secret-value', createSubmitToken(secret, 'P-1'))).toBeNull();
  });

  it('rejects tampering and garbage', () => {
    const token = createSubmitToken(secret, 'P-1');
    const [id, mac] = token.split('.') as [string, string];
    const otherId = Buffer.from('P-2').toString('base64url');
    expect(verifySubmitToken(secret, `${otherId}.${mac}`)).toBeNull();
    expect(verifySubmitToken(secret, `${id}.${mac.slice(1)}`)).toBeNull();
    expect(verifySubmitToken(secret, `${id}`)).toBeNull();
    expect(verifySubmitToken(secret, `${id}.${mac}.x`)).toBeNull();
    expect(verifySubmitToken(secret, '')).toBeNull();
    expect(verifySubmitToken(secret, 'x'.repeat(600))).toBeNull();
  });
});
