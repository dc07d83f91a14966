import { describe, expect, it } from 'vitest';
import { QueueFullError, SerialQueue } from './serial-queue.ts';

/** A promise settled from outside. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('SerialQueue', () => {
  it('runs tasks one at a time, in the order they were queued', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      q.run(async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await Promise.resolve();
    expect(log).toEqual(['start 0']);
    // Releasing a later task first changes nothing: it has not started.
    gates[2]!.resolve();
    gates[1]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['start 0']);
    gates[0]!.resolve();
    expect(await Promise.all(runs)).toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('a failing task rejects only its own promise; the next task runs as usual', async () => {
    const seen: unknown[] = [];
    const q = new SerialQueue({ onError: (err) => seen.push(err) });
    const boom = new Error('boom');
    const first = q.run(() => Promise.reject(boom));
    const sync = q.run(() => {
      throw new TypeError('sync');
    });
    const next = q.run(async () => 'still runs');
    await expect(first).rejects.toBe(boom);
    await expect(sync).rejects.toBeInstanceOf(TypeError);
    await expect(next).resolves.toBe('still runs');
    expect(seen).toEqual([boom, expect.any(TypeError)]);
    await expect(q.idle()).resolves.toBeUndefined();
  });

  it('accepts synchronous tasks and counts what is pending', async () => {
    const q = new SerialQueue();
    const gate = deferred();
    const a = q.run(() => gate.promise);
    const b = q.run(() => 7);
    expect(q.pending).toBe(2);
    gate.resolve();
    await a;
    expect(await b).toBe(7);
    expect(q.pending).toBe(0);
  });

  it('idle() waits for every task queued before it, failed ones included, and never rejects', async () => {
    const q = new SerialQueue();
    const gate = deferred();
    const order: string[] = [];
    void q.run(() => gate.promise).catch(() => order.push('task failed'));
    const idle = q.idle().then(() => order.push('idle'));
    gate.reject(new Error('late'));
    await idle;
    expect(order).toEqual(['task failed', 'idle']);
  });

  it('with a bound, refuses a task beyond it without running it, and accepts again once drained', async () => {
    const q = new SerialQueue({ maxPending: 2 });
    const gate = deferred();
    let ran = 0;
    const a = q.run(() => gate.promise);
    const b = q.run(() => {
      ran += 1;
    });
    const refused = q.run(() => {
      ran += 100;
    });
    await expect(refused).rejects.toBeInstanceOf(QueueFullError);
    await expect(refused).rejects.toMatchObject({ limit: 2, name: 'QueueFullError' });
    gate.resolve();
    await Promise.all([a, b]);
    expect(ran).toBe(1);
    await expect(q.run(() => 'again')).resolves.toBe('again');
  });

  it('rejects a bound that is not a positive integer', () => {
    expect(() => new SerialQueue({ maxPending: 0 })).toThrow(RangeError);
    expect(() => new SerialQueue({ maxPending: 1.5 })).toThrow(RangeError);
    expect(() => new SerialQueue({ maxPending: Number.NaN })).toThrow(RangeError);
  });
});
