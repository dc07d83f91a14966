/**
 * Small server-wide values kept with the data (the installation's secrets and markers), by key.
 */

/** Key/value metadata. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface MetaPort {
  /** Returns the value stored under `key`, storing `value` first when there is none (race-safe). */
  getOrSetMeta(key: string, value: string): Promise<string>;
  /** The value stored under `key`, or null. */
  getMeta(key: string): Promise<string | null>;
  /** Removes `key` (nothing when absent), leaving no copy of its value in the storage (a secret must not linger). */
  deleteMeta(key: string): Promise<void>;
}
