/**
 * Console users (admin only; docs/admin-api.md "Users and tokens (admin)"): the list
 * (`GET /admin/v1/users`), a new user with a name, password, role and, for an unscoped admin, an
 * optional merchant scope (`POST /admin/v1/users`), and disabling one with a reason
 * (`POST /admin/v1/users/:userId/disable`, which also ends their sessions and tokens). The admin
 * API has no route that changes a user's role: a new role is a new user, the old one disabled.
 * A merchant-scoped admin sees and makes only its merchant's users (the server enforces it).
 *
 * @see docs/console.md "Screens"
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, type Principal, type Role, type User } from '../api.ts';
import { useI18n, type MessageKey } from '../i18n/index.ts';
import { ErrorNote, ReasonField, useLoad } from '../ui.tsx';

/** The role names of the catalogue. */
export const ROLE_KEYS: Record<Role, MessageKey> = { viewer: 'roleViewer', operator: 'roleOperator', admin: 'roleAdmin' };
/** Shortest password the server takes (server/src/admin/passwords.ts `MIN_PASSWORD_LENGTH`). */
export const MIN_PASSWORD = 12;
/** The roles, weakest first. */
export const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];

/** The merchant scope picker: "every merchant" or one of the directory's (an unscoped admin only). */
export function MerchantScope({ id, value, onChange, principal }: { id: string; value: string; onChange(v: string): void; principal: Principal }): ReactNode {
  const i18n = useI18n();
  const merchants = useLoad(() => api.merchants(), []);
  if (principal.merchantId !== null) return null;
  return (
    <div className="field">
      <label htmlFor={id}>{i18n.t('acScope')}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{i18n.t('acScopeAll')}</option>
        {merchants.data?.merchants.map((m) => (
          <option key={m.merchantId} value={m.merchantId}>
            {m.name ?? m.merchantId} ({m.merchantId})
          </option>
        ))}
      </select>
    </div>
  );
}

function AddUser({ principal, onAdded }: { principal: Principal; onAdded(u: User): void }): ReactNode {
  const i18n = useI18n();
  const [form, setForm] = useState({ name: '', password: '', role: 'viewer' as Role, merchantId: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    api.addUser({ name: form.name.trim(), password: form.password, role: form.role, ...(form.merchantId === '' ? {} : { merchantId: form.merchantId }) }).then(
      ({ user }) => {
        setBusy(false);
        setError(null);
        setForm({ name: '', password: '', role: 'viewer', merchantId: '' });
        onAdded(user);
      },
      (err: unknown) => {
        setBusy(false);
        setError(err);
      },
    );
  };
  return (
    <form className="search" onSubmit={submit} aria-labelledby="user-add-title">
      <h2 id="user-add-title">{i18n.t('userAdd')}</h2>
      <div className="grid">
        <div className="field">
          <label htmlFor="user-name">{i18n.t('loginName')}</label>
          <input id="user-name" required maxLength={59} pattern="[A-Za-z0-9._@\-]+" autoComplete="off" value={form.name} onChange={(e) => setForm((f) => ({ ...f, name: e.target.value }))} />
        </div>
        <div className="field">
          <label htmlFor="user-password">{i18n.t('loginPassword')}</label>
          <input id="user-password" type="password" required minLength={MIN_PASSWORD} maxLength={1024} autoComplete="new-password" aria-describedby="user-password-help" value={form.password} onChange={(e) => setForm((f) => ({ ...f, password: e.target.value }))} />
          <small id="user-password-help">{i18n.t('userPasswordHelp')}</small>
        </div>
        <div className="field">
          <label htmlFor="user-role">{i18n.t('acRole')}</label>
          <select id="user-role" value={form.role} onChange={(e) => setForm((f) => ({ ...f, role: e.target.value as Role }))}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {i18n.t(ROLE_KEYS[r])}
              </option>
            ))}
          </select>
        </div>
        <MerchantScope id="user-scope" value={form.merchantId} onChange={(v) => setForm((f) => ({ ...f, merchantId: v }))} principal={principal} />
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {i18n.t('userAddSubmit')}
        </button>
      </div>
    </form>
  );
}

function DisableForm({ user, onDone, onCancel }: { user: User; onDone(u: User): void; onCancel(): void }): ReactNode {
  const i18n = useI18n();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    api.disableUser(user.userId, reason.trim()).then(
      (answer) => onDone(answer.user),
      (err: unknown) => setError(err),
    );
  };
  return (
    <form className="action-form" onSubmit={submit} aria-label={i18n.t('userDisableTitle', { name: user.name })}>
      <h3>{i18n.t('userDisableTitle', { name: user.name })}</h3>
      <ReasonField id={`disable-${user.userId}`} value={reason} onChange={setReason} />
      <ErrorNote error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={reason.trim() === ''}>
          {i18n.t('confirm')}
        </button>
        <button type="button" onClick={onCancel}>
          {i18n.t('cancel')}
        </button>
      </div>
    </form>
  );
}

/** The users screen. */
export function Users({ principal }: { principal: Principal }): ReactNode {
  const i18n = useI18n();
  const users = useLoad(() => api.users(), []);
  const [disabling, setDisabling] = useState<User | null>(null);
  const [notice, setNotice] = useState('');
  return (
    <>
      <h1>{i18n.t('usersTitle')}</h1>
      <p className="muted">{i18n.t('usersHelp')}</p>
      <p role="status" className="notice">
        {notice}
      </p>
      <ErrorNote error={users.error} />
      <AddUser
        principal={principal}
        onAdded={(u) => {
          setNotice(i18n.t('userAdded', { name: u.name }));
          users.reload();
        }}
      />
      {disabling ? (
        <DisableForm
          user={disabling}
          onCancel={() => setDisabling(null)}
          onDone={(u) => {
            setDisabling(null);
            setNotice(i18n.t('userDisabled', { name: u.name }));
            users.reload();
          }}
        />
      ) : null}
      <section aria-labelledby="users-title">
        <h2 id="users-title">{i18n.t('usersList')}</h2>
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">{i18n.t('colName')}</th>
                <th scope="col">{i18n.t('acRole')}</th>
                <th scope="col">{i18n.t('acScope')}</th>
                <th scope="col">{i18n.t('acState')}</th>
                <th scope="col">{i18n.t('colCreated')}</th>
                <th scope="col">{i18n.t('colActions')}</th>
              </tr>
            </thead>
            <tbody>
              {users.data?.users.map((u) => (
                <tr key={u.userId} data-user={u.name}>
                  <th scope="row">{u.name}</th>
                  <td>{i18n.t(ROLE_KEYS[u.role])}</td>
                  <td>{u.merchantId ?? i18n.t('acScopeAll')}</td>
                  <td>
                    <span className={`badge ${u.disabled ? 'off' : 'on'}`}>{i18n.t(u.disabled ? 'acDisabled' : 'acActive')}</span>
                  </td>
                  <td>{i18n.time(u.createdAt)}</td>
                  <td>
                    {u.disabled ? null : (
                      <button type="button" onClick={() => setDisabling(u)} aria-label={i18n.t('userDisableTitle', { name: u.name })}>
                        {i18n.t('userDisable')}
                      </button>
                    )}
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
