/**
 * `index.html`: a page that plays VTEX inStore (the host) so anyone can try the Payment App
 * against `npm run stack`. It embeds `app.html` in an iframe through the postMessage contract
 * (./messages.ts), exactly as a web host would.
 *
 * - With the dev helper (dev/host-helper.ts, present under `npm run app:dev`): "Create payment"
 *   plays the gateway — creates a payment, opens the terminal connector with its payload, polls
 *   the gateway again when it closes, opens the wait-for-confirmation app, and shows the final
 *   status and the callback the gateway received.
 * - Anywhere (e.g. served by the posbridge server under /pos/app/): paste a payload string and
 *   open either app; the result is logged.
 */
import { useCallback, useEffect, useRef, useState, type CSSProperties } from 'react';
import { createRoot } from 'react-dom/client';
import { TERMINAL_CONNECTOR_APP, WAIT_FOR_CONFIRMATION_APP } from '../src/host/contract.ts';
import { isAppMessage, type HostOpenMessage } from './messages.ts';

interface HelperConfig {
  pppBaseUrl: string;
  terminals: { serialNumber: string }[];
}
interface PppAnswer {
  status?: string;
  paymentAppData?: { appName: string; payload: string };
  cardBrand?: string | null;
  lastDigits?: string | null;
  message?: string | null;
}
interface Opened {
  appName: string;
  payload: string;
  key: number;
}
interface LogEntry {
  at: string;
  text: string;
}

const LOCALES = [
  { tag: 'pt-BR', label: 'Português (Brasil)' },
  { tag: 'es', label: 'Español' },
  { tag: 'en', label: 'English' },
];

function initialLocale(): string {
  const fromQuery = new URLSearchParams(location.search).get('locale');
  if (fromQuery) return fromQuery;
  const nav = navigator.language.toLowerCase();
  return nav.startsWith('pt') ? 'pt-BR' : nav.startsWith('es') ? 'es' : 'en';
}

async function helperCall<T>(path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(new URL(`__host/${path}`, location.href), {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as T };
}

function HostPage() {
  const [config, setConfig] = useState<HelperConfig | null | 'loading'>('loading');
  const [locale, setLocale] = useState(initialLocale);
  const [amount, setAmount] = useState('10.50');
  const [method, setMethod] = useState<'credit' | 'debit'>('credit');
  const [pasteApp, setPasteApp] = useState(TERMINAL_CONNECTOR_APP);
  const [pasted, setPasted] = useState('');
  const [opened, setOpened] = useState<Opened | null>(null);
  const [paymentId, setPaymentId] = useState<string | null>(null);
  const [final, setFinal] = useState<string | null>(null);
  const [log, setLog] = useState<LogEntry[]>([]);
  const frame = useRef<HTMLIFrameElement>(null);
  const openedRef = useRef<Opened | null>(null);
  openedRef.current = opened;
  const paymentRef = useRef<string | null>(null);
  paymentRef.current = paymentId;

  const note = useCallback((text: string) => setLog((l) => [...l, { at: new Date().toLocaleTimeString(), text }]), []);
  const open = useCallback((appName: string, payload: string) => setOpened((o) => ({ appName, payload, key: (o?.key ?? 0) + 1 })), []);

  useEffect(() => {
    helperCall<HelperConfig>('config').then(
      (r) => setConfig(r.status === 200 ? r.json : null),
      () => setConfig(null),
    );
  }, []);

  const pollGateway = useCallback(
    async (id: string) => {
      const r = await helperCall<{ answer: PppAnswer; callback: PppAnswer | null }>(`payments/${id}/poll`, {});
      const a = r.json.answer;
      note(`gateway → POST /payments (same paymentId): status "${a.status}"${a.paymentAppData ? `, app ${a.paymentAppData.appName}` : ''}`);
      return r.json;
    },
    [note],
  );

  const onAppClosed = useCallback(
    async (appName: string, result: { outcome: string }) => {
      note(`${appName} closed: ${JSON.stringify(result)}`);
      setOpened(null);
      const id = paymentRef.current;
      if (id === null) return;
      if (appName === TERMINAL_CONNECTOR_APP && result.outcome === 'submitted') {
        const { answer } = await pollGateway(id);
        if (answer.paymentAppData) open(answer.paymentAppData.appName, answer.paymentAppData.payload);
        else setFinal(`${answer.status ?? '?'}`);
      } else if (appName === WAIT_FOR_CONFIRMATION_APP) {
        const { answer, callback } = await pollGateway(id);
        const card = answer.cardBrand && answer.lastDigits ? ` — ${answer.cardBrand} •••• ${answer.lastDigits}` : '';
        setFinal(`${answer.status ?? '?'}${card}`);
        if (callback) note(`callback received by the gateway: ${JSON.stringify(callback)}`);
      } else {
        setFinal(`closed: ${result.outcome}`);
      }
    },
    [note, open, pollGateway],
  );

  useEffect(() => {
    const onMessage = (event: MessageEvent) => {
      if (event.source !== frame.current?.contentWindow || !isAppMessage(event.data)) return;
      const current = openedRef.current;
      if (event.data.type === 'ready' && current !== null) {
        const message: HostOpenMessage = { source: 'posbridge-host', type: 'open', appName: current.appName, payload: current.payload, locale };
        frame.current?.contentWindow?.postMessage(message, location.origin);
      } else if (event.data.type === 'close') {
        void onAppClosed(event.data.appName, event.data.result);
      }
    };
    window.addEventListener('message', onMessage);
    return () => window.removeEventListener('message', onMessage);
  }, [locale, onAppClosed]);

  const createPayment = async () => {
    setFinal(null);
    setLog([]);
    const r = await helperCall<{ paymentId: string; answer: PppAnswer & { message?: string } }>('payments', { amount: Number(amount.replace(',', '.')), method });
    if (r.status !== 200 || !r.json.answer.paymentAppData) {
      note(`create payment failed (${r.status}): ${JSON.stringify(r.json)}`);
      return;
    }
    setPaymentId(r.json.paymentId);
    note(`gateway → POST /payments ${r.json.paymentId}: status "${r.json.answer.status}", app ${r.json.answer.paymentAppData.appName}`);
    note(`payload: ${r.json.answer.paymentAppData.payload}`);
    open(r.json.answer.paymentAppData.appName, r.json.answer.paymentAppData.payload);
  };

  const openPasted = () => {
    setPaymentId(null);
    setFinal(null);
    note(`opening ${pasteApp} with the pasted payload`);
    open(pasteApp, pasted.trim());
  };

  return (
    <div style={css.page}>
      <section style={css.panel} aria-label="Demo host controls">
        <h1 style={css.h1}>posbridge Payment App — demo host</h1>
        <p style={css.p}>This page plays VTEX inStore: it opens the Payment Apps the posbridge connector asks for and reports how they closed.</p>
        <fieldset style={css.fieldset}>
          <legend style={css.legend}>Host locale</legend>
          {LOCALES.map((l) => (
            <label key={l.tag} style={css.radio}>
              <input type="radio" name="locale" value={l.tag} checked={locale === l.tag} onChange={() => setLocale(l.tag)} aria-label={l.label} />
              {l.label}
            </label>
          ))}
        </fieldset>
        {config === 'loading' && <p style={css.p}>Looking for the dev helper…</p>}
        {config !== 'loading' && config !== null && (
          <fieldset style={css.fieldset} data-testid="host-create-form">
            <legend style={css.legend}>Create a test payment on {config.pppBaseUrl}</legend>
            <label style={css.label}>
              Amount (BRL)
              <input style={css.input} value={amount} onChange={(e) => setAmount(e.target.value)} aria-label="Amount in BRL" data-testid="host-amount" />
            </label>
            <label style={css.label}>
              Method
              <select style={css.input} value={method} onChange={(e) => setMethod(e.target.value as 'credit' | 'debit')} aria-label="Payment method">
                <option value="credit">Venda Direta Credito</option>
                <option value="debit">Venda Direta Debito</option>
              </select>
            </label>
            <button style={css.button} onClick={() => void createPayment()} aria-label="Create a payment and open the terminal connector" data-testid="host-create">
              Create payment
            </button>
            {config.terminals.length > 0 && <p style={css.small}>Terminals in the stack: {config.terminals.map((t) => t.serialNumber).join(', ')} (amount ending in ,05 is declined by the simulator).</p>}
          </fieldset>
        )}
        {config === null && (
          <p style={css.small} data-testid="host-no-helper">
            No dev helper here (it runs under <code>npm run app:dev</code>). Paste a payload from a Create Payment answer below.
          </p>
        )}
        <fieldset style={css.fieldset}>
          <legend style={css.legend}>Or open a payload</legend>
          <label style={css.label}>
            App
            <select style={css.input} value={pasteApp} onChange={(e) => setPasteApp(e.target.value)} aria-label="Payment App to open">
              <option value={TERMINAL_CONNECTOR_APP}>{TERMINAL_CONNECTOR_APP}</option>
              <option value={WAIT_FOR_CONFIRMATION_APP}>{WAIT_FOR_CONFIRMATION_APP}</option>
            </select>
          </label>
          <label style={css.label}>
            paymentAppData.payload
            <textarea style={{ ...css.input, minHeight: 70 }} value={pasted} onChange={(e) => setPasted(e.target.value)} aria-label="Payload string" placeholder='{"submitUrl":"http://127.0.0.1:8080/pos/v1/submit/…"}' />
          </label>
          <button style={css.button} onClick={openPasted} disabled={pasted.trim() === ''} aria-label="Open the Payment App with this payload">
            Open
          </button>
        </fieldset>
        {final !== null && (
          <p style={css.final} data-testid="host-final" role="status">
            Gateway final status: <strong>{final}</strong>
          </p>
        )}
        <h2 style={css.h2}>Host log</h2>
        <ol style={css.log} data-testid="host-log">
          {log.map((e, i) => (
            <li key={i}>
              <span style={css.time}>{e.at}</span> {e.text}
            </li>
          ))}
        </ol>
      </section>
      <section style={css.device} aria-label="Payment App">
        {opened === null ? (
          <p style={css.placeholder}>The Payment App opens here.</p>
        ) : (
          <iframe key={opened.key} ref={frame} src="app.html" allow="camera" title="posbridge Payment App" style={css.frame} data-testid="payment-app-frame" />
        )}
      </section>
    </div>
  );
}

const css = {
  page: { display: 'flex', flexWrap: 'wrap', gap: 24, padding: 24, alignItems: 'flex-start' },
  panel: { flex: '1 1 420px', maxWidth: 560, background: '#fff', borderRadius: 12, padding: 20, boxShadow: '0 1px 4px rgba(0,0,0,.15)' },
  h1: { fontSize: 24, margin: '0 0 8px' },
  h2: { fontSize: 18, margin: '16px 0 4px' },
  p: { fontSize: 16, lineHeight: 1.4 },
  small: { fontSize: 14, lineHeight: 1.4, color: '#333' },
  fieldset: { border: '1px solid #999', borderRadius: 8, margin: '12px 0', padding: 12, display: 'flex', flexDirection: 'column', gap: 8 },
  legend: { fontWeight: 700, padding: '0 4px' },
  label: { display: 'flex', flexDirection: 'column', gap: 4, fontSize: 15, fontWeight: 600 },
  radio: { fontSize: 15, display: 'flex', gap: 8, alignItems: 'center' },
  input: { fontSize: 16, padding: 8, border: '1px solid #333', borderRadius: 6 },
  button: { fontSize: 16, fontWeight: 700, padding: '10px 16px', background: '#0B3D91', color: '#fff', border: 0, borderRadius: 8, cursor: 'pointer' },
  final: { fontSize: 18, background: '#E6F4EA', padding: 12, borderRadius: 8 },
  log: { fontSize: 13, lineHeight: 1.4, paddingLeft: 20, wordBreak: 'break-all', fontFamily: 'ui-monospace, monospace' },
  time: { color: '#555' },
  device: { flex: '0 0 auto', width: 720, height: 1000, background: '#fff', border: '12px solid #222', borderRadius: 28, overflow: 'hidden' },
  frame: { width: '100%', height: '100%', border: 0 },
  placeholder: { fontSize: 22, color: '#333', textAlign: 'center', marginTop: 200 },
} satisfies Record<string, CSSProperties>;

const container = document.getElementById('host');
if (container !== null) createRoot(container).render(<HostPage />);
