/**
 * The operator's reading of an unknown outcome: approved or denied, the reason (required), and
 * for approved optionally the authorization id from the receipt →
 * `POST /admin/v1/payments/:id/resolve` (docs/admin-api.md "Resolve"). Shown to operators and
 * admins only; the server refuses viewers anyway (403).
 */
import { useId, useState, type FormEvent, type ReactNode } from 'react';
import { api, type Payment } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, ReasonField } from '../ui.tsx';

/** Resolve form of one payment; `onResolved` gets the payment after. */
export function ResolveForm({ payment, onResolved, onCancel }: { payment: Payment; onResolved(p: Payment): void; onCancel(): void }): ReactNode {
  const i18n = useI18n();
  const id = useId();
  const [outcome, setOutcome] = useState<'approved' | 'denied' | ''>('');
  const [reason, setReason] = useState('');
  const [authorizationId, setAuthorizationId] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (outcome === '') return;
    setBusy(true);
    api.resolve(payment.paymentId, outcome, reason.trim(), outcome === 'approved' ? authorizationId.trim() : undefined).then(
      (answer) => {
        setBusy(false);
        onResolved(answer.payment);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <form className="action-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{i18n.t('resolveTitle', { id: payment.paymentId })}</h3>
      <fieldset>
        <legend>{i18n.t('outcome')}</legend>
        {(['approved', 'denied'] as const).map((o) => (
          <label key={o} className="choice">
            <input type="radio" name={`${id}-outcome`} value={o} required checked={outcome === o} onChange={() => setOutcome(o)} />
            {i18n.t(o === 'approved' ? 'outcomeApproved' : 'outcomeDenied')}
          </label>
        ))}
      </fieldset>
      {outcome === 'approved' ? (
        <div className="field">
          <label htmlFor={`${id}-auth`}>{i18n.t('authorizationIdOptional')}</label>
          <input id={`${id}-auth`} maxLength={64} pattern="[A-Za-z0-9._/\-]+" value={authorizationId} onChange={(e) => setAuthorizationId(e.target.value)} />
        </div>
      ) : null}
      <ReasonField id={`${id}-reason`} value={reason} onChange={setReason} />
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || outcome === '' || reason.trim() === ''}>
          {i18n.t('confirm')}
        </button>
        <button type="button" onClick={onCancel}>
          {i18n.t('cancel')}
        </button>
      </div>
    </form>
  );
}
