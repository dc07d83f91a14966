/**
 * Dev helper for the demo host page (Node; not app code): plays the VTEX payment gateway next to a
 * running `npm run stack`, so the browser never holds PPP credentials. A vite plugin adds, on the
 * dev and preview servers:
 *
 * - `GET  /__host/config` → `{ pppBaseUrl, terminals }` (the host page shows "create a payment" when this answers)
 * - `POST /__host/payments {amount, method, currency?}` → creates a payment (`POST {ppp}/payments`)
 *   and answers `{ paymentId, answer }` — `answer.paymentAppData` opens the terminal connector
 * - `POST /__host/payments/:paymentId/poll` → the gateway's repeat of Create Payment (same body),
 *   answer as `{ answer, callback }` (wait-for-confirmation app data, then the final status)
 * - `POST /__host/callback/:paymentId` → the gateway's callbackUrl: records the notification, 200
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'vite';

/** Where the stack is, as printed on its ready line. */
export interface HostHelperOptions {
  readonly pppBaseUrl: string;
  readonly appKey: string;
  readonly appToken: string;
  readonly terminals?: readonly { readonly serialNumber: string }[];
}

interface Created {
  readonly body: Record<string, unknown>;
  callback: unknown;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/** The helper's request handler, exported for tests and non-vite servers. */
export function hostHelperMiddleware(options: HostHelperOptions): Middleware {
  const created = new Map<string, Created>();
  const headers = {
    'content-type': 'application/json',
    'x-vtex-api-appkey': options.appKey,
    'x-vtex-api-apptoken': options.appToken,
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.setHeader('cache-control', 'no-store');
    res.end(JSON.stringify(body));
  };
  const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  const createPayment = async (body: Record<string, unknown>) => {
    const res = await fetch(`${options.pppBaseUrl}/payments`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, answer: (await res.json()) as Record<string, unknown> };
  };

  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://helper');
    const path = url.pathname.replace(/^.*?\/__host\//, '/__host/');
    if (!path.startsWith('/__host/')) {
      next();
      return;
    }
    void (async () => {
      try {
        if (req.method === 'GET' && path === '/__host/config') {
          send(res, 200, { pppBaseUrl: options.pppBaseUrl, terminals: options.terminals ?? [] });
          return;
        }
        if (req.method === 'POST' && path === '/__host/payments') {
          const input = await readJson(req);
          const amount = Number(input['amount'] ?? 10.5);
          const method = input['method'] === 'debit' ? 'debit' : 'credit';
          const currency = typeof input['currency'] === 'string' ? input['currency'] : 'BRL';
          const paymentId = randomBytes(16).toString('hex').toUpperCase();
          const transactionId = randomBytes(16).toString('hex').toUpperCase();
          const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
          const body: Record<string, unknown> = {
            reference: paymentId.slice(0, 8),
            orderId: paymentId.slice(0, 12),
            shopperInteraction: 'instore',
            transactionId,
            paymentId,
            paymentMethod: method === 'debit' ? 'Venda Direta Debito' : 'Venda Direta Credito',
            paymentMethodCustomCode: null,
            merchantName: 'mystore',
            card: { holder: null, number: null, csc: null, expiration: { month: null, year: null }, document: null, token: null },
            value: amount,
            currency,
            installments: 1,
            deviceFingerprint: null,
            miniCart: { shippingValue: 0, taxValue: 0, items: [] },
            url: origin,
            callbackUrl: `${origin}/__host/callback/${paymentId}?accountName=mystore&X-VTEX-signature=${randomBytes(8).toString('hex')}`,
            returnUrl: null,
          };
          const { status, answer } = await createPayment(body);
          if (status === 200) created.set(paymentId, { body, callback: null });
          send(res, status, { paymentId, answer });
          return;
        }
        const poll = /^\/__host\/payments\/([A-Za-z0-9]+)\/poll$/.exec(path);
        if (req.method === 'POST' && poll?.[1] !== undefined) {
          const entry = created.get(poll[1]);
          if (entry === undefined) {
            send(res, 404, { code: 'HOST_UNKNOWN_PAYMENT', message: 'no such payment in this helper', retryable: false });
            return;
          }
          const { status, answer } = await createPayment(entry.body);
          send(res, status, { answer, callback: entry.callback });
          return;
        }
        const callback = /^\/__host\/callback\/([A-Za-z0-9]+)$/.exec(path);
        if (req.method === 'POST' && callback?.[1] !== undefined) {
          const body = await readJson(req);
          const entry = created.get(callback[1]);
          if (entry !== undefined) entry.callback = body;
          send(res, 200, {});
          return;
        }
        send(res, 404, { code: 'HOST_NOT_FOUND', message: `no helper route ${req.method} ${path}`, retryable: false });
      } catch (err) {
        send(res, 502, { code: 'HOST_STACK_UNREACHABLE', message: err instanceof Error ? err.message : String(err), retryable: true });
      }
    })();
  };
}

/** The vite plugin: the helper on `vite` (dev) and `vite preview`. */
export function hostHelper(options: HostHelperOptions): Plugin {
  const middleware = hostHelperMiddleware(options);
  return {
    name: 'posbridge-host-helper',
    configureServer(server) {
      server.middlewares.use(middleware);
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware);
    },
  };
}

/** Helper options from `POSBRIDGE_PPP_URL`, `POSBRIDGE_APP_KEY`, `POSBRIDGE_APP_TOKEN`; null if unset. */
export function hostHelperOptionsFromEnv(env: NodeJS.ProcessEnv): HostHelperOptions | null {
  const pppBaseUrl = env['POSBRIDGE_PPP_URL'];
  const appKey = env['POSBRIDGE_APP_KEY'];
  const appToken = env['POSBRIDGE_APP_TOKEN'];
  if (!pppBaseUrl || !appKey || !appToken) return null;
  return { pppBaseUrl: pppBaseUrl.replace(/\/$/, ''), appKey, appToken };
}
