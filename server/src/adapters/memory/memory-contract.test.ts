import { describe } from 'vitest';
import { storeContracts } from '../../ports/contracts.ts';
import { createMemoryStore } from './index.ts';

describe('memory adapter', () => {
  storeContracts(() => Promise.resolve(createMemoryStore()), 'memory');
});
