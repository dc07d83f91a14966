/**
 * The camera behind an interface: the host injects a {@link TerminalScanner} (a React Native
 * camera module — README "Camera adapter" for react-native-vision-camera —, a web decoder, a
 * hardware scanner); tests inject a fake. The app only
 * turns the decoded text into a serial number.
 */
import { SerialNumberSchema } from '@posbridge/protocol/ws';

/** What one scan gave. */
export type ScanOutcome = { readonly kind: 'code'; readonly text: string } | { readonly kind: 'cancelled' };

/** Reads one barcode or QR code, showing whatever camera UI it needs; rejects if the camera fails. */
export interface TerminalScanner {
  scan(): Promise<ScanOutcome>;
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
