import { join } from 'node:path';
import { afterEach, describe } from 'vitest';
import { storeContracts } from '../../ports/contracts.ts';
import { tempDir } from '../../testing/helpers.ts';
import { openSqliteStore } from './index.ts';

describe('SQLite adapter', () => {
  const dirs: ReturnType<typeof tempDir>[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) dir.cleanup();
  });
  storeContracts(() => {
    const tmp = tempDir();
    dirs.push(tmp);
    return openSqliteStore({ filename: join(tmp.dir, 'store.sqlite') });
  }, 'sqlite');
});
