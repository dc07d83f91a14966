/**
 * The console's shell: who is logged in (`GET /admin/v1/session`), the login screen otherwise,
 * the header with navigation, language switch and logout, and hash routes to the screens
 * (`#/payments`, `#/payments/<id>`, `#/unknown`, `#/terminals`, `#/directory`, `#/giftcards`,
 * `#/giftcards/<id>`; for admins `#/pairing`, `#/users`, `#/tokens`, and for an unscoped admin
 * `#/audit`). A screen the role may not use is not offered (the server refuses it anyway).
 *
 * @see docs/console.md
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, UNAUTHORIZED_EVENT, api, isAdmin, setCsrfToken, type Principal, type Role } from './api.ts';
import { I18nContext, LANG_KEY, LANGUAGES, i18nOf, initialLang, isLang, type Lang, type MessageKey } from './i18n/index.ts';
import { Login } from './screens/login.tsx';
import { PaymentDetail } from './screens/payment-detail.tsx';
import { Payments } from './screens/payments.tsx';
import { Terminals } from './screens/terminals.tsx';
import { Directory } from './screens/directory.tsx';
import { GiftCardDetail, GiftCards } from './screens/giftcards.tsx';
import { Unknown } from './screens/unknown.tsx';
import { Pairing } from './screens/pairing.tsx';
import { Users } from './screens/users.tsx';
import { Tokens } from './screens/tokens.tsx';
import { Audit } from './screens/audit.tsx';
import { ErrorNote } from './ui.tsx';

/** A parsed hash route. */
export type Route = { name: 'payments'; params: URLSearchParams } | { name: 'payment'; id: string } | { name: 'unknown' } | { name: 'terminals' }
  | { name: 'directory' }
  | { name: 'giftcards'; params: URLSearchParams }
  | { name: 'giftcard'; id: string; params: URLSearchParams }
  | { name: 'pairing' }
  | { name: 'users' }
  | { name: 'tokens' }
  | { name: 'audit' };

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
  if (parts[0] === 'pairing' || parts[0] === 'users' || parts[0] === 'tokens' || parts[0] === 'audit') return { name: parts[0] };
  return { name: 'payments', params: new URLSearchParams(search) };
}

const ROLE_KEYS: Record<Role, MessageKey> = { viewer: 'roleViewer', operator: 'roleOperator', admin: 'roleAdmin' };
/** Who may use a screen (docs/admin-api.md "Roles and merchant scope"). */
type Audience = 'all' | 'admin' | 'unscopedAdmin';
const NAV: { route: Route['name']; href: string; key: MessageKey; audience: Audience }[] = [
  { route: 'payments', href: '#/payments', key: 'navPayments', audience: 'all' },
  { route: 'unknown', href: '#/unknown', key: 'navUnknown', audience: 'all' },
  { route: 'terminals', href: '#/terminals', key: 'navTerminals', audience: 'all' },
  { route: 'directory', href: '#/directory', key: 'navDirectory', audience: 'all' },
  { route: 'giftcards', href: '#/giftcards', key: 'navGiftCards', audience: 'all' },
  { route: 'pairing', href: '#/pairing', key: 'navPairing', audience: 'admin' },
  { route: 'users', href: '#/users', key: 'navUsers', audience: 'admin' },
  { route: 'tokens', href: '#/tokens', key: 'navTokens', audience: 'admin' },
  { route: 'audit', href: '#/audit', key: 'navAudit', audience: 'unscopedAdmin' },
];

/** True when `principal` may use a screen of `audience`: admins the admin screens, an unscoped admin the audit log. */
export function mayUse(principal: Pick<Principal, 'role' | 'merchantId'>, audience: Audience): boolean {
  if (audience === 'all') return true;
  if (!isAdmin(principal.role)) return false;
  return audience === 'admin' || principal.merchantId === null;
}

/** The audience of a route's screen. */
function audienceOf(route: Route['name']): Audience {
  return NAV.find((n) => n.route === route)?.audience ?? 'all';
}

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
              {NAV.filter((n) => mayUse(principal, n.audience)).map((n) => (
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
  if (!mayUse(principal, audienceOf(route.name))) return <ErrorNote error={new ApiError(403, 'ADMIN_FORBIDDEN', route.name)} />;
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
    case 'pairing':
      return <Pairing {...props} />;
    case 'users':
      return <Users {...props} />;
    case 'tokens':
      return <Tokens {...props} />;
    case 'audit':
      return <Audit {...props} />;
  }
}
