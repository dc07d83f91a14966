/**
 * API tokens (admin only; docs/admin-api.md "Users and tokens (admin)"): the list
 * (`GET /admin/v1/tokens`: labels and ids, never secrets), a new token with a label, a role (no
 * stronger than the caller's), an optional merchant scope and expiry (`POST /admin/v1/tokens`,
 * whose secret is shown here this once and never again), and revoking one
 * (`DELETE /admin/v1/tokens/:credentialId`).
 *
 * @see docs/console.md "Screens"
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type Principal, type Role, type Token } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { ErrorNote, useLoad } from '../ui.tsx';
import { MerchantScope, ROLE_KEYS, ROLES } from './users.tsx';

function AddToken({ principal, onAdded }: { principal: Principal; onAdded(t: Token, secret: string): void }): ReactNode {
  const i18n = useI18n();
  const [form, setForm] = useState({ label: '', role: 'viewer' as Role, merchantId: '', days: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const days = form.days === '' ? undefined : Number(form.days);
    api
      .addToken({ label: form.label.trim(), role: form.role, ...(form.merchantId === '' ? {} : { merchantId: form.merchantId }), ...(days === undefined ? {} : { expiresInDays: days }) })
      .then(
        ({ token, secret }) => {
          setBusy(false);
          setError(null);
          setForm({ label: '', role: 'viewer', merchantId: '', days: '' });
          onAdded(token, secret);
        },
        (err: unknown) => {
          setBusy(false);
          setError(err);
        },
      );
  };
  return (
    <form className="search" onSubmit={submit} aria-labelledby="token-add-title">
      <h2 id="token-add-title">{i18n.t('tokenAdd')}</h2>
      <div className="grid">
        <div className="field">
          <label htmlFor="token-label">{i18n.t('tokenLabel')}</label>
          <input id="token-label" required maxLength={100} value={form.label} onChange={(e) => setForm((f) => ({ ...f, label: e.target.value }))} />
        </div>
        <div className="field">
          <label htmlFor="token-role">{i18n.t('acRole')}</label>
          <select id="token-role" value={form.role} onChange={(e) => setForm((f) => ({ ...f, role: e.target.value as Role }))}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {i18n.t(ROLE_KEYS[r])}
              </option>
            ))}
          </select>
        </div>
        <MerchantScope id="token-scope" value={form.merchantId} onChange={(v) => setForm((f) => ({ ...f, merchantId: v }))} principal={principal} />
        <div className="field">
          <label htmlFor="token-days">{i18n.t('tokenDays')}</label>
          <input id="token-days" type="number" min={1} max={3650} step={1} aria-describedby="token-days-help" value={form.days} onChange={(e) => setForm((f) => ({ ...f, days: e.target.value }))} />
          <small id="token-days-help">{i18n.t('tokenDaysHelp')}</small>
        </div>
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {i18n.t('tokenAddSubmit')}
        </button>
      </div>
    </form>
  );
}

/** The tokens screen. */
export function Tokens({ principal }: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const tokens = useLoad(() => api.tokens(), []);
  const [issued, setIssued] = useState<{ token: Token; secret: string } | null>(null);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<unknown>(null);
  const revoke = (t: Token) => {
    api.revokeToken(t.credentialId).then(
      () => {
        setError(null);
        setNotice(i18n.t('tokenRevoked', { label: t.label }));
        if (issued?.token.credentialId === t.credentialId) setIssued(null);
        tokens.reload();
      },
      (err: unknown) => setError(err),
    );
  };
  return (
    <>
      <h1>{i18n.t('tokensTitle')}</h1>
      <p role="status" className="notice">
        {notice}
      </p>
      <ErrorNote error={tokens.error ?? error} />
      <AddToken
        principal={principal}
        onAdded={(token, secret) => {
          setIssued({ token, secret });
          setNotice('');
          tokens.reload();
        }}
      />
      {issued ? (
        <section aria-labelledby="token-secret-title" className="secret-once">
          <h2 id="token-secret-title">{i18n.t('tokenSecretTitle', { label: issued.token.label })}</h2>
          <pre className="command" data-testid="token-secret">
            <code>{issued.secret}</code>
          </pre>
          <p className="muted">{i18n.t('tokenSecretOnce')}</p>
          <div className="actions">
            <button type="button" onClick={() => setIssued(null)}>
              {i18n.t('tokenSecretHide')}
            </button>
          </div>
        </section>
      ) : null}
      <section aria-labelledby="tokens-title">
        <h2 id="tokens-title">{i18n.t('tokensList')}</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('tokenLabel')}</th>
                <th scope="col">{i18n.t('colId')}</th>
                <th scope="col">{i18n.t('acRole')}</th>
                <th scope="col">{i18n.t('acScope')}</th>
                <th scope="col">{i18n.t('colCreated')}</th>
                <th scope="col">{i18n.t('tokenExpires')}</th>
                <th scope="col">{i18n.t('acState')}</th>
                <th scope="col">{i18n.t('colActions')}</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data?.tokens.map((t) => (
                <tr key={t.credentialId} data-token={t.credentialId}>
                  <th scope="row">{t.label}</th>
                  <td>{t.credentialId}</td>
                  <td>{i18n.t(ROLE_KEYS[t.role])}</td>
                  <td>{t.merchantId ?? i18n.t('acScopeAll')}</td>
                  <td>{i18n.time(t.createdAt)}</td>
                  <td>{t.expiresAt === null ? i18n.t('gcNever') : i18n.time(t.expiresAt)}</td>
                  <td>
                    <span className={`badge ${t.revokedAt === null ? 'on' : 'off'}`}>{i18n.t(t.revokedAt === null ? 'acActive' : 'tokenRevokedState')}</span>
                  </td>
                  <td>
                    {t.revokedAt === null ? (
                      <button type="button" onClick={() => revoke(t)} aria-label={i18n.t('tokenRevokeLabel', { label: t.label })}>
                        {i18n.t('tokenRevoke')}
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
