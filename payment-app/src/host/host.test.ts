import { describe, expect, it } from 'vitest';
import { parseConnectorPayload, parseWaitPayload } from './contract.ts';
import { serialFromCode } from './scanner.ts';

describe('payload parsing', () => {
  it('reads the connector payload string with or without the optional URLs', () => {
    expect(parseConnectorPayload('{"submitUrl":"https://x/pos/v1/submit/t"}')).toEqual({ submitUrl: 'https://x/pos/v1/submit/t', statusUrl: null, terminalsUrl: null, cancelUrl: null });
    expect(parseConnectorPayload(JSON.stringify({ submitUrl: 'https://x/s', statusUrl: 'https://x/st', terminalsUrl: 'https://x/t', other: 1 }))).toEqual({
      submitUrl: 'https://x/s',
      statusUrl: 'https://x/st',
      terminalsUrl: 'https://x/t',
      cancelUrl: null,
    });
    expect(parseConnectorPayload('{}')).toBeNull();
    expect(parseConnectorPayload('nope')).toBeNull();
  });

  it('reads the wait payload string', () => {
    expect(parseWaitPayload('{"secondsWaiting":600}')).toEqual({ secondsWaiting: 600, statusUrl: null, cancelUrl: null });
    expect(parseWaitPayload('{"secondsWaiting":60,"cancelUrl":"https://x/pos/v1/cancel/t"}')).toMatchObject({ cancelUrl: 'https://x/pos/v1/cancel/t' });
    expect(parseWaitPayload('{"secondsWaiting":0}')).toBeNull();
  });
});

describe('serialFromCode', () => {
  it.each([
    ['SIM0001', 'SIM0001'],
    ['  SIM0001\n', 'SIM0001'],
    ['https://pos.example/t?serial=AB-12', 'AB-12'],
    ['posbridge:terminal?sn=XY_9&x=1', 'XY_9'],
    ['{"serialNumber":"JSON1","model":"P2"}', 'JSON1'],
    ['not a serial!', null],
    ['', null],
  ])('%j → %j', (text, serial) => expect(serialFromCode(text)).toBe(serial));
});
