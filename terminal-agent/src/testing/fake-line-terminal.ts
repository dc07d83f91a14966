/**
 * A tiny scripted PBL/1 terminal for tests: reads host lines from a Duplex (the device end of
 * a memory pair, or a pty opened with serialport) and answers per the dialect's rules, with
 * hooks to lose, corrupt or alter answers. Test support only; not exported by the package.
 */
import type { Duplex } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import {
  decodeHostLine,
  encodeLine,
  type HostLine,
  type LineResultStatus,
  type ResultLine,
  type ReverseLine,
  type SaleLine,
  type TerminalLine,
} from '@posbridge/protocol/terminal';

/** Script of a {@link FakeLineTerminal}. */
export interface FakeTerminalScript {
  serial: string;
  /** Final status of sales. @default 'approved' */
  status?: LineResultStatus;
  /** Drop this outgoing line (simulates loss). `n` counts lines of that verb sent so far, from 0. */
  drop?: (line: TerminalLine, n: number) => boolean;
  /** NAK this incoming line instead of handling it. `n` counts host lines of that verb, from 0. */
  nak?: (line: HostLine, n: number) => boolean;
  /** Alters the RESULT before it is sent (e.g. a wrong amount). */
  mutateResult?: (line: ResultLine) => ResultLine;
  /** Another transaction is running: every new SALE gets ERR BUSY. */
  busy?: boolean;
  /** Answer nothing at all. */
  silent?: boolean;
  /** Do not finish sales by themselves; call {@link FakeLineTerminal.finish}. */
  hold?: boolean;
}

interface Sale {
  line: SaleLine | ReverseLine;
  result?: ResultLine;
}

/** A scripted terminal on one end of a byte stream. */
export class FakeLineTerminal {
  /** Host lines received, decoded. */
  readonly received: HostLine[] = [];
  /** Sales started (a repeated rid counts once). */
  readonly sales = new Map<string, Sale>();
  readonly #stream: Duplex;
  readonly #sent = new Map<string, number>();
  readonly #got = new Map<string, number>();
  script: FakeTerminalScript;

  constructor(stream: Duplex, script: FakeTerminalScript) {
    this.#stream = stream;
    this.script = script;
    const parser = stream.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'utf8' }));
    parser.on('data', (text: string) => this.#onLine(text));
    stream.on('error', () => undefined);
  }

  /** Number of SALE lines received for `rid` (resends included). */
  saleLinesFor(rid: string): number {
    return this.received.filter((l) => l.verb === 'SALE' && l.rid === rid).length;
  }

  /** Lines of `verb` received. */
  count(verb: HostLine['verb']): number {
    return this.received.filter((l) => l.verb === verb).length;
  }

  /** Finishes a held sale (sends its RESULT). */
  finish(rid: string): void {
    const sale = this.sales.get(rid);
    if (!sale) throw new Error(`no sale ${rid}`);
    this.#complete(sale);
  }

  /** Sends raw text (garbage tests). */
  sendRaw(text: string): void {
    this.#stream.write(text);
  }

  /** Sends a line, unless the script drops it. */
  send(line: TerminalLine): void {
    const n = this.#sent.get(line.verb) ?? 0;
    this.#sent.set(line.verb, n + 1);
    if (this.script.silent || this.script.drop?.(line, n)) return;
    if (!this.#stream.destroyed) this.#stream.write(encodeLine(line));
  }

  #onLine(text: string): void {
    const decoded = decodeHostLine(text);
    if (!decoded.ok) {
      if (!this.script.silent) this.#stream.write(encodeLine({ verb: 'NAK', rid: decoded.rid ?? '-', reason: decoded.reason }));
      return;
    }
    const line = decoded.value;
    this.received.push(line);
    const n = this.#got.get(line.verb) ?? 0;
    this.#got.set(line.verb, n + 1);
    if (this.script.nak?.(line, n)) {
      this.send({ verb: 'NAK', rid: line.rid, reason: 'checksum' });
      return;
    }
    switch (line.verb) {
      case 'IDENT':
        this.send({ verb: 'IDENT', rid: line.rid, serial: this.script.serial, model: 'FAKE-1', vendor: 'posbridge', firmware: '1.0', dialect: 'PBL/1' });
        return;
      case 'STATUS': {
        const sale = this.sales.get(line.rid);
        if (!sale) this.send({ verb: 'ERR', rid: line.rid, code: 'NOT_FOUND' });
        else if (sale.result) this.send(sale.result);
        else this.send({ verb: 'PROGRESS', rid: line.rid, stage: 'processing' });
        return;
      }
      case 'ABORT': {
        const sale = this.sales.get(line.rid);
        if (!sale) this.send({ verb: 'ERR', rid: line.rid, code: 'NOT_FOUND' });
        else if (sale.result) this.send(sale.result);
        else {
          this.send({ verb: 'ACK', rid: line.rid });
          sale.result = {
            verb: 'RESULT',
            rid: line.rid,
            status: 'aborted',
            amountMinor: sale.line.amountMinor,
            currency: sale.line.currency,
            responseCode: 'ABORTED',
          };
          this.send(sale.result);
        }
        return;
      }
      case 'VOID':
      case 'REFUND':
      case 'SALE': {
        const known = this.sales.get(line.rid);
        if (known) {
          if (known.result) this.send(known.result);
          else this.send({ verb: 'ACK', rid: line.rid });
          return;
        }
        if (this.script.busy) {
          this.send({ verb: 'ERR', rid: line.rid, code: 'BUSY' });
          return;
        }
        const sale: Sale = { line };
        this.sales.set(line.rid, sale);
        this.send({ verb: 'ACK', rid: line.rid });
        this.send({ verb: 'PROGRESS', rid: line.rid, stage: 'waiting_card' });
        if (!this.script.hold) setImmediate(() => this.#complete(sale));
        return;
      }
      case 'TOTALS':
        this.send({ verb: 'ERR', rid: line.rid, code: 'UNSUPPORTED' });
        return;
      default: {
        const never: never = line;
        throw new Error(`unexpected ${JSON.stringify(never)}`);
      }
    }
  }

  #complete(sale: Sale): void {
    if (sale.result) return;
    const status = this.script.status ?? 'approved';
    let result: ResultLine = {
      verb: 'RESULT',
      rid: sale.line.rid,
      status,
      amountMinor: sale.line.amountMinor,
      currency: sale.line.currency,
      responseCode: status === 'approved' ? '00' : '51',
      brand: 'visa',
      bin: '411111',
      last4: '1111',
      ...(status === 'approved' ? { authCode: 'A1B2C3', nsu: '000123', tid: 'T-9' } : { message: 'Insufficient funds' }),
    };
    if (this.script.mutateResult) result = this.script.mutateResult(result);
    sale.result = result;
    this.send(result);
  }
}
