/**
 * The control interface changes the Concert private-field mode of a running terminal
 * (`PATCH /terminals/:serial/scenario {"privateField": …}`) and refuses a mode it does not know.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, type RunningSim } from './index.ts';

describe('control interface: the Concert private field', () => {
  let sim: RunningSim;
  let base: string;
  beforeAll(async () => {
    sim = await startSim({
      terminals: [{ serialNumber: 'CON0001', dialect: 'CONCERT-E+' }],
      logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
      link: 'in-process',
      controlPort: 0,
    });
    base = `${sim.controlUrl ?? ''}/terminals/CON0001/scenario`;
  });
  afterAll(async () => {
    await sim?.close();
  });

  it('defaults to the terminal owning the field, switches to echo and back', async () => {
    expect(((await (await fetch(base)).json()) as { privateField: string }).privateField).toBe('own');
    const patched = await fetch(base, { method: 'PATCH', body: JSON.stringify({ privateField: 'echo' }) });
    expect(patched.status).toBe(200);
    expect(sim.terminals[0]?.scenario().privateField).toBe('echo');
    await fetch(base, { method: 'PATCH', body: JSON.stringify({ privateField: 'zeros' }) });
    expect(sim.terminals[0]?.scenario().privateField).toBe('zeros');
  });

  it('refuses an unknown mode with CFG_INVALID', async () => {
    const res = await fetch(base, { method: 'PATCH', body: JSON.stringify({ privateField: 'mirror' }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'CFG_INVALID', message: expect.stringContaining('privateField must be one of own, blank, zeros, echo') });
  });
});
