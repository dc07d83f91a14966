/**
 * Small shared pieces of the console screens: loading data, showing a refusal, status badges
 * and the reason-required forms of the operator actions (docs/admin-api.md "Resolve", "Redeliver").
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { ApiError, type Status } from './api.ts';
import { useI18n, type I18n } from './i18n/index.ts';

/** A refusal or failure in the user's language. */
export function errorText(i18n: I18n, err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return i18n.t('errorNetwork');
    if (err.status === 403) return i18n.t('errorForbidden');
    if (err.status === 404) return i18n.t('errorNotFound');
    return i18n.t('errorGeneric', { message: `${err.code}: ${err.message}` });
  }
  return i18n.t('errorGeneric', { message: err instanceof Error ? err.message : String(err) });
}

/** A refusal shown to the user and announced to screen readers. */
export function ErrorNote({ error }: { error: unknown }): ReactNode {
  const i18n = useI18n();
  if (error === null || error === undefined) return null;
  return (
    <p role="alert" className="error">
      {errorText(i18n, error)}
    </p>
  );
}

/** State of one load: data, error, loading, and a reload. */
export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Loads with `load` whenever `deps` change (and on `reload()`); `everyMs` also reloads on a timer
 * (the terminal list: the admin API has no event stream, so the console polls).
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setLoading(true);
    loadRef.current().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (!live) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (everyMs === undefined) return;
    const timer = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** A payment status as a coloured badge with its translated name. */
export function StatusBadge({ status }: { status: Status }): ReactNode {
  const i18n = useI18n();
  return <span className={`badge badge-${status}`}>{i18n.status(status)}</span>;
}

/** The reason field every operator action requires (1–500 characters). */
export function ReasonField({ id, value, onChange }: { id: string; value: string; onChange(v: string): void }): ReactNode {
  const i18n = useI18n();
  return (
    <div className="field">
      <label htmlFor={id}>{i18n.t('reason')}</label>
      <textarea id={id} required maxLength={500} rows={2} value={value} aria-describedby={`${id}-help`} onChange={(e) => onChange(e.target.value)} />
      <small id={`${id}-help`}>{i18n.t('reasonHelp')}</small>
    </div>
  );
}
