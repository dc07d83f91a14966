/**
 * PBL/1 adapter for the device machine: received lines → {@link DeviceEvent}, replies → lines.
 * Uses the simulator's own codec (`../line-codec.ts`), never the agent's (see that module).
 *
 * Concert E+ sits next to this file (`concert.ts`) with its own framing; the device machine is
 * shared, the codecs are not.
 */
import type { DeviceEvent, DeviceReply } from '../device-machine.ts';
import { decodeWireLine, encodeWireLine, fieldOf, type WireLine } from '../line-codec.ts';
import { noiseBytes, toHex, type WireAdapter, type WireContext } from '../wire.ts';

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
      case 'VOID':
      case 'REFUND': {
        const ref = required(line, 'ref');
        if (!/^[A-Za-z0-9_-]{1,36}$/.test(ref)) throw new BadField('ref must be the rid of the original sale');
        const currency = required(line, 'currency');
        if (!/^[0-9]{3}$/.test(currency)) throw new BadField('currency must be 3 digits (ISO 4217 numeric)');
        return {
          type: 'command',
          command: {
            kind: 'reverse',
            op: line.verb === 'VOID' ? 'void' : 'refund',
            rid,
            ref,
            amountMinor: integer(line, 'amount', 1, MAX_AMOUNT_MINOR),
            currency,
          },
        };
      }
      case 'STATUS':
        return { type: 'command', command: { kind: 'status', rid } };
      case 'ABORT':
        return { type: 'command', command: { kind: 'abort', rid } };
      case 'IDENT':
        return { type: 'command', command: { kind: 'ident', rid } };
      case 'TOTALS': {
        const date = fieldOf(line, 'date');
        if (date !== undefined && !/^[0-9]{8}$/.test(date)) throw new BadField('date must be YYYYMMDD');
        return { type: 'command', command: { kind: 'totals', rid, ...(date === undefined ? {} : { date }) } };
      }
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
    case 'totals':
      return encodeWireLine({
        verb: 'TOTALS',
        rid: reply.rid,
        fields: [
          ['date', reply.date],
          ['n', String(reply.entries.length)],
          ...reply.entries.map((e, i): [string, string] => [`t${i + 1}`, `${e.currency}.${e.method}.${e.bucket}.${e.count}.${e.amountMinor}`]),
        ],
      });
    default: {
      const never: never = reply;
      throw new TypeError(`unknown reply ${JSON.stringify(never)}`);
    }
  }
}

// ─── wire adapter ──────────────────────────────────────────────────────────────────────────

const encoder = new TextEncoder();
/** Longest partial line kept while waiting for its LF; longer input is noise and is dropped. */
const MAX_PENDING_BYTES = 4096;

/** A reply with another (valid) rid: the `wrongRef` fault. */
function withWrongRid(reply: DeviceReply): DeviceReply {
  if (reply.kind !== 'result') return reply;
  const rid = reply.result.rid;
  const wrong = rid.length < 36 ? `${rid}X` : `${rid.slice(0, 35)}${rid.endsWith('X') ? 'Y' : 'X'}`;
  return { kind: 'result', result: { ...reply.result, rid: wrong } };
}

/** Replaces the CRC of a line with another valid-looking one: the `corruptRate` fault. */
function corruptCrc(line: string): string {
  const last = line.at(-1) ?? '0';
  return `${line.slice(0, -1)}${last === '0' ? '1' : '0'}`;
}

/**
 * PBL/1 on the wire: splits bytes into lines, feeds the machine, writes its replies as lines,
 * and applies the scenario's faults (see `scenarios/scenario.ts`):
 * - `nakFirst`: the first copy of each SALE/VOID/REFUND rid is answered `NAK reason=checksum`;
 * - `dropAck` / `delayAckMs`: the replies to a SALE/VOID/REFUND that contain its ACK (the ACK and
 *   the PROGRESS sent with it) are lost / delayed, for the first `dropAck` requests of each rid;
 * - `wrongRef`: the first N RESULT lines of each rid carry another rid;
 * - `duplicateAnswer`: every RESULT line is sent twice;
 * - `corruptRate`: a sent line's CRC is wrong with this probability;
 * - `garbageRate`: a line of noise precedes a sent line with this probability.
 */
export class Pbl1Wire implements WireAdapter {
  /** @inheritdoc */
  readonly dialect = PBL1;
  readonly #ctx: WireContext;
  #pending: number[] = [];
  readonly #naked = new Set<string>();
  readonly #ackDrops = new Map<string, number>();
  readonly #wrongRefs = new Map<string, number>();

  constructor(ctx: WireContext) {
    this.#ctx = ctx;
  }

  /** @inheritdoc */
  receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b !== 0x0a) {
        if (this.#pending.length < MAX_PENDING_BYTES) this.#pending.push(b);
        continue;
      }
      const raw = new Uint8Array(this.#pending);
      this.#pending = [];
      this.#onLine(raw);
    }
  }

  /** @inheritdoc */
  reset(): void {
    this.#pending = [];
  }

  #onLine(raw: Uint8Array): void {
    let text = new TextDecoder('utf-8').decode(raw);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    // Blank lines are line noise (e.g. a host flushing with a bare newline), not requests.
    if (text.trim() === '') return;
    const event = pbl1EventFromLine(text);
    const isRequest = event.type === 'command' && (event.command.kind === 'sale' || event.command.kind === 'reverse');
    if (isRequest && this.#ctx.scenario().faults.nakFirst && !this.#naked.has(event.command.rid)) {
      this.#naked.add(event.command.rid);
      this.#ctx.logReceived(raw, text, 'fault:nak-first');
      this.#writeLine(pbl1LineFromReply({ kind: 'nak', rid: event.command.rid, reason: 'checksum' }), 'fault:nak-first');
      return;
    }
    this.#ctx.logReceived(raw, text);
    this.#ctx.dispatch(event);
  }

  /** @inheritdoc */
  send(replies: readonly DeviceReply[], cause: DeviceEvent): void {
    const faults = this.#ctx.scenario().faults;
    const requestRid =
      cause.type === 'command' && (cause.command.kind === 'sale' || cause.command.kind === 'reverse') ? cause.command.rid : undefined;
    let note: string | undefined;
    let delayMs = 0;
    if (requestRid !== undefined && replies.some((r) => r.kind === 'ack')) {
      const dropped = this.#ackDrops.get(requestRid) ?? 0;
      if (dropped < faults.dropAck) {
        this.#ackDrops.set(requestRid, dropped + 1);
        for (const r of replies) {
          const line = pbl1LineFromReply(r);
          this.#ctx.logDropped(encoder.encode(`${line}\n`), line, 'fault:drop-ack');
        }
        // A RESULT in the same burst (instant VOID/REFUND) is lost with the ACK: STATUS recovers it.
        return;
      }
      if (faults.delayAckMs > 0) {
        delayMs = faults.delayAckMs;
        note = 'fault:delay-ack';
      }
    }
    for (const original of replies) {
      let r = original;
      let lineNote = note;
      if (r.kind === 'result') {
        const used = this.#wrongRefs.get(r.result.rid) ?? 0;
        if (used < faults.wrongRef) {
          this.#wrongRefs.set(r.result.rid, used + 1);
          r = withWrongRid(r);
          lineNote = 'fault:wrong-ref';
        }
      }
      const line = pbl1LineFromReply(r);
      this.#writeLine(line, lineNote, delayMs);
      delayMs = 0; // the rest of the burst follows the delayed first line
      if (r.kind === 'result' && faults.duplicateAnswer) this.#writeLine(line, 'fault:duplicate');
    }
  }

  #writeLine(line: string, note?: string, delayMs = 0): void {
    const faults = this.#ctx.scenario().faults;
    if (faults.garbageRate > 0 && this.#ctx.random() < faults.garbageRate) {
      const noise = new Uint8Array([...noiseBytes(() => this.#ctx.random()), 0x0a]);
      this.#ctx.write(noise, `<noise ${toHex(noise)}>`, { note: 'fault:garbage', delayMs });
      delayMs = 0;
    }
    let out = line;
    let outNote = note;
    if (faults.corruptRate > 0 && this.#ctx.random() < faults.corruptRate) {
      out = corruptCrc(line);
      outNote = outNote === undefined ? 'fault:corrupt' : `${outNote},fault:corrupt`;
    }
    this.#ctx.write(encoder.encode(`${out}\n`), out, { ...(outNote !== undefined ? { note: outNote } : {}), delayMs });
  }
}
