/**
 * `npm run demo` — one VTEX `Venda Direta` payment through every part of posbridge on real
 * parts: HTTP (PPP), a WebSocket (hub ⇄ agent), a serial line on a real pseudo-terminal (agent ⇄
 * simulated terminal), SQLite on disk, and the notification callback to the gateway.
 *
 * Prints a timeline of each hop, then the callback body the gateway received.
 * Exit code: 0 when the payment was approved, 1 when it was not, 2 on a usage or start-up error,
 * 3 when it did not exit within `--exit-timeout-s` of shutting down (the watchdog then prints what
 * was still open).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { logRedaction } from '@posbridge/protocol/redaction';
import { startLocalStack, type LocalStack, armExitWatchdog } from '@posbridge/testkit/stack';
import { createTimeline } from './lib/timeline.ts';
import {
  GatewayClient,
  appPayload,
  buildCreatePayment,
  startCallbackReceiver,
  submitTerminal,
  type CallbackReceiver,
} from '@posbridge/testkit';

const HELP = `Usage: npm run demo -- [options]

Runs one in-store card payment end to end on the embedded defaults (SQLite in a temporary
folder, the simulated terminal on a pseudo-terminal) and prints each hop. The demo merchant
has VTEX Test Suite mode on (docs/homologation.md); the demo's own payment sends no Test Suite
header, so it runs on the simulated terminal.

Options:
  --amount <decimal>   amount in BRL, as VTEX sends it (default 31.9; cents .05 are declined by the simulator)
  --debit              pay with "Venda Direta Debito" instead of "Venda Direta Credito"
  --serial <serial>    serial number of the simulated terminal (default SIM0001)
  --step-delay-ms <n>  simulator think time between terminal stages (default 250)
  --timeout-s <n>      give up waiting for the result after n seconds (default 60)
  --exit-timeout-s <n> exit at most n seconds after shutdown began, printing what was still
                       open if that bound is hit (default 15)
  -h, --help           show this help

Exit code: 0 approved, 1 not approved, 2 usage or start-up error, 3 did not shut down in time.`;

/** Exit status when the demo did not exit within --exit-timeout-s of shutting down. */
const EXIT_HUNG = 3;

interface DemoOptions {
  value: number;
  method: 'credit' | 'debit';
  serialNumber: string;
  stepDelayMs: number;
  timeoutMs: number;
  exitTimeoutMs: number;
}

function parseOptions(argv: string[]): DemoOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      amount: { type: 'string' },
      debit: { type: 'boolean', default: false },
      serial: { type: 'string', default: 'SIM0001' },
      'step-delay-ms': { type: 'string', default: '250' },
      'timeout-s': { type: 'string', default: '60' },
      'exit-timeout-s': { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const value = values.amount === undefined ? 31.9 : Number(values.amount);
  const stepDelayMs = Number(values['step-delay-ms']);
  const timeoutMs = Number(values['timeout-s']) * 1000;
  const exitTimeoutMs = Number(values['exit-timeout-s']) * 1000;
  const problems = [
    !(Number.isFinite(value) && value > 0) && `--amount must be a positive decimal, got ${values.amount}`,
    !(Number.isInteger(stepDelayMs) && stepDelayMs >= 0) && '--step-delay-ms must be a whole number ≥ 0',
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && '--timeout-s must be a positive number',
    !(Number.isFinite(exitTimeoutMs) && exitTimeoutMs > 0) && '--exit-timeout-s must be a positive number',
  ].filter(Boolean);
  if (problems.length) throw new Error(problems.join('\n'));
  return { value, method: values.debit ? 'debit' : 'credit', serialNumber: values.serial, stepDelayMs, timeoutMs, exitTimeoutMs };
}

async function main(): Promise<number> {
  let options: DemoOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${HELP}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }

  const out = process.stdout;
  const logger = pino({ level: 'debug', ...logRedaction() }, createTimeline({ out }));
  const gatewayLog = logger.child({ component: 'gateway' });
  const appLog = logger.child({ component: 'app' });
  out.write('posbridge demo — one in-store payment through server, WebSocket, agent, serial and simulated terminal\n\n');

  let stack: LocalStack | undefined;
  let receiver: CallbackReceiver | undefined;
  try {
    receiver = await startCallbackReceiver();
    stack = await startLocalStack({ logger, serialNumber: options.serialNumber, stepDelayMs: options.stepDelayMs, testSuiteMode: true });
    const terminal = stack.terminals[0];
    out.write(
      `\nready: PPP at ${stack.pppBaseUrl}, SQLite in ${stack.dir}, terminal ${options.serialNumber} on ${
        terminal?.path ?? 'an in-process link (socat not installed)'
      }\n\n`,
    );

    const gateway = new GatewayClient(stack.pppBaseUrl, stack.appKey, stack.appToken);
    const paymentId = randomBytes(16).toString('hex').toUpperCase();
    const transactionId = randomBytes(16).toString('hex').toUpperCase();
    const request = buildCreatePayment({
      value: options.value,
      method: options.method,
      paymentId,
      transactionId,
      callbackUrl: receiver.callbackUrlFor(transactionId, paymentId),
    });

    gatewayLog.info({ paymentId, amount: `BRL ${options.value}`, method: request['paymentMethod'] }, 'POST /payments (create)');
    const first = await gateway.createPayment(request);
    const connector = appPayload(first);
    gatewayLog.info({ paymentId, status: first.body['status'], appName: connector?.appName }, 'answer received');
    const submitUrl = connector?.payload['submitUrl'];
    if (first.status !== 200 || typeof submitUrl !== 'string') {
      throw new Error(`unexpected Create Payment answer ${first.status}: ${JSON.stringify(first.body)}`);
    }

    appLog.info({ paymentId, serialNumber: options.serialNumber }, 'clerk scanned the terminal; POST submitUrl');
    const submitted = await submitTerminal(submitUrl, options.serialNumber);
    appLog.info({ paymentId, httpStatus: submitted.status }, 'submitUrl answered');
    if (submitted.status !== 200) throw new Error(`submitUrl refused the terminal: ${JSON.stringify(submitted.body)}`);

    const second = await gateway.createPayment(request);
    gatewayLog.info({ paymentId, status: second.body['status'], appName: appPayload(second)?.appName }, 'POST /payments (same paymentId) answered');

    const callback = await receiver.waitFor(paymentId, options.timeoutMs);
    gatewayLog.info({ paymentId, status: callback.body['status'] }, 'callback received');
    const final = await gateway.createPayment(request);
    gatewayLog.info({ paymentId, status: final.body['status'] }, 'POST /payments (poll) answered');

    out.write(`\nCallback the gateway received: POST ${callback.url}\n`);
    out.write(
      `  X-VTEX-API-AppKey: ${String(callback.headers['x-vtex-api-appkey'])}\n  X-VTEX-API-AppToken: ${
        callback.headers['x-vtex-api-apptoken'] ? '(set, not shown)' : '(missing)'
      }\n`,
    );
    out.write(`${JSON.stringify(callback.body, null, 2)}\n\n`);
    const approved = callback.body['status'] === 'approved' && final.body['status'] === 'approved';
    out.write(
      approved
        ? `APPROVED — ${String(callback.body['cardBrand'])} ${String(callback.body['firstDigits'])}******${String(
            callback.body['lastDigits'],
          )}, authorizationId ${String(callback.body['authorizationId'])}, nsu ${String(callback.body['nsu'])}\n`
        : `NOT APPROVED — status ${String(callback.body['status'])}: ${String(callback.body['message'])}\n`,
    );
    return approved ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo failed: ${(err as Error).message}\n`);
    return 2;
  } finally {
    logger.level = 'silent'; // the summary is the last thing the demo prints; shutdown is not a hop
    // From here the process must end within the bound, whatever is left open (it stays armed
    // after main returns: a leaked handle or child would otherwise keep the demo alive forever).
    armExitWatchdog({ afterMs: options.exitTimeoutMs, what: 'the demo', code: EXIT_HUNG });
    await stack?.close();
    await receiver?.close();
  }
}

process.exitCode = await main();
