/**
 * `npm run stack -- --instances 2` as another tool drives it (issue 12 item 7): a child process
 * that prints one JSON ready line naming both instances and the agent; a payment created on one
 * instance and bound through the other completes; `/healthz` counts the one agent once; SIGKILL
 * of the instance holding the agent moves the agent to the survivor within seconds, the payment
 * in flight then finishes (charged once, one final callback) and a new one completes; SIGTERM
 * stops everything and removes its folders.
 *
 * The client knows only the stack's contract, the PPP (through the VTEX gateway double) and the
 * simulator's control interface (its address is on the stack's stderr log).
 * @requires-program postgres nats-server socat
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  isDelivered,
  startCallbackReceiver,
  submitTerminal,
  waitFor,
  type CallbackReceiver,
} from '@posbridge/testkit';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Ready {
  event: 'ready';
  pppBaseUrl: string;
  appKey: string;
  appToken: string;
  terminals: { serialNumber: string }[];
  store: string;
  bus: string;
  instances: { pppBaseUrl: string; pid: number }[];
  agent: { pid: number };
  giftcard: { serviceUrl: string; appKey: string; appToken: string };
  adminToken: string;
  consoleUrl: string;
}

interface Health {
  instanceId: string;
  agentsConnected: number;
}

/** `/healthz` of an instance, or undefined when it is down. */
async function health(baseUrl: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The same path and query on another instance (what a client may do with a minted URL). */
const onInstance = (url: string, baseUrl: string): string => {
  const u = new URL(url);
  const b = new URL(baseUrl);
  u.protocol = b.protocol;
  u.host = b.host;
  return u.toString();
};

describe('npm run stack -- --instances 2', () => {
  let child: ChildProcessWithoutNullStreams;
  let ready: Ready;
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  let receiver: CallbackReceiver;
  let gateway: (baseUrl: string) => GatewayClient;
  let readyLog: { dirs: string[]; simControlUrl: string };
  const finals = new Map<string, string>();

  /** Creates a payment on `createOn`, binds it through `bindOn`; resolves with its body (for polls) once bound. */
  const createAndBind = async (createOn: string, bindOn: string, value: number) => {
    const body = buildCreatePayment({ value, method: 'debit', callbackUrl: '' });
    body['callbackUrl'] = receiver.callbackUrlFor(String(body['transactionId']), String(body['paymentId']));
    const created = await gateway(createOn).createPayment(body);
    expect(created.status).toBe(200);
    expect(created.body['status']).toBe('undefined');
    const submitUrl = appPayload(created)?.payload['submitUrl'];
    expect(typeof submitUrl).toBe('string');
    const bound = await submitTerminal(onInstance(String(submitUrl), bindOn), ready.terminals[0]!.serialNumber);
    expect(bound.status).toBe(200);
    return body;
  };

  /** Polls `POST /payments` on `baseUrl` like VTEX until the payment is final. */
  const finalOf = async (baseUrl: string, body: Record<string, unknown>, timeoutMs = 30_000): Promise<string> => {
    const status = await waitFor(
      async () => {
        const polled = await gateway(baseUrl).createPayment(body);
        const s = String(polled.body['status']);
        return s === 'approved' || s === 'denied' ? s : undefined;
      },
      { timeoutMs, intervalMs: 200, message: `payment ${String(body['paymentId'])} final on ${baseUrl}` },
    );
    finals.set(String(body['paymentId']), status);
    return status;
  };

  const agentsConnected = async () => (await Promise.all(ready.instances.map((i) => health(i.pppBaseUrl)))).reduce((s, h) => s + (h?.agentsConnected ?? 0), 0);

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
    child = spawn(process.execPath, ['--conditions=@posbridge/source', '--import', 'tsx', 'scripts/stack.ts', '--instances', '2', '--step-delay-ms', '250'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    createInterface({ input: child.stderr }).on('line', (line) => stderrLines.push(line));
    ready = await new Promise<Ready>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line; stderr:\n${stderrLines.slice(-40).join('\n')}`)), 90_000);
      child.once('close', (code) => reject(new Error(`stack exited with ${code}; stderr:\n${stderrLines.slice(-40).join('\n')}`)));
      createInterface({ input: child.stdout }).on('line', (line) => {
        stdoutLines.push(line);
        const parsed = JSON.parse(line) as Ready; // every stdout line must be JSON
        if (parsed.event === 'ready') {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
    });
    gateway = (baseUrl) => new GatewayClient(baseUrl, ready.appKey, ready.appToken);
    const log = stderrLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'cluster stack ready');
    readyLog = log as unknown as typeof readyLog;
  }, 120_000);

  afterAll(async () => {
    // SIGTERM, not SIGKILL: a killed stack would leave its servers, PostgreSQL and NATS behind.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
      await exited;
      clearTimeout(timer);
    }
    await receiver.close();
  }, 60_000);

  it('prints exactly one ready line naming both instances (their server processes) and the agent', () => {
    expect(stdoutLines).toHaveLength(1);
    expect(Object.keys(ready).sort()).toEqual(['adminToken', 'agent', 'appKey', 'appToken', 'bus', 'consoleUrl', 'event', 'giftcard', 'instances', 'pppBaseUrl', 'store', 'terminals']);
    expect(ready.giftcard.serviceUrl).toBe(`${ready.pppBaseUrl}/giftcard-provider/posbridge-local`);
    expect(ready.store).toBe('postgres');
    expect(ready.bus).toBe('nats');
    expect(ready.terminals).toEqual([{ serialNumber: 'SIM0001' }]);
    expect(ready.instances).toHaveLength(2);
    for (const i of ready.instances) {
      expect(Object.keys(i).sort()).toEqual(['pid', 'pppBaseUrl']);
      expect(i.pppBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(i.pppBaseUrl).not.toMatch(/:0$/);
      expect(Number.isInteger(i.pid) && alive(i.pid)).toBe(true);
    }
    expect(new Set(ready.instances.map((i) => i.pppBaseUrl)).size).toBe(2);
    expect(ready.pppBaseUrl).toBe(ready.instances[0]!.pppBaseUrl);
    expect(Number.isInteger(ready.agent.pid) && alive(ready.agent.pid)).toBe(true);
    expect(new Set([child.pid, ready.agent.pid, ...ready.instances.map((i) => i.pid)]).size).toBe(4);
    expect(readyLog.simControlUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const line of stderrLines) expect(JSON.parse(line)).not.toHaveProperty('event', 'ready');
  });

  it("serves the merchant's Gift Card Provider, with an empty ledger, on every instance (shared credentials)", async () => {
    for (const i of ready.instances) {
      const res = await fetch(`${i.pppBaseUrl}/giftcard-provider/posbridge-local/giftcards/_search`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-PROVIDER-API-AppKey': ready.giftcard.appKey, 'X-PROVIDER-API-AppToken': ready.giftcard.appToken },
        body: JSON.stringify({ client: { id: 'anyone', email: 'a@example.com', document: '1' }, cart: { redemptionCode: '' } }),
      });
      expect([res.status, await res.json()]).toEqual([200, []]);
    }
  });

  it('answers /healthz on each instance with its own id, and counts the one agent once', async () => {
    const answers = await Promise.all(ready.instances.map((i) => health(i.pppBaseUrl)));
    for (const h of answers) {
      expect(typeof h?.instanceId).toBe('string');
      expect(Number.isInteger(h?.agentsConnected)).toBe(true);
    }
    expect(new Set(answers.map((h) => h?.instanceId)).size).toBe(2);
    expect(await agentsConnected()).toBe(1);
  });

  it('completes a payment created on instance 0 and bound through instance 1', async () => {
    const [i0, i1] = ready.instances as [Ready['instances'][0], Ready['instances'][0]];
    const body = await createAndBind(i0.pppBaseUrl, i1.pppBaseUrl, 10.5);
    const callback = await receiver.waitFor(String(body['paymentId']), 30_000);
    expect(callback.body).toMatchObject({ paymentId: body['paymentId'], status: 'approved' });
    expect(await finalOf(i1.pppBaseUrl, body)).toBe('approved');
    expect(await finalOf(i0.pppBaseUrl, body)).toBe('approved');
    // Each instance's admin API reads the shared store: the same timeline, server and agent entries (docs/admin-api.md).
    for (const i of [i0, i1]) {
      const url = `${i.pppBaseUrl}/admin/v1/payments/${String(body['paymentId'])}`;
      expect((await fetch(url)).status).toBe(401);
      const detail = await fetch(url, { headers: { authorization: `Bearer ${ready.adminToken}` } });
      expect(detail.status).toBe(200);
      const { payment, timeline } = (await detail.json()) as { payment: { status: string }; timeline: { component: string; event: string }[] };
      expect(payment.status).toBe('approved');
      expect(timeline.map((e) => `${e.component}:${e.event}`)).toEqual(expect.arrayContaining(['server:created', 'agent:agent.acked', 'terminal:result.received']));
    }
  }, 60_000);

  it('survives SIGKILL of the agent’s instance: the agent moves, the payment in flight finishes, a new one completes', async () => {
    const answers = await Promise.all(ready.instances.map((i) => health(i.pppBaseUrl)));
    const holderIndex = answers.findIndex((h) => h?.agentsConnected === 1);
    expect(holderIndex).toBeGreaterThanOrEqual(0);
    const holder = ready.instances[holderIndex]!;
    const survivor = ready.instances[1 - holderIndex]!;

    // A payment in flight: created and bound on the survivor, its sale running on the terminal.
    const inFlight = await createAndBind(survivor.pppBaseUrl, survivor.pppBaseUrl, 21.5);
    await waitFor(
      async () => {
        const res = await fetch(`${readyLog.simControlUrl}/terminals/${ready.terminals[0]!.serialNumber}`);
        return ((await res.json()) as { state: string }).state !== 'idle';
      },
      { timeoutMs: 15_000, intervalMs: 20, message: 'the sale running on the terminal' },
    );
    process.kill(holder.pid, 'SIGKILL');
    await waitFor(() => !alive(holder.pid), { timeoutMs: 5_000, message: `instance ${holder.pppBaseUrl} gone` });

    // The agent reconnects to the survivor within seconds.
    await waitFor(async () => (await health(survivor.pppBaseUrl))?.agentsConnected === 1, { timeoutMs: 15_000, intervalMs: 100, message: 'the agent on the survivor' });
    expect(await agentsConnected()).toBe(1);
    expect(alive(ready.agent.pid)).toBe(true);

    expect(await finalOf(survivor.pppBaseUrl, inFlight, 60_000)).toBe('approved');
    const after = await createAndBind(survivor.pppBaseUrl, survivor.pppBaseUrl, 12.5);
    expect(await finalOf(survivor.pppBaseUrl, after)).toBe('approved');

    // Every payment: its final callbacks delivered, all with the final status; the terminal charged each sale once.
    for (const [paymentId, status] of finals) {
      await receiver.waitFor(paymentId, 30_000);
      const statuses = new Set(receiver.received.filter((c) => c.body['paymentId'] === paymentId && isDelivered(c)).map((c) => c.body['status']));
      expect([...statuses]).toEqual([status]);
    }
    const sales = (await (await fetch(`${readyLog.simControlUrl}/terminals/${ready.terminals[0]!.serialNumber}/sales`)).json()) as {
      charges: number;
      byReference: Record<string, { charges: number }>;
    };
    expect(sales.charges).toBe(finals.size);
    for (const counts of Object.values(sales.byReference)) expect(counts.charges).toBeLessThanOrEqual(1);
  }, 120_000);

  it('stops on SIGTERM: every process it started ends and its folders are gone', async () => {
    expect(readyLog.dirs.length).toBeGreaterThanOrEqual(2); // its own folder and the throwaway PostgreSQL's
    for (const dir of readyLog.dirs) expect(existsSync(dir)).toBe(true);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const dir of readyLog.dirs) expect(existsSync(dir)).toBe(false);
    for (const pid of [ready.agent.pid, ...ready.instances.map((i) => i.pid)]) expect(alive(pid)).toBe(false);
  }, 60_000);
});
