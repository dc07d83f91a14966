/**
 * One payment: its summary, its timeline (server, agent and terminal entries, oldest first),
 * its callbacks with *Redeliver* and its agent commands (docs/admin-api.md "Payments"); *Resolve*
 * when its outcome is unknown. The actions are shown to operators and admins only.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, canOperate, type Callback, type Principal, type TimelineEntry } from '../api.ts';
import { useI18n, type MessageKey } from '../i18n/index.ts';
import { ErrorNote, ReasonField, StatusBadge, useLoad } from '../ui.tsx';
import { ResolveForm } from './resolve-form.tsx';

const COMPONENT_KEYS: Record<TimelineEntry['component'], MessageKey> = { server: 'componentServer', agent: 'componentAgent', terminal: 'componentTerminal' };
const CALLBACK_KEYS: Record<Callback['status'], MessageKey> = { pending: 'callbackPending', delivered: 'callbackDelivered', failed: 'callbackFailed' };

/** The details of a timeline entry beyond `at`, `component` and `event`, as short text. */
function detailsOf(entry: TimelineEntry): string {
  const { at: _at, component: _c, event: _e, ...rest } = entry;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(rest)) {
    if (v === null || v === undefined) continue;
    parts.push(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(' · ');
}

function RedeliverForm({ paymentId, callback, onDone, onCancel }: { paymentId: string; callback: Callback; onDone(): void; onCancel(): void }): ReactNode {
  const i18n = useI18n();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    api.redeliver(paymentId, callback.callbackId, reason.trim()).then(
      () => {
        setBusy(false);
        onDone();
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  const id = `redeliver-${callback.callbackId}`;
  return (
    <form className="action-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{i18n.t('redeliverTitle', { id: callback.callbackId })}</h3>
      <ReasonField id={`${id}-reason`} value={reason} onChange={setReason} />
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || reason.trim() === ''}>
          {i18n.t('confirm')}
        </button>
        <button type="button" onClick={onCancel}>
          {i18n.t('cancel')}
        </button>
      </div>
    </form>
  );
}

/** The payment screen. */
export function PaymentDetail({ id, principal }: { id: string; principal: Principal }): ReactNode {
  const i18n = useI18n();
  const detail = useLoad(() => api.payment(id), [id]);
  const callbacks = useLoad(() => api.callbacks(id), [id]);
  const commands = useLoad(() => api.commands(id), [id]);
  const [redelivering, setRedelivering] = useState<number | null>(null);
  const [resolving, setResolving] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const operator = canOperate(principal.role);
  const p = detail.data?.payment;
  const reloadAll = () => {
    detail.reload();
    callbacks.reload();
    commands.reload();
  };

  return (
    <>
      <p>
        <a href="#/payments">{i18n.t('backToSearch')}</a>
      </p>
      <h1>{i18n.t('detailTitle', { id })}</h1>
      <ErrorNote error={detail.error} />
      <p role="status" className="notice">
        {notice}
      </p>
      {p === undefined ? (
        detail.loading ? <p>{i18n.t('loading')}</p> : null
      ) : (
        <section aria-labelledby="summary-title">
          <h2 id="summary-title">{i18n.t('summary')}</h2>
          <dl className="summary">
            <dt>{i18n.t('colStatus')}</dt>
            <dd>
              <StatusBadge status={p.status} />
            </dd>
            <dt>{i18n.t('colAmount')}</dt>
            <dd>{i18n.money(p.amount.amountMinor, p.amount.currency)}</dd>
            <dt>{i18n.t('colOrder')}</dt>
            <dd>{p.orderId}</dd>
            <dt>{i18n.t('fieldTid')}</dt>
            <dd>{p.tid}</dd>
            <dt>{i18n.t('method')}</dt>
            <dd>
              {i18n.t(p.method === 'credit' ? 'methodCredit' : 'methodDebit')} · {i18n.t('installments')}: {p.installments}
            </dd>
            <dt>{i18n.t('colTerminal')}</dt>
            <dd>{p.serialNumber ?? i18n.t('none')}</dd>
            <dt>{i18n.t('colMerchant')}</dt>
            <dd>{p.merchantName}</dd>
            <dt>{i18n.t('colCreated')}</dt>
            <dd>{i18n.time(p.createdAt)}</dd>
            <dt>{i18n.t('authorization')}</dt>
            <dd>
              {p.outcome?.authorizationId ?? i18n.t('none')} · {i18n.t('fieldNsu')}: {p.outcome?.nsu ?? i18n.t('none')} · {i18n.t('responseCode')}:{' '}
              {p.outcome?.responseCode ?? i18n.t('none')}
            </dd>
            <dt>{i18n.t('card')}</dt>
            <dd>{p.outcome?.card ? `${p.outcome.card.brand} •••• ${p.outcome.card.lastDigits}` : i18n.t('none')}</dd>
          </dl>
          {operator && (p.status === 'unknown' || p.status === 'reversal_unknown') ? (
            resolving ? (
              <ResolveForm
                payment={p}
                onCancel={() => setResolving(false)}
                onResolved={(after) => {
                  setResolving(false);
                  setNotice(i18n.t('resolved', { id: after.paymentId, status: i18n.status(after.status) }));
                  reloadAll();
                }}
              />
            ) : (
              <button type="button" className="primary" onClick={() => setResolving(true)}>
                {i18n.t('resolve')}
              </button>
            )
          ) : null}
        </section>
      )}

      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">{i18n.t('timeline')}</h2>
        {detail.data !== null && detail.data.timeline.length === 0 ? <p>{i18n.t('timelineEmpty')}</p> : null}
        <ol className="timeline">
          {detail.data?.timeline.map((entry, n) => (
            <li key={n} className={`tl-${entry.component}`}>
              <time dateTime={entry.at}>{i18n.time(entry.at)}</time>
              <span className="component">{i18n.t(COMPONENT_KEYS[entry.component])}</span>
              <code className="event">{entry.event}</code>
              <span className="details">{detailsOf(entry)}</span>
            </li>
          ))}
        </ol>
      </section>

      <section aria-labelledby="callbacks-title">
        <h2 id="callbacks-title">{i18n.t('callbacks')}</h2>
        <ErrorNote error={callbacks.error} />
        {callbacks.data !== null && callbacks.data.callbacks.length === 0 ? <p>{i18n.t('callbacksEmpty')}</p> : null}
        {callbacks.data !== null && callbacks.data.callbacks.length > 0 ? (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{i18n.t('colCallbackStatus')}</th>
                  <th scope="col" className="num">
                    {i18n.t('colAttempts')}
                  </th>
                  <th scope="col">{i18n.t('colLastHttp')}</th>
                  <th scope="col">{i18n.t('colLastError')}</th>
                  <th scope="col">{i18n.t('colNextAttempt')}</th>
                  {operator ? <th scope="col">{i18n.t('colActions')}</th> : null}
                </tr>
              </thead>
              <tbody>
                {callbacks.data.callbacks.map((c) => (
                  <tr key={c.callbackId}>
                    <td>{c.callbackId}</td>
                    <td>
                      <span className={`badge cb-${c.status}`}>{i18n.t(CALLBACK_KEYS[c.status])}</span>
                      {c.inFlight ? ` (${i18n.t('inFlight')})` : ''}
                    </td>
                    <td className="num">{c.attempts}</td>
                    <td>{c.lastHttpStatus ?? i18n.t('none')}</td>
                    <td>{c.lastError ?? i18n.t('none')}</td>
                    <td>{i18n.time(c.nextAttemptAt)}</td>
                    {operator ? (
                      <td>
                        <button type="button" onClick={() => setRedelivering(c.callbackId)} aria-label={`${i18n.t('redeliver')} #${c.callbackId}`}>
                          {i18n.t('redeliver')}
                        </button>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {operator && redelivering !== null && callbacks.data
          ? callbacks.data.callbacks
              .filter((c) => c.callbackId === redelivering)
              .map((c) => (
                <RedeliverForm
                  key={c.callbackId}
                  paymentId={id}
                  callback={c}
                  onCancel={() => setRedelivering(null)}
                  onDone={() => {
                    setRedelivering(null);
                    setNotice(i18n.t('redelivered', { id: c.callbackId }));
                    reloadAll();
                  }}
                />
              ))
          : null}
      </section>

      <section aria-labelledby="commands-title">
        <h2 id="commands-title">{i18n.t('commands')}</h2>
        <ErrorNote error={commands.error} />
        {commands.data !== null && commands.data.commands.length === 0 ? <p>{i18n.t('commandsEmpty')}</p> : null}
        {commands.data !== null && commands.data.commands.length > 0 ? (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{i18n.t('colKind')}</th>
                  <th scope="col">{i18n.t('colCommandStatus')}</th>
                  <th scope="col">{i18n.t('colTerminal')}</th>
                  <th scope="col" className="num">
                    {i18n.t('colAttempts')}
                  </th>
                  <th scope="col">{i18n.t('colSent')}</th>
                  <th scope="col">{i18n.t('colAcked')}</th>
                  <th scope="col">{i18n.t('colClosed')}</th>
                </tr>
              </thead>
              <tbody>
                {commands.data.commands.map((c) => (
                  <tr key={c.commandId}>
                    <td>
                      {c.kind}
                      {c.messageType ? ` (${c.messageType})` : ''}
                    </td>
                    <td>{c.status}</td>
                    <td>{c.serialNumber}</td>
                    <td className="num">{c.attempts}</td>
                    <td>{i18n.time(c.lastSentAt)}</td>
                    <td>{i18n.time(c.ackedAt)}</td>
                    <td>
                      {i18n.time(c.closedAt)}
                      {c.closeReason ? ` · ${c.closeReason}` : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
    </>
  );
}
