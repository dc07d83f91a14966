/**
 * Wait for confirmation (role of `vtex.challenge-wait-for-confirmation`): the terminal's live
 * progress read from `statusUrl` (waiting for card, PIN, processing), a countdown of
 * `secondsWaiting`, and the final result — approved or denied, with card brand and last 4
 * digits. The Done button closes it through the host callback. With a `cancelUrl` (posbridge's
 * payloads) a *Cancel on terminal* button stops the sale while it runs; the server refuses it
 * once the card may have been charged (docs/ppp.md "Cancellation"). @see ../host/contract.ts
 */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { StyleSheet, Text, View } from 'react-native';
import type { ProgressStage } from '@posbridge/protocol/ws';
import { createPosClient } from '../api/client.ts';
import { platformFetch } from '../api/default-fetch.ts';
import { parseWaitPayload, type WaitForConfirmationProps, type WaitResult } from '../host/contract.ts';
import { formatAmount, formatClock, messagesFor, pickLanguage, type Messages } from '../i18n/index.ts';
import { initialWaitState, waitReducer, type WaitState } from '../state/wait.ts';
import { BigButton, Body, Busy, Notice, Screen, Title } from '../ui/parts.tsx';
import { COLORS, SPACE, TYPE } from '../ui/theme.ts';

/** The three steps shown to the clerk, and which terminal stages belong to each. */
const STEPS: readonly { readonly key: 'card' | 'pin' | 'processing'; readonly stages: readonly ProgressStage[] }[] = [
  { key: 'card', stages: ['waiting_card', 'reading_card'] },
  { key: 'pin', stages: ['pin'] },
  { key: 'processing', stages: ['processing', 'printing'] },
];

/** The wait-for-confirmation screen. */
export function WaitForConfirmationScreen(props: WaitForConfirmationProps) {
  const language = pickLanguage(props.locale);
  const t = messagesFor(props.locale).wait;
  const payload = useMemo(() => parseWaitPayload(props.payload), [props.payload]);
  const client = useMemo(() => createPosClient({ fetch: props.fetch ?? platformFetch }), [props.fetch]);
  const [state, dispatch] = useReducer(waitReducer, payload?.secondsWaiting ?? 0, initialWaitState);
  const pollIntervalMs = props.pollIntervalMs ?? 1000;
  const autoCloseMs = props.autoCloseMs ?? null;
  const statusUrl = payload?.statusUrl ?? null;

  const onCloseRef = useRef(props.onClose);
  onCloseRef.current = props.onClose;
  const closed = useRef(false);
  const close = useCallback((result: WaitResult) => {
    if (closed.current) return;
    closed.current = true;
    onCloseRef.current(result);
  }, []);

  const waiting = payload !== null && state.end === null;
  const cancelUrl = payload?.cancelUrl ?? null;
  /** *Cancel on terminal*: idle, the request in flight, or why it did not go through. */
  const [cancel, setCancel] = useState<'idle' | 'requesting' | 'refused' | 'failed'>('idle');
  const requestCancel = useCallback(() => {
    if (cancelUrl === null) return;
    setCancel('requesting');
    void client.cancel(cancelUrl).then((r) => {
      if (r.ok) {
        dispatch({ type: 'statusReceived', status: r.value });
        setCancel('idle');
      } else {
        setCancel(r.error.kind === 'http' && r.error.code === 'POS_CANCEL_REFUSED' ? 'refused' : 'failed');
      }
    });
  }, [client, cancelUrl]);

  // Countdown.
  useEffect(() => {
    if (!waiting) return undefined;
    const timer = setInterval(() => dispatch({ type: 'tick' }), 1000);
    return () => clearInterval(timer);
  }, [waiting]);

  // Poll the status, one request at a time, until the payment is final.
  useEffect(() => {
    if (!waiting || statusUrl === null) return undefined;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      void client.status(statusUrl).then((r) => {
        if (!live) return;
        dispatch(r.ok ? { type: 'statusReceived', status: r.value } : { type: 'statusFailed', error: r.error });
        timer = setTimeout(poll, pollIntervalMs);
      });
    };
    poll();
    return () => {
      live = false;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, waiting, statusUrl, pollIntervalMs]);

  const end = state.end;
  useEffect(() => {
    if (end?.outcome !== 'approved' || autoCloseMs === null) return undefined;
    const timer = setTimeout(() => close(end), autoCloseMs);
    return () => clearTimeout(timer);
  }, [end, autoCloseMs, close]);

  if (payload === null) {
    const invalid: WaitResult = { outcome: 'ended', state: 'invalid_payload' };
    return (
      <Screen testID="wait-screen" label={t.title}>
        <Title>{t.title}</Title>
        <Notice tone="error" testID="wait-problem">
          {t.notFound}
        </Notice>
        <BigButton label={t.done} a11yLabel={t.doneA11y} onPress={() => close(invalid)} testID="done" />
      </Screen>
    );
  }

  const status = state.status;
  return (
    <Screen testID="wait-screen" label={t.title}>
      <Title>{t.title}</Title>
      {status !== null && (
        <View style={local.summary}>
          <Text style={local.amount} testID="wait-amount">
            {t.amountLine(formatAmount(status.amount.amountMinor, status.amount.currency, language), t.method[status.method])}
          </Text>
          {status.serialNumber !== null && <Body muted>{t.terminalLine(status.serialNumber)}</Body>}
        </View>
      )}
      {end === null ? <Progress t={t} state={state} hasStatus={statusUrl !== null} /> : <Final t={t} end={end} onDone={() => close(end)} />}
      {end === null && cancelUrl !== null && status?.state !== 'unknown' && (
        <CancelOnTerminal t={t} cancel={cancel} onPress={requestCancel} />
      )}
    </Screen>
  );
}

type WaitTexts = Messages['wait'];

function Progress(props: { readonly t: WaitTexts; readonly state: WaitState; readonly hasStatus: boolean }) {
  const { t, state } = props;
  const status = state.status;
  const stage = status?.stage ?? null;
  let headline: string;
  if (!props.hasStatus) headline = t.noStatus;
  else if (status === null) headline = t.connecting;
  else if (status.state === 'unknown') headline = t.unknownOutcome;
  else if (stage !== null) headline = t.stage[stage];
  else if (status.state === 'awaiting_terminal' || status.state === 'dispatched') headline = t.sending;
  else headline = t.connecting;
  const current = stage === null ? -1 : STEPS.findIndex((s) => s.stages.includes(stage));
  const minutes = Math.floor(state.secondsLeft / 60);
  const seconds = state.secondsLeft % 60;
  return (
    <>
      <Busy label={headline} testID="wait-stage" />
      {props.hasStatus && (
        <View style={local.steps} role="list" aria-label={t.stepsA11y}>
          {STEPS.map((step, i) => {
            const label = t.steps[step.key];
            const done = current > i;
            const active = current === i;
            return (
              <View
                key={step.key}
                role="listitem"
                aria-current={active ? 'step' : undefined}
                style={[local.step, active && local.stepActive, done && local.stepDone]}
                testID={`step-${step.key}${active ? '-active' : done ? '-done' : ''}`}
              >
                <Text style={[local.stepMark, active && local.stepMarkActive]}>{done ? '✓' : String(i + 1)}</Text>
                <Text style={[local.stepText, active && local.stepTextActive]}>{label}</Text>
              </View>
            );
          })}
        </View>
      )}
      <Text style={local.countdown} role="timer" aria-label={t.timeLeftA11y(minutes, seconds)} testID="wait-countdown">
        {t.timeLeft(formatClock(state.secondsLeft))}
      </Text>
      {state.connectionLost && (
        <Notice tone="warning" testID="wait-reconnecting">
          {t.reconnecting}
        </Notice>
      )}
    </>
  );
}

function CancelOnTerminal(props: { readonly t: WaitTexts; readonly cancel: 'idle' | 'requesting' | 'refused' | 'failed'; readonly onPress: () => void }) {
  const { t, cancel } = props;
  if (cancel === 'refused') {
    return (
      <Notice tone="warning" testID="cancel-refused">
        {t.cancelRefused}
      </Notice>
    );
  }
  return (
    <>
      {cancel === 'failed' && (
        <Notice tone="error" testID="cancel-failed">
          {t.cancelFailed}
        </Notice>
      )}
      <BigButton
        label={cancel === 'requesting' ? t.cancelling : t.cancelOnTerminal}
        a11yLabel={t.cancelOnTerminalA11y}
        variant="secondary"
        disabled={cancel === 'requesting'}
        onPress={props.onPress}
        testID="cancel-on-terminal"
      />
    </>
  );
}

function Final(props: { readonly t: WaitTexts; readonly end: WaitResult; readonly onDone: () => void }) {
  const { t, end } = props;
  let tone: 'success' | 'error' | 'warning';
  let headline: string;
  let detail: string | null = null;
  let detailA11y: string | null = null;
  switch (end.outcome) {
    case 'approved':
      tone = 'success';
      headline = `✓ ${t.approved}`;
      if (end.cardBrand !== null && end.lastDigits !== null) {
        detail = t.card(end.cardBrand, end.lastDigits);
        detailA11y = t.cardA11y(end.cardBrand, end.lastDigits);
      }
      break;
    case 'denied':
      tone = 'error';
      headline = `✕ ${t.denied}`;
      detail = end.message !== null ? `${end.message}\n${t.deniedHint}` : t.deniedHint;
      break;
    case 'timeout':
      tone = 'warning';
      headline = t.timeout;
      detail = t.timeoutHint;
      break;
    case 'ended':
      tone = 'warning';
      headline = end.state === 'cancelled' ? t.cancelled : end.state === 'expired' ? t.expired : t.notFound;
      detail = end.state === 'cancelled' || end.state === 'expired' ? t.endedHint : null;
      break;
  }
  const palette = tone === 'success' ? local.finalSuccess : tone === 'error' ? local.finalError : local.finalWarning;
  const ink = tone === 'success' ? COLORS.success : tone === 'error' ? COLORS.danger : COLORS.warning;
  return (
    <>
      <View style={[local.final, palette]} role="alert" aria-live="assertive" testID={`wait-final-${end.outcome}`}>
        <Text style={[local.finalHeadline, { color: ink }]}>{headline}</Text>
        {detail !== null && (
          <Text style={[local.finalDetail, { color: ink }]} aria-label={detailA11y ?? undefined} testID="wait-final-detail">
            {detail}
          </Text>
        )}
      </View>
      <BigButton label={t.done} a11yLabel={t.doneA11y} onPress={props.onDone} testID="done" />
    </>
  );
}

const local = StyleSheet.create({
  summary: { gap: SPACE / 4 },
  amount: { fontSize: TYPE.title, fontWeight: '700', color: COLORS.text },
  steps: { flexDirection: 'row', gap: SPACE / 2, flexWrap: 'wrap' },
  step: {
    flexGrow: 1,
    flexBasis: 160,
    flexDirection: 'row',
    alignItems: 'center',
    gap: SPACE / 2,
    borderWidth: 3,
    borderColor: COLORS.disabledBg,
    borderRadius: 14,
    padding: SPACE / 2,
  },
  stepActive: { borderColor: COLORS.primary, backgroundColor: COLORS.selected },
  stepDone: { borderColor: COLORS.success },
  stepMark: {
    flexShrink: 0,
    width: 40,
    height: 40,
    lineHeight: 40,
    borderRadius: 20,
    textAlign: 'center',
    fontSize: TYPE.small,
    fontWeight: '700',
    color: COLORS.text,
    backgroundColor: COLORS.disabledBg,
    overflow: 'hidden',
  },
  stepMarkActive: { color: COLORS.onPrimary, backgroundColor: COLORS.primary },
  stepText: { flexShrink: 1, fontSize: TYPE.small, color: COLORS.muted, fontWeight: '600' },
  stepTextActive: { color: COLORS.text, fontWeight: '700' },
  countdown: { fontSize: TYPE.title, fontWeight: '700', color: COLORS.text, textAlign: 'center', fontVariant: ['tabular-nums'] },
  final: { borderWidth: 4, borderRadius: 18, padding: SPACE * 1.5, alignItems: 'center', gap: SPACE / 2 },
  finalSuccess: { backgroundColor: COLORS.successBg, borderColor: COLORS.success },
  finalError: { backgroundColor: COLORS.dangerBg, borderColor: COLORS.danger },
  finalWarning: { backgroundColor: COLORS.warningBg, borderColor: COLORS.warning },
  finalHeadline: { fontSize: TYPE.hero, lineHeight: TYPE.hero * 1.15, fontWeight: '800', textAlign: 'center' },
  finalDetail: { fontSize: TYPE.title - 4, lineHeight: (TYPE.title - 4) * 1.3, fontWeight: '700', textAlign: 'center' },
});
