import { describe, expect, it } from 'vitest';
import { TEST_AMOUNTS } from '@posbridge/protocol/terminal';
import { isAsyncScenario, suiteScenarioOf } from './scenario.ts';

describe('suiteScenarioOf', () => {
  it('maps the Test Suite card numbers to their cases whatever the amount', () => {
    for (const amount of [100, 105, 1010]) {
      expect(suiteScenarioOf('4444333322221111', amount)).toBe('approved');
      expect(suiteScenarioOf('4444 3333 2222 1112', amount)).toBe('denied');
      expect(suiteScenarioOf('4222-2222-2222-2224', amount)).toBe('async_approved');
      expect(suiteScenarioOf('4222222222222225', amount)).toBe('async_denied');
    }
  });

  it('falls back to the simulator test-amount table without a suite card', () => {
    expect(suiteScenarioOf(null, 3190)).toBe('approved');
    expect(suiteScenarioOf(undefined, 3105)).toBe('denied');
    expect(suiteScenarioOf('4111111111111111', 3154)).toBe('denied');
    expect(suiteScenarioOf('', 3110)).toBe('denied');
    expect(suiteScenarioOf(null, 3120)).toBe('async_approved');
    for (const row of TEST_AMOUNTS) {
      const s = suiteScenarioOf(null, 1000 + Number(row.cents));
      expect(s.endsWith(row.status === 'approved' ? 'approved' : 'denied')).toBe(true);
    }
  });

  it('tells the asynchronous scenarios', () => {
    expect(isAsyncScenario('async_approved') && isAsyncScenario('async_denied')).toBe(true);
    expect(isAsyncScenario('approved') || isAsyncScenario('denied')).toBe(false);
  });
});
