/**
 * Arm's-length design tokens: large type, high contrast (every text/background pair ≥ 7:1,
 * WCAG AAA), touch targets ≥ 72 points high.
 */
export const COLORS = {
  background: '#FFFFFF',
  text: '#111111',
  muted: '#333333',
  border: '#1F1F1F',
  primary: '#0B3D91',
  onPrimary: '#FFFFFF',
  selected: '#E3ECFA',
  success: '#0A5C27',
  successBg: '#E6F4EA',
  danger: '#9B0019',
  dangerBg: '#FDECEE',
  warning: '#4D3200',
  warningBg: '#FFF1CC',
  disabledBg: '#D6D6D6',
  disabledText: '#333333',
} as const;

/** Font sizes in points. */
export const TYPE = {
  hero: 56,
  title: 36,
  body: 26,
  input: 36,
  button: 28,
  small: 22,
} as const;

/** Smallest height of anything pressable. */
export const TOUCH_MIN = 72;

/** Spacing unit. */
export const SPACE = 16;
