/**
 * The camera behind an interface: the host injects a {@link TerminalScanner} (a React Native
 * camera module — README "Camera adapter" for react-native-vision-camera —, a web decoder, a
 * hardware scanner); tests inject a fake. The app only
 * turns the decoded text into a serial number.
 */
import { SerialNumberSchema } from '@posbridge/protocol/ws';

/** What one scan gave. */
export type ScanOutcome = { readonly kind: 'code'; readonly text: string } | { readonly kind: 'cancelled' };

/** Why a scan could not run: no camera on the device (or page), the clerk or the OS refused it, anything else. */
export type ScannerFailure = 'no-camera' | 'permission-denied' | 'failed';

/** What a {@link TerminalScanner} rejects with when it knows why; any other rejection reads as `failed`. */
export class ScannerError extends Error {
  constructor(
    readonly reason: ScannerFailure,
    message: string,
  ) {
    super(message);
    this.name = 'ScannerError';
  }
}

/** The {@link ScannerFailure} of whatever a scanner rejected with. */
export function scannerFailureOf(error: unknown): ScannerFailure {
  return error instanceof ScannerError ? error.reason : 'failed';
}

/**
 * Reads one barcode or QR code, showing whatever camera UI it needs; rejects (preferably with a
 * {@link ScannerError}) if the camera fails. `signal` aborts when the screen no longer waits
 * (unmounted): the scanner then releases the camera and may resolve `cancelled`.
 */
export interface TerminalScanner {
  scan(signal?: AbortSignal): Promise<ScanOutcome>;
}

/**
 * The serial number in a scanned code: the code itself (`SIM0001`), a `serial`/`serialNumber`/`sn`
 * query parameter of a URL-like code, or a `serialNumber` field of a JSON code. Null if none is valid.
 */
export function serialFromCode(text: string): string | null {
  const raw = text.trim();
  const candidates: string[] = [raw];
  const query = /[?&](?:serialNumber|serial|sn)=([^&#\s]+)/i.exec(raw);
  if (query?.[1] !== undefined) candidates.unshift(decodeURIComponent(query[1]));
  if (raw.startsWith('{')) {
    try {
      const json = JSON.parse(raw) as { serialNumber?: unknown };
      if (typeof json.serialNumber === 'string') candidates.unshift(json.serialNumber.trim());
    } catch {
      // not JSON: fall through to the raw text
    }
  }
  return candidates.find((c) => SerialNumberSchema.safeParse(c).success) ?? null;
}
