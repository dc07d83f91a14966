/**
 * What the terminal connector remembers on the clerk's device: the store it stands in (chosen
 * once, so the picker lists that store's terminals) and the terminal last used (preselected).
 * The host injects the storage — `localStorage` on the web (../../web/local-memory.ts, the VTEX IO
 * app), AsyncStorage or MMKV in React Native; without one nothing is remembered. Values are
 * store ids and serial numbers only (no payment data).
 */

/** A small key/value storage of the device. Either call may reject: the app then goes on without it. */
export interface DeviceMemory {
  read(key: string): Promise<string | null>;
  write(key: string, value: string): Promise<void>;
}

/** Key of the store the device stands in (a `storeId` of the terminal list). */
export const STORE_KEY = 'posbridge.payment-app.storeId';
/** Key of the serial number last sent to successfully. */
export const LAST_SERIAL_KEY = 'posbridge.payment-app.lastSerial';

/** What was remembered (null: nothing, or the storage failed). */
export interface Remembered {
  readonly storeId: string | null;
  readonly lastSerial: string | null;
}

/** Reads both keys; never rejects (a failing storage reads as nothing remembered). */
export async function readRemembered(memory: DeviceMemory | undefined): Promise<Remembered> {
  if (memory === undefined) return { storeId: null, lastSerial: null };
  const read = (key: string) => memory.read(key).then((v) => (typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : null), () => null);
  const [storeId, lastSerial] = await Promise.all([read(STORE_KEY), read(LAST_SERIAL_KEY)]);
  return { storeId, lastSerial };
}
