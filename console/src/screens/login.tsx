/** The login screen: `POST /admin/v1/session` with name and password (docs/admin-api.md "Session"). */
import { useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, api } from '../api.ts';
import { useI18n } from '../i18n/index.ts';
import { errorText } from '../ui.tsx';

/** Signs in; `onLoggedIn` gets the session's CSRF token. */
export function Login({ onLoggedIn }: { onLoggedIn(csrfToken: string): void }): ReactNode {
  const i18n = useI18n();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    api.login(name, password).then(
      (answer) => {
        setBusy(false);
        onLoggedIn(answer.csrfToken);
      },
      (err: unknown) => {
        setBusy(false);
        setPassword('');
        if (err instanceof ApiError && err.status === 401) setError(i18n.t('loginWrong'));
        else if (err instanceof ApiError && err.status === 429) setError(i18n.t('loginLimited'));
        else setError(errorText(i18n, err));
      },
    );
  };
  return (
    <section className="login" aria-labelledby="login-title">
      <h1 id="login-title">{i18n.t('loginTitle')}</h1>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="login-name">{i18n.t('loginName')}</label>
          <input id="login-name" name="username" autoComplete="username" required maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="login-password">{i18n.t('loginPassword')}</label>
          <input
            id="login-password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            maxLength={1024}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </div>
        {error === null ? null : (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {i18n.t('loginSubmit')}
        </button>
      </form>
    </section>
  );
}
