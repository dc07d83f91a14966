/**
 * Payment search: `GET /admin/v1/payments` by order id, payment id, TID, NSU, authorization id,
 * terminal, status and creation time range, newest first, 20 a page with the API's cursor
 * (docs/admin-api.md "Search parameters"). The filters live in the hash, so a search can be
 * linked and the browser's back button returns to it.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { STATUSES, api, query, type PaymentFilters, type Principal } from '../api.ts';
import { useI18n, type MessageKey } from '../i18n/index.ts';
import { ErrorNote, StatusBadge, useLoad } from '../ui.tsx';

const TEXT_FIELDS: { name: keyof PaymentFilters; key: MessageKey }[] = [
  { name: 'orderId', key: 'fieldOrderId' },
  { name: 'paymentId', key: 'fieldPaymentId' },
  { name: 'tid', key: 'fieldTid' },
  { name: 'nsu', key: 'fieldNsu' },
  { name: 'authorizationId', key: 'fieldAuthorizationId' },
  { name: 'serialNumber', key: 'fieldTerminal' },
];
const FILTER_NAMES = [...TEXT_FIELDS.map((f) => f.name), 'status', 'from', 'to'] as const;

/** `YYYY-MM-DDTHH:mm` of a `datetime-local` input for an ISO time (the browser's zone). */
function localInput(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** The ISO time (UTC) of a `datetime-local` value; empty stays empty. */
function isoOf(local: string): string {
  if (local === '') return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

/** The search screen. */
export function Payments({ params }: { params: URLSearchParams; principal: Principal }): ReactNode {
  const i18n = useI18n();
  const filters: PaymentFilters = {};
  for (const name of FILTER_NAMES) {
    const v = params.get(name);
    if (v !== null && v !== '') filters[name] = v;
  }
  const [form, setForm] = useState<PaymentFilters>(() => ({ ...filters, from: localInput(filters.from), to: localInput(filters.to) }));
  // Cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([]);
  const key = JSON.stringify(filters);
  const [pageOf, setPageOf] = useState(key);
  if (pageOf !== key) {
    setPageOf(key);
    setCursors([]);
  }
  const cursor = cursors.at(-1);
  const page = useLoad(() => api.payments(filters, cursor), [key, cursor]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next: Record<string, string | undefined> = { ...form, from: isoOf(form.from ?? ''), to: isoOf(form.to ?? '') };
    for (const k of Object.keys(next)) next[k] = next[k]?.trim();
    location.hash = `#/payments${query(next)}`;
  };
  const set = (name: keyof PaymentFilters) => (value: string) => setForm((f) => ({ ...f, [name]: value }));

  return (
    <>
      <h1>{i18n.t('searchTitle')}</h1>
      <form className="search" onSubmit={submit} aria-labelledby="search-legend">
        <p id="search-legend" className="visually-hidden">
          {i18n.t('searchTitle')}
        </p>
        <div className="grid">
          {TEXT_FIELDS.map((f) => (
            <div className="field" key={f.name}>
              <label htmlFor={`f-${f.name}`}>{i18n.t(f.key)}</label>
              <input id={`f-${f.name}`} maxLength={128} value={form[f.name] ?? ''} onChange={(e) => set(f.name)(e.target.value)} />
            </div>
          ))}
          <div className="field">
            <label htmlFor="f-status">{i18n.t('fieldStatus')}</label>
            <select id="f-status" value={form.status ?? ''} onChange={(e) => set('status')(e.target.value)}>
              <option value="">{i18n.t('anyStatus')}</option>
              {STATUSES.map((s) => (
                <option key={s} value={s}>
                  {i18n.status(s)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-from">{i18n.t('fieldFrom')}</label>
            <input id="f-from" type="datetime-local" value={form.from ?? ''} onChange={(e) => set('from')(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="f-to">{i18n.t('fieldTo')}</label>
            <input id="f-to" type="datetime-local" value={form.to ?? ''} onChange={(e) => set('to')(e.target.value)} />
          </div>
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            {i18n.t('search')}
          </button>
          <button
            type="button"
            onClick={() => {
              setForm({});
              location.hash = '#/payments';
            }}
          >
            {i18n.t('clear')}
          </button>
        </div>
      </form>

      <section aria-labelledby="results-title">
        <h2 id="results-title">{i18n.t('results')}</h2>
        <ErrorNote error={page.error} />
        {page.loading && page.data === null ? <p>{i18n.t('loading')}</p> : null}
        {page.data !== null && page.data.payments.length === 0 ? <p>{i18n.t('noResults')}</p> : null}
        {page.data !== null && page.data.payments.length > 0 ? (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{i18n.t('colCreated')}</th>
                  <th scope="col">{i18n.t('colOrder')}</th>
                  <th scope="col">{i18n.t('colPayment')}</th>
                  <th scope="col" className="num">
                    {i18n.t('colAmount')}
                  </th>
                  <th scope="col">{i18n.t('colStatus')}</th>
                  <th scope="col">{i18n.t('colTerminal')}</th>
                  <th scope="col">{i18n.t('colMerchant')}</th>
                </tr>
              </thead>
              <tbody>
                {page.data.payments.map((p) => (
                  <tr key={p.paymentId}>
                    <td>{i18n.time(p.createdAt)}</td>
                    <td>{p.orderId}</td>
                    <td>
                      <a href={`#/payments/${encodeURIComponent(p.paymentId)}`}>{p.paymentId}</a>
                    </td>
                    <td className="num">{i18n.money(p.amount.amountMinor, p.amount.currency)}</td>
                    <td>
                      <StatusBadge status={p.status} />
                    </td>
                    <td>{p.serialNumber ?? i18n.t('none')}</td>
                    <td>{p.merchantName}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        <nav className="pager" aria-label={i18n.t('pageN', { n: cursors.length + 1 })}>
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
            {i18n.t('previousPage')}
          </button>
          <span>{i18n.t('pageN', { n: cursors.length + 1 })}</span>
          <button
            type="button"
            disabled={!page.data?.next}
            onClick={() => {
              const next = page.data?.next;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            {i18n.t('nextPage')}
          </button>
        </nav>
      </section>
    </>
  );
}
