/**
 * The console's shell: who is logged in (`GET /admin/v1/session`), the login screen otherwise,
 * the header with navigation, language switch and logout, and hash routes to the screens
 * (`#/payments`, `#/payments/<id>`, `#/unknown`, `#/terminals`, `#/directory`, `#/giftcards`,
 * `#/giftcards/<id>`).
 *
 * @see docs/console.md
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, UNAUTHORIZED_EVENT, api, setCsrfToken, type Principal, type Role } from './api.ts';
import { I18nContext, LANG_KEY, LANGUAGES, i18nOf, initialLang, isLang, type Lang, type MessageKey } from './i18n/index.ts';
import { Login } from './screens/login.tsx';
import { PaymentDetail } from './screens/payment-detail.tsx';
import { Payments } from './screens/payments.tsx';
import { Terminals } from './screens/terminals.tsx';
import { Directory } from './screens/directory.tsx';
import { GiftCardDetail, GiftCards } from './screens/giftcards.tsx';
import { Unknown } from './screens/unknown.tsx';
import { ErrorNote } from './ui.tsx';

/** A parsed hash route. */
export type Route = { name: 'payments'; params: URLSearchParams } | { name: 'payment'; id: string } | { name: 'unknown' } | { name: 'terminals' }
  | { name: 'directory' }
  | { name: 'giftcards'; params: URLSearchParams }
  | { name: 'giftcard'; id: string; params: URLSearchParams };

/** The route of a location hash (`#/payments?orderId=…`); anything else is the payment search. */
export function routeOf(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter((p) => p !== '');
  if (parts[0] === 'payments' && parts[1] !== undefined) return { name: 'payment', id: decodeURIComponent(parts[1]) };
  if (parts[0] === 'unknown') return { name: 'unknown' };
  if (parts[0] === 'terminals') return { name: 'terminals' };
  if (parts[0] === 'directory') return { name: 'directory' };
  if (parts[0] === 'giftcards' && parts[1] !== undefined) return { name: 'giftcard', id: decodeURIComponent(parts[1]), params: new URLSearchParams(search) };
  if (parts[0] === 'giftcards') return { name: 'giftcards', params: new URLSearchParams(search) };
  return { name: 'payments', params: new URLSearchParams(search) };
}

const ROLE_KEYS: Record<Role, MessageKey> = { viewer: 'roleViewer', operator: 'roleOperator', admin: 'roleAdmin' };
const NAV: { route: Route['name']; href: string; key: MessageKey }[] = [
  { route: 'payments', href: '#/payments', key: 'navPayments' },
  { route: 'unknown', href: '#/unknown', key: 'navUnknown' },
  { route: 'terminals', href: '#/terminals', key: 'navTerminals' },
  { route: 'directory', href: '#/directory', key: 'navDirectory' },
  { route: 'giftcards', href: '#/giftcards', key: 'navGiftCards' },
];

function storedLang(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

/** The console. */
export function App(): ReactNode {
  const [lang, setLang] = useState<Lang>(() => initialLang(storedLang(), navigator.languages));
  const i18n = useMemo(() => i18nOf(lang), [lang]);
  const [principal, setPrincipal] = useState<Principal | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [hash, setHash] = useState(() => location.hash);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = i18n.t('appName');
  }, [lang, i18n]);
  useEffect(() => {
    const onHash = () => {
      setHash(location.hash);
      // A new screen: move focus to its content, as a page load would.
      main.current?.focus();
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const loadSession = useCallback(() => {
    api.session().then(
      (s) => {
        setPrincipal(s.principal);
        setError(null);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setPrincipal(null);
        else setError(err);
      },
    );
  }, []);
  useEffect(loadSession, [loadSession]);

  const chooseLang = (tag: string) => {
    if (!isLang(tag)) return;
    setLang(tag);
    try {
      localStorage.setItem(LANG_KEY, tag);
    } catch {
      // private mode: the choice lasts for this page only
    }
  };
  const logout = () => {
    api.logout().then(
      () => {
        setCsrfToken(null);
        setPrincipal(null);
      },
      (err: unknown) => setError(err),
    );
  };
  // Any 401 of a screen (./api.ts): the session is over, back to the login.
  useEffect(() => {
    const onUnauthorized = () => setPrincipal(null);
    addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  const route = routeOf(hash);
  const langSwitch = (
    <div className="lang">
      <label htmlFor="lang">{i18n.t('language')}</label>
      <select id="lang" value={lang} onChange={(e) => chooseLang(e.target.value)}>
        {LANGUAGES.map((l) => (
          <option key={l.tag} value={l.tag} lang={l.tag}>
            {l.name}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <I18nContext.Provider value={i18n}>
      <a className="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        {i18n.t('skipToContent')}
      </a>
      <header className="top">
        <p className="brand">{i18n.t('appName')}</p>
        {principal ? (
          <nav aria-label={i18n.t('navLabel')}>
            <ul>
              {NAV.map((n) => (
                <li key={n.route}>
                  <a href={n.href} aria-current={route.name === n.route || (n.route === 'payments' && route.name === 'payment') || (n.route === 'giftcards' && route.name === 'giftcard') ? 'page' : undefined}>
                    {i18n.t(n.key)}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <div className="tools">
          {langSwitch}
          {principal ? (
            <>
              <span className="who">{i18n.t('signedInAs', { actor: principal.actor, role: i18n.t(ROLE_KEYS[principal.role]) })}</span>
              {principal.kind === 'session' ? (
                <button type="button" onClick={logout}>
                  {i18n.t('logout')}
                </button>
              ) : null}
            </>
          ) : null}
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <ErrorNote error={error} />
        {principal === undefined ? <p>{i18n.t('loading')}</p> : null}
        {principal === null ? (
          <Login
            onLoggedIn={(csrf) => {
              setCsrfToken(csrf);
              loadSession();
            }}
          />
        ) : null}
        {principal ? <Screen route={route} principal={principal} /> : null}
      </main>
    </I18nContext.Provider>
  );
}

function Screen({ route, principal }: { route: Route; principal: Principal }): ReactNode {
  const props = { principal };
  switch (route.name) {
    case 'payments':
      return <Payments params={route.params} {...props} />;
    case 'payment':
      return <PaymentDetail id={route.id} {...props} />;
    case 'unknown':
      return <Unknown {...props} />;
    case 'terminals':
      return <Terminals {...props} />;
    case 'directory':
      return <Directory {...props} />;
    case 'giftcards':
      return <GiftCards params={route.params} {...props} />;
    case 'giftcard':
      return <GiftCardDetail id={route.id} params={route.params} {...props} />;
  }
}
