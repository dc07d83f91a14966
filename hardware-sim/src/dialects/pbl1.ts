/**
 * PBL/1 adapter for the device machine: received lines → {@link DeviceEvent}, replies → lines.
 * Uses the simulator's own codec (`../line-codec.ts`), never the agent's (see that module).
 *
 * A second dialect (Concert E+) will sit next to this file with the same two functions and its
 * own framing; the device machine stays as it is.
 */
import type { DeviceEvent, DeviceReply } from '../device-machine.ts';
import { decodeWireLine, encodeWireLine, fieldOf, type WireLine } from '../line-codec.ts';

/** Dialect name announced in IDENT. */
export const PBL1 = 'PBL/1';

/** Largest amount in minor units a SALE may carry. */
const MAX_AMOUNT_MINOR = 999_999_999_999;

class BadField extends Error {}

function required(line: WireLine, key: string): string {
  const v = fieldOf(line, key);
  if (v === undefined || v === '') throw new BadField(`${key} is missing`);
  return v;
}

function integer(line: WireLine, key: string, min: number, max: number): number {
  const v = required(line, key);
  if (!/^[0-9]{1,15}$/.test(v)) throw new BadField(`${key} is not an integer`);
  const n = Number.parseInt(v, 10);
  if (n < min || n > max) throw new BadField(`${key} is out of range`);
  return n;
}

/** Turns one received line (delimiter optional) into a device event. Never throws. */
export function pbl1EventFromLine(text: string): DeviceEvent {
  const decoded = decodeWireLine(text);
  if (!decoded.ok) {
    return {
      type: 'unreadable',
      reason: decoded.reason,
      detail: decoded.detail,
      ...(decoded.rid !== undefined ? { rid: decoded.rid } : {}),
    };
  }
  const line = decoded.line;
  const rid = line.rid;
  try {
    switch (line.verb) {
      case 'SALE': {
        const method = required(line, 'method');
        if (method !== 'credit' && method !== 'debit') throw new BadField('method must be credit or debit');
        const currency = required(line, 'currency');
        if (!/^[0-9]{3}$/.test(currency)) throw new BadField('currency must be 3 digits (ISO 4217 numeric)');
        return {
          type: 'command',
          command: {
            kind: 'sale',
            rid,
            amountMinor: integer(line, 'amount', 1, MAX_AMOUNT_MINOR),
            currency,
            method,
            installments: integer(line, 'installments', 1, 99),
          },
        };
      }
      case 'STATUS':
        return { type: 'command', command: { kind: 'status', rid } };
      case 'ABORT':
        return { type: 'command', command: { kind: 'abort', rid } };
      case 'IDENT':
        return { type: 'command', command: { kind: 'ident', rid } };
      default:
        return { type: 'refused', rid, code: 'UNSUPPORTED', detail: `verb ${line.verb} is not supported` };
    }
  } catch (err) {
    if (err instanceof BadField) return { type: 'refused', rid, code: 'BAD_REQUEST', detail: err.message };
    throw err;
  }
}

/** Keeps only defined values, in order. */
function present(fields: [string, string | undefined][]): [string, string][] {
  return fields.filter((f): f is [string, string] => f[1] !== undefined);
}

/** Encodes one reply as a PBL/1 line, without the `\n` delimiter. */
export function pbl1LineFromReply(reply: DeviceReply): string {
  switch (reply.kind) {
    case 'ack':
      return encodeWireLine({ verb: 'ACK', rid: reply.rid, fields: [] });
    case 'nak':
      return encodeWireLine({ verb: 'NAK', rid: reply.rid ?? '-', fields: [['reason', reply.reason]] });
    case 'err':
      return encodeWireLine({ verb: 'ERR', rid: reply.rid, fields: present([['code', reply.code], ['msg', reply.message]]) });
    case 'progress':
      return encodeWireLine({ verb: 'PROGRESS', rid: reply.rid, fields: [['stage', reply.stage]] });
    case 'result': {
      const r = reply.result;
      return encodeWireLine({
        verb: 'RESULT',
        rid: r.rid,
        fields: present([
          ['status', r.status],
          ['amount', String(r.amountMinor)],
          ['currency', r.currency],
          ['rc', r.responseCode],
          ['brand', r.card?.brand],
          ['bin', r.card?.bin],
          ['last4', r.card?.last4],
          ['auth', r.authCode],
          ['nsu', r.nsu],
          ['tid', r.tid],
          ['msg', r.message],
        ]),
      });
    }
    case 'ident': {
      const id = reply.identity;
      return encodeWireLine({
        verb: 'IDENT',
        rid: reply.rid,
        fields: [
          ['serial', id.serial],
          ['model', id.model],
          ['vendor', id.vendor],
          ['firmware', id.firmware],
          ['dialect', id.dialect],
        ],
      });
    }
    default: {
      const never: never = reply;
      throw new TypeError(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}
