/**
 * The unknown-outcome queue (`GET /admin/v1/unknown`, newest first, 50 a page): payments whose terminal
 * answer was lost, each with *Resolve* for operators and admins (docs/admin-api.md "Resolve").
 */
import { useState, type ReactNode } from 'react';
import { api, canOperate, type Principal } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, StatusBadge, useLoad } from '../ui.tsx';
import { ResolveForm } from './resolve-form.tsx';

/** The queue screen. */
export function Unknown({ principal }: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  // Cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const queue = useLoad(() => api.unknown(cursor), [cursor]);
  const [resolving, setResolving] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const operator = canOperate(principal.role);
  return (
    <>
      <h1>{i18n.t('unknownTitle')}</h1>
      <p>{i18n.t('unknownHelp')}</p>
      <p role="status" className="notice">
        {notice}
      </p>
      <ErrorNote error={queue.error} />
      {queue.loading && queue.data === null ? <p>{i18n.t('loading')}</p> : null}
      {queue.data !== null && queue.data.payments.length === 0 ? <p>{i18n.t('unknownEmpty')}</p> : null}
      <ul className="cards">
        {queue.data?.payments.map((p) => (
          <li key={p.paymentId} className="card">
            <p className="card-title">
              <a href={`#/payments/${encodeURIComponent(p.paymentId)}`}>{p.paymentId}</a> <StatusBadge status={p.status} />
            </p>
            <p>
              {i18n.t('colOrder')}: {p.orderId} · {i18n.money(p.amount.amountMinor, p.amount.currency)} · {i18n.t('colTerminal')}: {p.serialNumber ?? i18n.t('none')} ·{' '}
              {i18n.time(p.createdAt)}
            </p>
            {operator ? (
              resolving === p.paymentId ? (
                <ResolveForm
                  payment={p}
                  onCancel={() => setResolving(null)}
                  onResolved={(after) => {
                    setResolving(null);
                    setNotice(i18n.t('resolved', { id: after.paymentId, status: i18n.status(after.status) }));
                    queue.reload();
                  }}
                />
              ) : (
                <button type="button" className="primary" onClick={() => setResolving(p.paymentId)} aria-label={`${i18n.t('resolve')} ${p.paymentId}`}>
                  {i18n.t('resolve')}
                </button>
              )
            ) : null}
          </li>
        ))}
      </ul>
      {cursors.length > 0 || queue.data?.next ? (
        <nav className="pager" aria-label={i18n.t('pageN', { n: cursors.length + 1 })}>
          <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
            {i18n.t('previousPage')}
          </button>
          <span>{i18n.t('pageN', { n: cursors.length + 1 })}</span>
          <button
            type="button"
            disabled={!queue.data?.next}
            onClick={() => {
              const next = queue.data?.next;
              if (next) setCursors((c) => [...c, next]);
            }}
          >
            {i18n.t('nextPage')}
          </button>
        </nav>
      ) : null}
    </>
  );
}
