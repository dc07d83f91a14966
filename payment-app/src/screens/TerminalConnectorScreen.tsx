/**
 * The terminal connector (role of `vtex.terminal-connector-app`): the clerk identifies the
 * terminal — camera scan, typed serial, or the store's terminal list — and the payment is POSTed
 * to `submitUrl`. Shows a clear message and the next possible actions for every failure. The
 * list shows the terminals of the device's store (chosen once, remembered in `memory`), online
 * first, with the terminal last used on the device preselected.
 * Reports through `onClose` exactly once. @see ../host/contract.ts
 */
import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react';
import { Pressable, StyleSheet, Text, TextInput, View } from 'react-native';
import type { PosTerminal } from '@posbridge/protocol/pos';
import { createPosClient } from '../api/client.ts';
import { platformFetch } from '../api/default-fetch.ts';
import { PROBLEM_ACTIONS, problemOfSubmitFailure } from '../api/errors.ts';
import { parseConnectorPayload, type ConnectorResult, type TerminalConnectorProps } from '../host/contract.ts';
import { LAST_SERIAL_KEY, readRemembered, STORE_KEY } from '../host/device-memory.ts';
import { scannerFailureOf, serialFromCode } from '../host/scanner.ts';
import { messagesFor, type Messages } from '../i18n/index.ts';
import { connectorReducer, initialConnectorState, normaliseSerial, storesOf, visibleTerminals, type ConnectorState } from '../state/connector.ts';
import { BigButton, Body, Busy, Gap, Notice, Screen, Title } from '../ui/parts.tsx';
import { COLORS, SPACE, TOUCH_MIN, TYPE } from '../ui/theme.ts';

/** The terminal connector screen. */
export function TerminalConnectorScreen(props: TerminalConnectorProps) {
  const t = messagesFor(props.locale).connector;
  const payload = useMemo(() => parseConnectorPayload(props.payload), [props.payload]);
  const client = useMemo(() => createPosClient({ fetch: props.fetch ?? platformFetch }), [props.fetch]);
  const [state, dispatch] = useReducer(connectorReducer, payload?.terminalsUrl != null, initialConnectorState);
  const { scanner, memory } = props;
  const closeDelayMs = props.closeDelayMs ?? 1500;
  const confirmTimeoutMs = props.confirmTimeoutMs ?? 6000;
  const pollIntervalMs = props.pollIntervalMs ?? 500;

  const onCloseRef = useRef(props.onClose);
  onCloseRef.current = props.onClose;
  const closed = useRef(false);
  const close = useCallback((result: ConnectorResult) => {
    if (closed.current) return;
    closed.current = true;
    onCloseRef.current(result);
  }, []);

  const { phase } = state;
  const terminalsUrl = payload?.terminalsUrl ?? null;
  const statusUrl = payload?.statusUrl ?? null;

  // What this device remembers: its store and the terminal last used.
  useEffect(() => {
    let live = true;
    void readRemembered(memory).then((r) => {
      if (live) dispatch({ type: 'remembered', ...r });
    });
    return () => {
      live = false;
    };
  }, [memory]);
  const remember = useCallback(
    (key: string, value: string) => {
      void memory?.write(key, value).catch(() => undefined); // best effort: the flow never waits for storage
    },
    [memory],
  );

  // The store's terminals, whenever the list is (re)loading.
  useEffect(() => {
    if (terminalsUrl === null || state.list.status !== 'loading') return undefined;
    let live = true;
    void client.terminals(terminalsUrl).then((r) => {
      if (live) dispatch(r.ok ? { type: 'listLoaded', terminals: r.value.terminals } : { type: 'listFailed' });
    });
    return () => {
      live = false;
    };
  }, [client, terminalsUrl, state.list.status]);

  // POST submitUrl, once per attempt.
  const submitAttempt = phase.kind === 'submitting' ? phase.attempt : null;
  const submitSerial = phase.kind === 'submitting' ? phase.serial : null;
  useEffect(() => {
    if (payload === null || submitAttempt === null || submitSerial === null) return undefined;
    let live = true;
    void client.submit(payload.submitUrl, submitSerial).then((r) => {
      if (!live) return;
      if (r.ok) {
        dispatch({ type: 'submitAccepted', serial: submitSerial, paymentId: r.value.paymentId, state: r.value.state, watch: statusUrl !== null });
      } else {
        dispatch({ type: 'submitFailed', problem: problemOfSubmitFailure(r.error) });
      }
    });
    return () => {
      live = false;
    };
  }, [client, payload, statusUrl, submitAttempt, submitSerial]);

  // After the bind, watch the status until the terminal takes the payment (a busy one refuses it).
  const confirming = phase.kind === 'confirming';
  useEffect(() => {
    if (!confirming || statusUrl === null) return undefined;
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = setTimeout(() => dispatch({ type: 'confirmTimedOut' }), confirmTimeoutMs);
    const poll = () => {
      void client.status(statusUrl).then((r) => {
        if (!live) return;
        if (r.ok) dispatch({ type: 'statusSeen', status: r.value });
        timer = setTimeout(poll, pollIntervalMs);
      });
    };
    poll();
    return () => {
      live = false;
      clearTimeout(giveUp);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, confirming, statusUrl, confirmTimeoutMs, pollIntervalMs]);

  // Camera.
  const scanning = phase.kind === 'scanning';
  useEffect(() => {
    if (!scanning || scanner === undefined) return undefined;
    let live = true;
    const abort = new AbortController();
    scanner.scan(abort.signal).then(
      (outcome) => {
        if (!live) return;
        dispatch(outcome.kind === 'cancelled' ? { type: 'scanCancelled' } : { type: 'scanRead', serial: serialFromCode(outcome.text) });
      },
      (error: unknown) => {
        if (live) dispatch({ type: 'scanFailed', reason: scannerFailureOf(error) });
      },
    );
    return () => {
      live = false;
      abort.abort();
    };
  }, [scanning, scanner]);

  // "Sent" stays on screen a moment, then the host takes over.
  const sent = phase.kind === 'sent' ? phase : null;
  useEffect(() => {
    if (sent !== null) remember(LAST_SERIAL_KEY, sent.serial);
  }, [sent, remember]);
  useEffect(() => {
    if (sent === null) return undefined;
    const timer = setTimeout(() => close({ outcome: 'submitted', paymentId: sent.paymentId, serialNumber: sent.serial }), closeDelayMs);
    return () => clearTimeout(timer);
  }, [sent, close, closeDelayMs]);

  if (payload === null) {
    return (
      <Screen testID="connector-screen" label={t.title}>
        <Title>{t.title}</Title>
        <Notice tone="error" testID="connector-problem">
          {t.problem.invalid_payload('')}
        </Notice>
        <BigButton label={t.close} a11yLabel={t.closeA11y} onPress={() => close({ outcome: 'failed', reason: 'invalid_payload' })} testID="close" />
      </Screen>
    );
  }

  return (
    <Screen testID="connector-screen" label={t.title}>
      <Title>{t.title}</Title>
      {phase.kind === 'choosing' && (
        <ChoosingView
          t={t}
          state={state}
          canScan={scanner !== undefined}
          hasList={terminalsUrl !== null}
          onType={(text) => dispatch({ type: 'serialTyped', text })}
          onPick={(serial) => dispatch({ type: 'terminalPicked', serial })}
          onSubmit={() => dispatch({ type: 'submitRequested' })}
          onScan={() => dispatch({ type: 'scanRequested' })}
          onRefresh={() => dispatch({ type: 'listLoading' })}
          onStore={(storeId) => {
            remember(STORE_KEY, storeId);
            dispatch({ type: 'storeChosen', storeId });
          }}
          onChangeStore={() => dispatch({ type: 'storeChangeRequested' })}
          onCancel={() => close({ outcome: 'cancelled' })}
        />
      )}
      {phase.kind === 'scanning' && (
        <>
          <Busy label={t.scanning} testID="connector-scanning" />
        </>
      )}
      {phase.kind === 'submitting' && <Busy label={t.sending(phase.serial)} testID="connector-sending" />}
      {phase.kind === 'confirming' && <Busy label={t.confirming(phase.serial)} testID="connector-confirming" />}
      {phase.kind === 'sent' && (
        <>
          <Notice tone="success" testID="connector-sent">
            {`✓ ${t.sent} ${phase.serial}`}
          </Notice>
          <Body>{t.sentDetail(phase.serial)}</Body>
          <Gap />
          <BigButton
            label={t.continue}
            a11yLabel={t.continueA11y}
            onPress={() => close({ outcome: 'submitted', paymentId: phase.paymentId, serialNumber: phase.serial })}
            testID="continue"
          />
        </>
      )}
      {phase.kind === 'problem' && (
        <>
          <Notice tone="error" testID="connector-problem">
            {t.problem[phase.problem](phase.serial)}
          </Notice>
          <Gap />
          {PROBLEM_ACTIONS[phase.problem].retry && phase.serial !== '' && (
            <BigButton label={t.retry} a11yLabel={t.retryA11y(phase.serial)} onPress={() => dispatch({ type: 'retryRequested' })} testID="retry" />
          )}
          {PROBLEM_ACTIONS[phase.problem].change && (
            <BigButton
              label={t.change}
              a11yLabel={t.changeA11y}
              variant={PROBLEM_ACTIONS[phase.problem].retry ? 'secondary' : 'primary'}
              onPress={() => dispatch({ type: 'changeRequested' })}
              testID="change"
            />
          )}
          <BigButton
            label={t.close}
            a11yLabel={t.closeA11y}
            variant="secondary"
            onPress={() =>
              close(
                PROBLEM_ACTIONS[phase.problem].retry || PROBLEM_ACTIONS[phase.problem].change
                  ? { outcome: 'cancelled' }
                  : { outcome: 'failed', reason: phase.problem },
              )
            }
            testID="close"
          />
        </>
      )}
    </Screen>
  );
}

type ConnectorTexts = Messages['connector'];

function ChoosingView(props: {
  readonly t: ConnectorTexts;
  readonly state: ConnectorState;
  readonly canScan: boolean;
  readonly hasList: boolean;
  readonly onType: (text: string) => void;
  readonly onPick: (serial: string) => void;
  readonly onSubmit: () => void;
  readonly onScan: () => void;
  readonly onRefresh: () => void;
  readonly onStore: (storeId: string) => void;
  readonly onChangeStore: () => void;
  readonly onCancel: () => void;
}) {
  const { t, state } = props;
  const serial = normaliseSerial(state.serialText);
  return (
    <>
      <Body muted>{t.subtitle}</Body>
      {props.canScan && (
        <BigButton label={`▣ ${t.scan}`} a11yLabel={t.scanA11y} onPress={props.onScan} variant="secondary" testID="scan" />
      )}
      <Text style={local.label}>{t.serialLabel}</Text>
      <TextInput
        style={local.input}
        value={state.serialText}
        onChangeText={props.onType}
        onSubmitEditing={props.onSubmit}
        placeholder={t.serialPlaceholder}
        placeholderTextColor={COLORS.muted}
        autoCapitalize="characters"
        autoCorrect={false}
        autoComplete="off"
        spellCheck={false}
        returnKeyType="send"
        aria-label={t.serialLabel}
        testID="serial-input"
      />
      <BigButton
        label={serial ? `${t.send} ${serial}` : t.send}
        a11yLabel={t.sendA11y(serial)}
        onPress={props.onSubmit}
        disabled={serial === ''}
        testID="submit"
      />
      {props.hasList && (
        <TerminalListView t={t} state={state} onPick={props.onPick} onRefresh={props.onRefresh} onStore={props.onStore} onChangeStore={props.onChangeStore} />
      )}
      <Gap />
      <BigButton label={t.cancel} a11yLabel={t.cancelA11y} onPress={props.onCancel} variant="secondary" testID="cancel" />
    </>
  );
}

function TerminalListView(props: {
  readonly t: ConnectorTexts;
  readonly state: ConnectorState;
  readonly onPick: (serial: string) => void;
  readonly onRefresh: () => void;
  readonly onStore: (storeId: string) => void;
  readonly onChangeStore: () => void;
}) {
  const { t, state } = props;
  const list = state.list;
  if (list.status === 'unavailable') return null;
  const selected = normaliseSerial(state.serialText);
  const { terminals, chooseStore } = visibleTerminals(state);
  const stores = storesOf(list.terminals);
  const store = stores.find((s) => s.storeId === state.storeId);
  if (chooseStore) {
    return (
      <View style={local.list} role="list" aria-label={t.storeTitle} testID="store-list">
        <Text style={local.listTitle} role="heading">
          {t.storeTitle}
        </Text>
        {stores.map((s) => (
          <BigButton key={s.storeId} label={s.name} a11yLabel={t.storeA11y(s.name)} variant="secondary" onPress={() => props.onStore(s.storeId)} testID={`store-${s.storeId}`} />
        ))}
      </View>
    );
  }
  return (
    <View style={local.list} role="list" aria-label={t.listTitle} testID="terminal-list">
      <View style={local.listHeader}>
        <Text style={local.listTitle} role="heading">
          {t.listTitle}
        </Text>
        <Pressable
          role="button"
          aria-label={t.listRefreshA11y}
          onPress={props.onRefresh}
          disabled={list.status === 'loading'}
          style={local.refresh}
          testID="refresh-terminals"
        >
          <Text style={local.refreshText}>{`↻ ${t.listRefresh}`}</Text>
        </Pressable>
      </View>
      {list.status === 'loading' && <Body muted>{t.listLoading}</Body>}
      {list.status === 'failed' && <Notice tone="warning">{t.listFailed}</Notice>}
      {store !== undefined && (
        <View style={local.listHeader}>
          <Text style={local.rowModel} testID="store-line">
            {t.storeLine(store.name)}
          </Text>
          <Pressable role="button" aria-label={t.storeChangeA11y} onPress={props.onChangeStore} style={local.refresh} testID="change-store">
            <Text style={local.refreshText}>{t.storeChange}</Text>
          </Pressable>
        </View>
      )}
      {list.status === 'loaded' && terminals.length === 0 && <Body muted>{t.listEmpty}</Body>}
      {terminals.map((terminal) => (
        <TerminalRow
          key={terminal.serialNumber}
          t={t}
          terminal={terminal}
          selected={terminal.serialNumber.toUpperCase() === selected}
          onPick={props.onPick}
        />
      ))}
    </View>
  );
}

function TerminalRow(props: { readonly t: ConnectorTexts; readonly terminal: PosTerminal; readonly selected: boolean; readonly onPick: (s: string) => void }) {
  const { t, terminal } = props;
  const usable = terminal.online && !terminal.busy;
  const status = !terminal.online ? t.terminalOffline : terminal.busy ? t.terminalBusy : t.terminalOnline;
  const badge = !terminal.online ? local.badgeOffline : terminal.busy ? local.badgeBusy : local.badgeOnline;
  return (
    <Pressable
      role="button"
      aria-label={t.terminalA11y(terminal.serialNumber, status)}
      aria-selected={props.selected}
      aria-disabled={!usable}
      disabled={!usable}
      onPress={() => props.onPick(terminal.serialNumber)}
      style={[local.row, props.selected && local.rowSelected, !usable && local.rowUnusable]}
      testID={`terminal-${terminal.serialNumber}`}
    >
      <View style={local.rowText}>
        <Text style={local.rowSerial}>{terminal.serialNumber}</Text>
        {terminal.model !== undefined && <Text style={local.rowModel}>{terminal.model}</Text>}
      </View>
      <Text style={[local.badge, badge]}>{status}</Text>
    </Pressable>
  );
}

const local = StyleSheet.create({
  label: { fontSize: TYPE.body, fontWeight: '700', color: COLORS.text, marginTop: SPACE / 2 },
  input: {
    minHeight: TOUCH_MIN + 8,
    borderWidth: 3,
    borderColor: COLORS.border,
    borderRadius: 14,
    paddingHorizontal: SPACE,
    fontSize: TYPE.input,
    fontWeight: '700',
    letterSpacing: 2,
    color: COLORS.text,
    backgroundColor: COLORS.background,
  },
  list: { gap: SPACE * 0.75, marginTop: SPACE },
  listHeader: { flexDirection: 'row', alignItems: 'center', justifyContent: 'space-between', flexWrap: 'wrap', gap: SPACE / 2 },
  listTitle: { fontSize: TYPE.body, fontWeight: '700', color: COLORS.text },
  refresh: { minHeight: TOUCH_MIN, justifyContent: 'center', paddingHorizontal: SPACE },
  refreshText: { fontSize: TYPE.small, fontWeight: '700', color: COLORS.primary, textDecorationLine: 'underline' },
  row: {
    minHeight: TOUCH_MIN + 8,
    flexDirection: 'row',
    alignItems: 'center',
    justifyContent: 'space-between',
    borderWidth: 3,
    borderColor: COLORS.border,
    borderRadius: 14,
    paddingHorizontal: SPACE,
    paddingVertical: SPACE / 2,
    gap: SPACE,
  },
  rowSelected: { borderColor: COLORS.primary, borderWidth: 5, backgroundColor: COLORS.selected },
  rowUnusable: { borderStyle: 'dashed' },
  rowText: { flexShrink: 1 },
  rowSerial: { fontSize: TYPE.title - 4, fontWeight: '700', color: COLORS.text, letterSpacing: 1 },
  rowModel: { fontSize: TYPE.small, color: COLORS.muted },
  badge: { fontSize: TYPE.small, fontWeight: '700', paddingHorizontal: SPACE * 0.75, paddingVertical: 6, borderRadius: 10, overflow: 'hidden' },
  badgeOnline: { color: COLORS.success, backgroundColor: COLORS.successBg },
  badgeBusy: { color: COLORS.warning, backgroundColor: COLORS.warningBg },
  badgeOffline: { color: COLORS.danger, backgroundColor: COLORS.dangerBg },
});
