/**
 * Contract of the metadata port (./meta.ts `MetaPort`): every adapter runs these same
 * assertions (adapters/memory/memory-contract.test.ts, adapters/sqlite/sqlite-contract.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { useStore, type StoreFactory } from './contract-helpers.ts';

/** Registers the meta contract against stores made by `factory`. */
export function metaContract(factory: StoreFactory): void {
  describe('MetaPort contract', () => {
    const store = useStore(factory);

    it('keeps the first value set under a key, even under concurrent calls', async () => {
      const values = await Promise.all(Array.from({ length: 10 }, (_, i) => store().getOrSetMeta('secret', `v${i}`)));
      expect(new Set(values).size).toBe(1);
      expect(await store().getMeta('secret')).toBe(values[0]);
      expect(await store().getOrSetMeta('secret', 'other')).toBe(values[0]);
    });

    it('reads null for a missing key, and deletes a key (nothing when absent)', async () => {
      expect(await store().getMeta('k')).toBeNull();
      await store().getOrSetMeta('k', 'v');
      await store().getOrSetMeta('other', 'w');
      await store().deleteMeta('k');
      await store().deleteMeta('k');
      await store().deleteMeta('never');
      expect(await store().getMeta('k')).toBeNull();
      expect(await store().getMeta('other')).toBe('w');
      expect(await store().getOrSetMeta('k', 'new')).toBe('new');
    });
  });
}
