/** The agent's clocks: the manual one runs due timers in time order, the real one is Node's. */
import { describe, expect, it } from 'vitest';
import { SYSTEM_CLOCK, sleep } from './clock.ts';
import { ManualClock } from './manual-clock.ts';

describe('ManualClock', () => {
  it('runs due timers in time order (ties in scheduling order), and timers they schedule within the advance', async () => {
    const clock = new ManualClock(1000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => ran.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => {
      ran.push(`c@${clock.now()}`);
      clock.setTimeout(() => ran.push(`d@${clock.now()}`), 5);
    }, 20);
    clock.setTimeout(() => ran.push('late'), 100);
    await clock.advance(30);
    expect(ran).toEqual(['a@1010', 'b@1020', 'c@1020', 'd@1025']);
    expect(clock.now()).toBe(1030);
    expect(clock.pending).toBe(1);
  });

  it('does not run a cancelled timer; a negative delay counts as 0', async () => {
    const clock = new ManualClock();
    const ran: string[] = [];
    const t = clock.setTimeout(() => ran.push('cancelled'), 5);
    clock.setTimeout(() => ran.push('now'), -10);
    t.cancel();
    t.cancel();
    await clock.advance(0);
    expect(ran).toEqual(['now']);
  });

  it('settles promise chains a timer starts before the next timer runs', async () => {
    const clock = new ManualClock();
    const ran: string[] = [];
    void sleep(clock, 10).then(() => ran.push('slept'));
    clock.setTimeout(() => ran.push('next'), 11);
    await clock.advance(20);
    expect(ran).toEqual(['slept', 'next']);
  });
});

describe('SYSTEM_CLOCK', () => {
  it('tells epoch ms and runs and cancels real timers', async () => {
    expect(Math.abs(SYSTEM_CLOCK.now() - Date.now())).toBeLessThan(50);
    const ran: string[] = [];
    SYSTEM_CLOCK.setTimeout(() => ran.push('cancelled'), 1).cancel();
    await new Promise<void>((resolve) => SYSTEM_CLOCK.setTimeout(resolve, 5, { unref: true }));
    expect(ran).toEqual([]);
  });
});
