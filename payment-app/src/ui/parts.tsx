/**
 * Shared building blocks of both screens, on React Native primitives only. Every pressable part
 * takes a mandatory accessibility label.
 */
import type { ReactNode } from 'react';
import { ActivityIndicator, Pressable, ScrollView, StyleSheet, Text, View } from 'react-native';
import { COLORS, SPACE, TOUCH_MIN, TYPE } from './theme.ts';

/** Scrollable page with comfortable margins, capped width on large screens. */
export function Screen(props: { readonly children: ReactNode; readonly testID: string; readonly label: string }) {
  return (
    <ScrollView style={styles.scroll} contentContainerStyle={styles.scrollContent} keyboardShouldPersistTaps="handled">
      <View style={styles.page} testID={props.testID} role="main" aria-label={props.label}>
        {props.children}
      </View>
    </ScrollView>
  );
}

/** Page title. */
export function Title(props: { readonly children: ReactNode }) {
  return (
    <Text style={styles.title} role="heading">
      {props.children}
    </Text>
  );
}

/** Body text. */
export function Body(props: { readonly children: ReactNode; readonly muted?: boolean; readonly testID?: string }) {
  return (
    <Text style={[styles.body, props.muted === true && styles.muted]} testID={props.testID}>
      {props.children}
    </Text>
  );
}

/** Visual weight of a {@link BigButton}. */
export type ButtonVariant = 'primary' | 'secondary';

/** A full-width button at least {@link TOUCH_MIN} high. */
export function BigButton(props: {
  readonly label: string;
  /** What a screen reader says; more specific than the visible label where useful. */
  readonly a11yLabel: string;
  readonly onPress: () => void;
  readonly variant?: ButtonVariant;
  readonly disabled?: boolean;
  readonly testID?: string;
}) {
  const variant = props.variant ?? 'primary';
  const disabled = props.disabled === true;
  return (
    <Pressable
      role="button"
      aria-label={props.a11yLabel}
      aria-disabled={disabled}
      disabled={disabled}
      onPress={props.onPress}
      testID={props.testID}
      style={({ pressed }) => [
        styles.button,
        variant === 'primary' ? styles.buttonPrimary : styles.buttonSecondary,
        disabled && styles.buttonDisabled,
        pressed && !disabled && styles.buttonPressed,
      ]}
    >
      <Text
        style={[
          styles.buttonText,
          variant === 'primary' ? styles.buttonTextPrimary : styles.buttonTextSecondary,
          disabled && styles.buttonTextDisabled,
        ]}
      >
        {props.label}
      </Text>
    </Pressable>
  );
}

/** Tone of a {@link Notice}. */
export type NoticeTone = 'error' | 'success' | 'warning';

/** A boxed message announced to screen readers when it appears. */
export function Notice(props: { readonly tone: NoticeTone; readonly children: ReactNode; readonly testID?: string }) {
  const tone = NOTICE_TONES[props.tone];
  return (
    <View
      role={props.tone === 'error' ? 'alert' : 'summary'}
      aria-live={props.tone === 'error' ? 'assertive' : 'polite'}
      testID={props.testID}
      style={[styles.notice, { backgroundColor: tone.bg, borderColor: tone.fg }]}
    >
      <Text style={[styles.noticeText, { color: tone.fg }]}>{props.children}</Text>
    </View>
  );
}

const NOTICE_TONES: Record<NoticeTone, { fg: string; bg: string }> = {
  error: { fg: COLORS.danger, bg: COLORS.dangerBg },
  success: { fg: COLORS.success, bg: COLORS.successBg },
  warning: { fg: COLORS.warning, bg: COLORS.warningBg },
};

/** Spinner with a large caption, for "sending…" moments. */
export function Busy(props: { readonly label: string; readonly testID?: string }) {
  return (
    <View style={styles.busy} aria-busy role="progressbar" aria-label={props.label} testID={props.testID}>
      <ActivityIndicator size="large" color={COLORS.primary} />
      <Text style={styles.busyText}>{props.label}</Text>
    </View>
  );
}

/** Vertical gap. */
export function Gap(props: { readonly size?: number }) {
  return <View style={{ height: (props.size ?? 1) * SPACE }} />;
}

/** Shared styles, exported for the screens' own parts. */
export const styles = StyleSheet.create({
  scroll: { flex: 1, backgroundColor: COLORS.background },
  scrollContent: { flexGrow: 1, alignItems: 'center' },
  page: { width: '100%', maxWidth: 760, padding: SPACE * 1.5, gap: SPACE },
  title: { fontSize: TYPE.title, lineHeight: TYPE.title * 1.2, fontWeight: '700', color: COLORS.text },
  body: { fontSize: TYPE.body, lineHeight: TYPE.body * 1.35, color: COLORS.text },
  muted: { color: COLORS.muted },
  button: {
    minHeight: TOUCH_MIN,
    borderRadius: 14,
    borderWidth: 3,
    paddingHorizontal: SPACE * 1.5,
    paddingVertical: SPACE * 0.75,
    alignItems: 'center',
    justifyContent: 'center',
  },
  buttonPrimary: { backgroundColor: COLORS.primary, borderColor: COLORS.primary },
  buttonSecondary: { backgroundColor: COLORS.background, borderColor: COLORS.primary },
  buttonDisabled: { backgroundColor: COLORS.disabledBg, borderColor: COLORS.disabledBg },
  buttonPressed: { opacity: 0.8 },
  buttonText: { fontSize: TYPE.button, fontWeight: '700', textAlign: 'center' },
  buttonTextPrimary: { color: COLORS.onPrimary },
  buttonTextSecondary: { color: COLORS.primary },
  buttonTextDisabled: { color: COLORS.disabledText },
  notice: { borderWidth: 3, borderRadius: 14, padding: SPACE },
  noticeText: { fontSize: TYPE.body, lineHeight: TYPE.body * 1.35, fontWeight: '600' },
  busy: { alignItems: 'center', gap: SPACE, paddingVertical: SPACE * 2 },
  busyText: { fontSize: TYPE.title, lineHeight: TYPE.title * 1.25, fontWeight: '700', color: COLORS.text, textAlign: 'center' },
});
