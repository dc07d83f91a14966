/** {@link MetaPort} in memory (a deleted value is dropped from the map: nothing keeps a copy). */
import type { MetaPort } from '../../ports/meta.ts';
import type { MemoryConnection } from './state.ts';

/** Metadata over a memory connection. */
export class MemoryMeta implements MetaPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  getOrSetMeta(key: string, value: string): Promise<string> {
    return this.#conn.run('getOrSetMeta', () => {
      const { meta } = this.#conn.tables;
      const existing = meta.get(key);
      if (existing !== undefined) return existing;
      meta.set(key, value);
      return value;
    });
  }

  getMeta(key: string): Promise<string | null> {
    return this.#conn.run('getMeta', () => this.#conn.tables.meta.get(key) ?? null);
  }

  deleteMeta(key: string): Promise<void> {
    return this.#conn.run('deleteMeta', () => {
      this.#conn.tables.meta.delete(key);
    });
  }
}
