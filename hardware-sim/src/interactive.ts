/**
 * Interactive mode: a person at a keyboard plays the customer of the simulated terminals.
 * The screen shows what the terminal's display would show; keys insert or tap a card, type the
 * PIN, cancel, pull the cable or reboot.
 *
 * {@link keyToCommand} is pure (tested); {@link runInteractive} wires it to a TTY.
 */
import { emitKeypressEvents } from 'node:readline';
import type { SimTerminalHandle } from './handle.ts';
import { TEST_CARDS } from './scenarios/outcomes.ts';

/** Help line shown under the screen. */
export const INTERACTIVE_KEYS =
  'i insert card · t tap card · 0-9 PIN digits, Enter confirm · c cancel · b next card brand · u pull/plug cable · r reboot · Tab next terminal · q quit';

/** What a key press asks for. */
export type InteractiveCommand =
  | { kind: 'insert' }
  | { kind: 'tap' }
  | { kind: 'pin-digit'; digit: string }
  | { kind: 'pin-erase' }
  | { kind: 'pin-enter' }
  | { kind: 'cancel' }
  | { kind: 'next-brand' }
  | { kind: 'cable' }
  | { kind: 'reboot' }
  | { kind: 'next-terminal' }
  | { kind: 'quit' }
  | { kind: 'none' };

/** Maps one key press (as node's readline reports it) to a command. */
export function keyToCommand(str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined): InteractiveCommand {
  if (key?.ctrl === true && key.name === 'c') return { kind: 'quit' };
  switch (key?.name) {
    case 'return':
    case 'enter':
      return { kind: 'pin-enter' };
    case 'backspace':
      return { kind: 'pin-erase' };
    case 'tab':
      return { kind: 'next-terminal' };
    case 'escape':
      return { kind: 'cancel' };
    default:
      break;
  }
  if (str !== undefined && /^[0-9]$/.test(str)) return { kind: 'pin-digit', digit: str };
  switch (str?.toLowerCase()) {
    case 'i':
      return { kind: 'insert' };
    case 't':
      return { kind: 'tap' };
    case 'c':
      return { kind: 'cancel' };
    case 'b':
      return { kind: 'next-brand' };
    case 'u':
      return { kind: 'cable' };
    case 'r':
      return { kind: 'reboot' };
    case 'q':
      return { kind: 'quit' };
    default:
      return { kind: 'none' };
  }
}

/** Shortest PIN accepted. */
export const MIN_PIN_DIGITS = 4;

/** Runs interactive mode until `q`/Ctrl+C; resolves then. Needs a TTY on `input`. */
export function runInteractive(
  terminals: readonly SimTerminalHandle[],
  io: { input: NodeJS.ReadStream; output: NodeJS.WriteStream },
): Promise<void> {
  const brands = [undefined, ...new Set(TEST_CARDS.map((r) => r.card.brand))];
  let selected = 0;
  let brandIndex = 0;
  let pin = '';
  let notice = '';
  const current = () => terminals[selected] as SimTerminalHandle;

  const draw = () => {
    const t = current();
    const snap = t.snapshot();
    const [l1, l2] = snap.screen;
    const width = 26;
    const pad = (s: string) => s.slice(0, width).padEnd(width, ' ');
    const pinLine = snap.state === 'pin' ? `PIN: ${'*'.repeat(pin.length)}` : '';
    io.output.write(
      '\x1b[2J\x1b[H' +
        `posbridge-sim — terminal ${t.serialNumber} (${t.dialect})${terminals.length > 1 ? ` [${selected + 1}/${terminals.length}]` : ''}` +
        `${t.link === 'pty' ? `  port ${t.path}` : ''}\n\n` +
        `  ┌${'─'.repeat(width + 2)}┐\n` +
        `  │ ${pad(l1)} │\n  │ ${pad(l2)} │\n  │ ${pad(pinLine)} │\n` +
        `  └${'─'.repeat(width + 2)}┘\n\n` +
        `  cable: ${snap.plugged ? 'plugged' : 'PULLED'}   card: ${brands[brandIndex] ?? 'by amount'}   sales: ${t.sales().total}, charges: ${t.sales().charges}\n` +
        `  ${notice}\n\n  ${INTERACTIVE_KEYS}\n`,
    );
  };

  return new Promise((resolve) => {
    emitKeypressEvents(io.input);
    io.input.setRawMode(true);
    io.input.resume();
    const unsubscribe = terminals.map((t) => t.onChange(() => draw()));
    const onKey = (str: string | undefined, key: { name?: string; ctrl?: boolean } | undefined) => {
      const t = current();
      const cmd = keyToCommand(str, key);
      notice = '';
      const brand = brands[brandIndex];
      switch (cmd.kind) {
        case 'insert':
        case 'tap':
          pin = '';
          t.customer({ action: 'present-card', entry: cmd.kind, ...(brand !== undefined ? { brand } : {}) });
          break;
        case 'pin-digit':
          if (t.snapshot().state === 'pin' && pin.length < 12) pin += cmd.digit;
          break;
        case 'pin-erase':
          pin = pin.slice(0, -1);
          break;
        case 'pin-enter':
          if (t.snapshot().state !== 'pin') break;
          if (pin.length < MIN_PIN_DIGITS) notice = `a PIN has at least ${MIN_PIN_DIGITS} digits`;
          else {
            pin = ''; // never kept: only its length was ever shown
            t.customer({ action: 'enter-pin' });
          }
          break;
        case 'cancel':
          pin = '';
          t.customer({ action: 'cancel' });
          break;
        case 'next-brand':
          brandIndex = (brandIndex + 1) % brands.length;
          break;
        case 'cable':
          if (t.snapshot().plugged) t.unplug();
          else t.replug();
          break;
        case 'reboot':
          t.reboot();
          break;
        case 'next-terminal':
          selected = (selected + 1) % terminals.length;
          pin = '';
          break;
        case 'quit':
          io.input.off('keypress', onKey);
          io.input.setRawMode(false);
          io.input.pause();
          for (const u of unsubscribe) u();
          resolve();
          return;
        case 'none':
          break;
        default: {
          const never: never = cmd;
          throw new TypeError(`unknown command ${JSON.stringify(never)}`);
        }
      }
      draw();
    };
    io.input.on('keypress', onKey);
    draw();
  });
}
