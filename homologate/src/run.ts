/**
 * A whole homologation run against one connector: the manifest (which also names the payment
 * method of the suite cases unless one is given), the Test Suite cases, then the POS flows.
 * Returns the report; never throws for what the connector does (that is a failed case).
 */
import { startCallbackListener } from './callback-listener.ts';
import { runCase, type CaseContext, type CaseResult } from './case-run.ts';
import { posCases } from './cases-pos.ts';
import { manifestCase, SUITE_CASES } from './cases-suite.ts';
import { ConnectorClient, type Exchange } from './http.ts';
import { PppContract } from './openapi.ts';
import { buildReport, type HomologationReport } from './report.ts';

/** Settings of {@link runHomologation} (the CLI's options). */
export interface HomologationOptions {
  /** The connector's base URL. */
  url: string;
  appKey: string;
  appToken: string;
  /** `host:port` the callback listener binds. @default `127.0.0.1:0` */
  callbackListen?: string;
  /** `host:port` the connector reaches the listener at, when not the bound address. */
  callbackPublicHost?: string;
  /** Terminal serial of the POS flows. */
  serial?: string;
  /** `merchantName` of the Create Payments (the VTEX account name). @default `homologation` */
  merchantName?: string;
  /** Payment method of the suite cases; default the first one the manifest lists. */
  paymentMethod?: string;
  /** Give up on one answer after this long, ms. @default 10000 */
  timeoutMs?: number;
  /** How long a POS sale waits for its terminal, ms. @default 120000 */
  posTimeoutMs?: number;
  /** The contract to validate with; default the vendored spec. */
  contract?: PppContract;
  /** Wall clock for the report's start time. @default `new Date()` */
  clock?: () => Date;
}

/** Runs every case and returns the report (see homologate/README.md). */
export async function runHomologation(options: HomologationOptions): Promise<HomologationReport> {
  const startedAt = (options.clock ?? (() => new Date()))().toISOString();
  const now = (): number => performance.now();
  const client = new ConnectorClient({ baseUrl: options.url, appKey: options.appKey, appToken: options.appToken, timeoutMs: options.timeoutMs ?? 10_000, now });
  const callbacks = await startCallbackListener(options.callbackListen ?? '127.0.0.1:0', options.callbackPublicHost);
  try {
    const ctx: CaseContext = {
      client,
      contract: options.contract ?? PppContract.load(),
      callbacks,
      paymentMethod: options.paymentMethod ?? '',
      merchantName: options.merchantName ?? 'homologation',
      posTimeoutMs: options.posTimeoutMs ?? 120_000,
      now,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    };
    if (options.serial !== undefined) ctx.serial = options.serial;
    const results: CaseResult[] = [await runCase(manifestCase, ctx)];
    if (ctx.paymentMethod === '') ctx.paymentMethod = firstMethod(results[0]!.exchanges) ?? 'Venda Direta Credito';
    for (const c of SUITE_CASES.filter((x) => x !== manifestCase)) results.push(await runCase(c, ctx));
    for (const c of posCases(options.serial)) results.push(await runCase(c, ctx));
    return buildReport(client.baseUrl, startedAt, results);
  } finally {
    await callbacks.close();
  }
}

/** The first payment method of the manifest answer, if any. */
function firstMethod(exchanges: Exchange[]): string | undefined {
  const body = exchanges[0]?.responseBody as { paymentMethods?: { name?: unknown }[] } | undefined;
  const name = Array.isArray(body?.paymentMethods) ? body.paymentMethods[0]?.name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
