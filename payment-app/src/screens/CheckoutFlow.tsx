/**
 * The whole clerk flow inside VTEX checkout (the VTEX IO Payment App, ../../vtex-io/): one
 * component for both steps, since a partner's app is named for both (docs/ppp.md "Payment
 * Apps"). A `submitUrl` payload opens the terminal connector, then — once the terminal has the
 * payment — the wait screen; a `secondsWaiting` payload opens the wait screen at once. It
 * answers the checkout exactly once through {@link CheckoutEvents}: approved → `true`; denied,
 * cancelled, expired, closed by the clerk → `false`; an outcome nobody knows is never answered
 * (../host/checkout.ts). @see ../host/contract.ts for the screens' props
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createPosClient, type FetchLike } from '../api/client.ts';
import { platformFetch } from '../api/default-fetch.ts';
import { checkoutAnswerOf, checkoutStepOfStatus, stepOfPayload, type CheckoutEvents } from '../host/checkout.ts';
import { parseConnectorPayload, parseWaitPayload, type ConnectorResult, type WaitResult } from '../host/contract.ts';
import type { DeviceMemory } from '../host/device-memory.ts';
import type { TerminalScanner } from '../host/scanner.ts';
import { messagesFor } from '../i18n/index.ts';
import { Body, Busy, Notice, Screen, Title } from '../ui/parts.tsx';
import { TerminalConnectorScreen } from './TerminalConnectorScreen.tsx';
import { WaitForConfirmationScreen } from './WaitForConfirmationScreen.tsx';

/** Props of {@link CheckoutFlow}. */
export interface CheckoutFlowProps {
  /** The connector's `paymentAppData.payload`, as the checkout passes it. */
  readonly appPayload: string;
  /** The checkout's locale (BCP 47). */
  readonly locale?: string | undefined;
  /** Where the answer goes (on a page: `checkoutEventsOn(window)`). */
  readonly checkout: CheckoutEvents;
  readonly fetch?: FetchLike | undefined;
  readonly scanner?: TerminalScanner | undefined;
  /** The device's storage (the store it stands in, the terminal last used). */
  readonly memory?: DeviceMemory | undefined;
  /** Poll period of `statusUrl` between the steps. @default 1000 */
  readonly pollIntervalMs?: number | undefined;
  /** Countdown when the server gives no `secondsRemaining`. @default 120 */
  readonly fallbackSeconds?: number | undefined;
  /** Passed to the wait screen (null: only Done closes it). @default null */
  readonly autoCloseMs?: number | null | undefined;
}

type Step =
  | { readonly kind: 'connector' }
  /** Reading the status: to open the wait screen (`open`), or after its time ran out (`recheck`). */
  | { readonly kind: 'reading'; readonly statusUrl: string; readonly cancelUrl: string | null; readonly purpose: 'open' | 'recheck' }
  | { readonly kind: 'wait'; readonly payload: string }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'answered' };

/** The checkout flow. */
export function CheckoutFlow(props: CheckoutFlowProps) {
  const t = messagesFor(props.locale).checkout;
  const fetch = props.fetch ?? platformFetch;
  const client = useMemo(() => createPosClient({ fetch }), [fetch]);
  const pollIntervalMs = props.pollIntervalMs ?? 1000;
  const fallbackSeconds = props.fallbackSeconds ?? 120;
  const connector = useMemo(() => parseConnectorPayload(props.appPayload), [props.appPayload]);
  const [step, setStep] = useState<Step>(() =>
    stepOfPayload(props.appPayload) === 'wait' ? { kind: 'wait', payload: props.appPayload } : { kind: 'connector' },
  );

  const checkoutRef = useRef(props.checkout);
  checkoutRef.current = props.checkout;
  const answered = useRef(false);
  const answer = useCallback((approved: boolean) => {
    if (answered.current) return;
    answered.current = true;
    setStep({ kind: 'answered' });
    checkoutRef.current.respond(approved);
  }, []);

  // The checkout hides its spinner so the screen shows.
  useEffect(() => {
    checkoutRef.current.removeLoading();
  }, []);

  // Between the steps (and after the wait screen's time ran out): what does the server say?
  const readingUrl = step.kind === 'reading' ? step.statusUrl : null;
  const purpose = step.kind === 'reading' ? step.purpose : null;
  const readingCancelUrl = step.kind === 'reading' ? step.cancelUrl : null;
  useEffect(() => {
    if (readingUrl === null) return undefined;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = () => {
      void client.status(readingUrl).then((r) => {
        if (!live) return;
        if (!r.ok) {
          if (r.error.kind === 'http' && r.error.code === 'POS_SUBMIT_NOT_FOUND') answer(false);
          else timer = setTimeout(read, pollIntervalMs);
          return;
        }
        const next = checkoutStepOfStatus(r.value, fallbackSeconds);
        const waitPayload = (secondsWaiting: number) =>
          JSON.stringify(readingCancelUrl === null ? { secondsWaiting, statusUrl: readingUrl } : { secondsWaiting, statusUrl: readingUrl, cancelUrl: readingCancelUrl });
        // Opening: the wait screen shows whatever the status is (a sale already over included), so the clerk sees it.
        if (purpose === 'open') {
          const secondsWaiting = Math.max(1, r.value.secondsRemaining ?? fallbackSeconds);
          setStep({ kind: 'wait', payload: waitPayload(secondsWaiting) });
        } else if (next.kind === 'answer') answer(next.approved);
        else if (next.kind === 'unknown') setStep({ kind: 'unknown' });
        else setStep({ kind: 'wait', payload: waitPayload(next.secondsWaiting) });
      });
    };
    read();
    return () => {
      live = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, readingUrl, readingCancelUrl, purpose, pollIntervalMs, fallbackSeconds, answer]);

  const onConnectorClose = useCallback(
    (result: ConnectorResult) => {
      const statusUrl = connector?.statusUrl ?? null;
      if (result.outcome === 'submitted' && statusUrl !== null) setStep({ kind: 'reading', statusUrl, cancelUrl: connector?.cancelUrl ?? null, purpose: 'open' });
      else answer(checkoutAnswerOf(result) ?? false);
    },
    [connector, answer],
  );

  const onWaitClose = useCallback(
    (result: WaitResult, statusUrl: string | null, cancelUrl: string | null) => {
      const approved = checkoutAnswerOf(result);
      if (approved !== null) answer(approved);
      // Time ran out: the server's deadline decides (an expiry is false, an unknown outcome is never guessed).
      else if (statusUrl !== null) setStep({ kind: 'reading', statusUrl, cancelUrl, purpose: 'recheck' });
      else answer(false);
    },
    [answer],
  );

  switch (step.kind) {
    case 'connector':
      return (
        <TerminalConnectorScreen
          payload={props.appPayload}
          locale={props.locale}
          fetch={fetch}
          scanner={props.scanner}
          memory={props.memory}
          onClose={onConnectorClose}
        />
      );
    case 'wait': {
      const wait = parseWaitPayload(step.payload);
      const statusUrl = wait?.statusUrl ?? null;
      return (
        <WaitForConfirmationScreen
          key={step.payload}
          payload={step.payload}
          locale={props.locale}
          fetch={fetch}
          autoCloseMs={props.autoCloseMs ?? null}
          onClose={(result) => onWaitClose(result, statusUrl, wait?.cancelUrl ?? null)}
        />
      );
    }
    case 'reading':
      return (
        <Screen testID="checkout-reading" label={t.title}>
          <Title>{t.title}</Title>
          <Busy label={t.opening} />
        </Screen>
      );
    case 'unknown':
      return (
        <Screen testID="checkout-unknown" label={t.title}>
          <Title>{t.title}</Title>
          <Notice tone="warning" testID="checkout-unknown-notice">
            {t.unknown}
          </Notice>
          <Body>{t.unknownDetail}</Body>
        </Screen>
      );
    case 'answered':
      return (
        <Screen testID="checkout-answered" label={t.title}>
          <Busy label={t.answered} />
        </Screen>
      );
  }
}
