/**
 * Pairing an agent (admin): choose a store (`GET /admin/v1/stores`, within the caller's merchant
 * scope) and optionally the agent's name, then `POST /admin/v1/stores/:storeId/pairing-codes`
 * (docs/admin-api.md "Agent enrolment and end-of-day totals", docs/agent-enrolment.md). The code
 * is shown this once with its expiry and the command to run on the store's computer:
 * `posbridge-agent pair <code> --server <this server>`.
 *
 * @see docs/console.md "Screens"
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type PairingCode, type Principal } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';

/** The agent's command line that redeems `code` at the server of `origin` (the console's own origin). */
export function pairCommand(code: string, origin: string): string {
  return `posbridge-agent pair ${code} --server ${origin}`;
}

/** The pairing screen. */
export function Pairing(_props: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const stores = useLoad(() => api.stores(), []);
  const [storeId, setStoreId] = useState('');
  const [agentName, setAgentName] = useState('');
  const [issued, setIssued] = useState<PairingCode | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const chosen = storeId || (stores.data?.stores[0]?.storeId ?? '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (chosen === '') return;
    setBusy(true);
    setIssued(null);
    api.pairingCode(chosen, agentName).then(
      (code) => {
        setBusy(false);
        setError(null);
        setIssued(code);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <>
      <h1>{i18n.t('pairTitle')}</h1>
      <p>{i18n.t('pairHelp')}</p>
      <ErrorNote error={stores.error} />
      <form className="search" onSubmit={submit} aria-label={i18n.t('pairTitle')}>
        <div className="grid">
          <div className="field">
            <label htmlFor="pair-store">{i18n.t('colStore')}</label>
            <select id="pair-store" required value={chosen} onChange={(e) => setStoreId(e.target.value)}>
              {stores.data?.stores.map((s) => (
                <option key={s.storeId} value={s.storeId}>
                  {s.name} ({s.storeId})
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="pair-agent">{i18n.t('pairAgentName')}</label>
            <input id="pair-agent" maxLength={64} value={agentName} aria-describedby="pair-agent-help" onChange={(e) => setAgentName(e.target.value)} />
            <small id="pair-agent-help">{i18n.t('pairAgentNameHelp')}</small>
          </div>
        </div>
        <ErrorNote error={error} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || chosen === ''}>
            {i18n.t('pairCreate')}
          </button>
        </div>
      </form>
      {issued ? (
        <section aria-labelledby="pair-code-title" className="secret-once">
          <h2 id="pair-code-title">{i18n.t('pairCodeTitle')}</h2>
          <p role="status" className="code" data-testid="pair-code">
            {issued.code}
          </p>
          <dl className="summary">
            <dt>{i18n.t('pairAgent')}</dt>
            <dd>{issued.agentName}</dd>
            <dt>{i18n.t('colStore')}</dt>
            <dd>{issued.storeId}</dd>
            <dt>{i18n.t('pairExpires')}</dt>
            <dd data-testid="pair-expires">{i18n.time(issued.expiresAt)}</dd>
          </dl>
          <p>{i18n.t('pairRun')}</p>
          <pre className="command" data-testid="pair-command">
            <code>{pairCommand(issued.code, location.origin)}</code>
          </pre>
          <p className="muted">{i18n.t('pairOnce')}</p>
        </section>
      ) : null}
    </>
  );
}
