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

  it('accepts exactly one spelling of the MAC: changed padding bits of its last character are tampering too', () => {
    // 32 MAC bytes are 43 base64url characters: the last one carries 2 unused bits. A token whose
    // last character differs only in those bits decodes to the same MAC and must still be refused.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 40; i++) {
      const token = createSubmitToken(secret, `P-${i}`);
      const last = alphabet.indexOf(token.at(-1)!);
      for (let pad = 1; pad < 4; pad++) {
        const twin = `${token.slice(0, -1)}${alphabet[last ^ pad]}`;
        expect(verifySubmitToken(secret, twin), `${token} vs ${twin}`).toBeNull();
      }
    }
  });
});
