/**
 * The web hosts' {@link TerminalScanner}: the device camera (`getUserMedia`, back camera
 * preferred) decoded by `@zxing/browser`'s BrowserMultiFormatReader, limited to the two codes a
 * terminal label carries (QR code and Code 128). While it scans it lays a full-screen panel over
 * the page: the camera picture, the hint and one large *Stop scanning* button. It resolves with
 * the first code read (the screen then takes the serial out of it and validates it like a typed
 * one: ../src/host/scanner.ts `serialFromCode`), `cancelled` when the clerk stops it or the screen
 * aborts, and rejects with a {@link ScannerError}: `no-camera` (no media devices, e.g. a page not
 * served over HTTPS, or no camera), `permission-denied` (the clerk, the browser or the embedding
 * page's `allow="camera"` refused it), `failed` (anything else, e.g. the camera is in use).
 * Web only (DOM). @see ../README.md "Web host"
 */
import { BrowserMultiFormatReader, type IScannerControls } from '@zxing/browser';
import { BarcodeFormat, DecodeHintType } from '@zxing/library';
import { ScannerError, type ScanOutcome, type TerminalScanner } from '../src/host/scanner.ts';
import { messagesFor } from '../src/i18n/index.ts';
import { COLORS, TOUCH_MIN, TYPE } from '../src/ui/theme.ts';

/** Texts of the scanning panel, in the clerk's language. */
export interface CameraScannerLabels {
  readonly hint: string;
  readonly cancel: string;
  readonly cancelA11y: string;
}

/** Options of {@link webCameraScanner}. */
export interface WebCameraScannerOptions {
  readonly labels: CameraScannerLabels;
  /** Where the panel goes; default `document.body`. */
  readonly parent?: HTMLElement | undefined;
}

/** The camera error of `getUserMedia` as a {@link ScannerError} (names from the Media Capture spec). */
export function cameraErrorOf(error: unknown): ScannerError {
  const name = error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error) ? String((error as { name: unknown }).name) : '';
  const detail = error instanceof Error ? error.message : String(error);
  if (name === 'NotAllowedError' || name === 'SecurityError') return new ScannerError('permission-denied', `camera permission denied: ${detail}`);
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return new ScannerError('no-camera', `no camera: ${detail}`);
  return new ScannerError('failed', `camera failed: ${detail}`);
}

/** A scanner over the browser's camera; see the module docs for what it resolves and rejects with. */
export function webCameraScanner(options: WebCameraScannerOptions): TerminalScanner {
  return {
    async scan(signal?: AbortSignal): Promise<ScanOutcome> {
      if (typeof navigator === 'undefined' || typeof navigator.mediaDevices?.getUserMedia !== 'function') {
        throw new ScannerError('no-camera', 'no camera: this page has no media devices (not HTTPS, or no camera support)');
      }
      if (signal?.aborted === true) return { kind: 'cancelled' };
      const panel = scanPanel(options.labels);
      (options.parent ?? document.body).append(panel.root);
      const hints = new Map<DecodeHintType, unknown>([[DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.QR_CODE, BarcodeFormat.CODE_128]]]);
      const reader = new BrowserMultiFormatReader(hints, { delayBetweenScanAttempts: 150 });
      let controls: IScannerControls | null = null;
      let settle: ((outcome: ScanOutcome) => void) | null = null;
      const finished = new Promise<ScanOutcome>((resolve) => (settle = resolve));
      const finish = (outcome: ScanOutcome) => {
        const s = settle;
        settle = null;
        s?.(outcome);
      };
      const onAbort = () => finish({ kind: 'cancelled' });
      signal?.addEventListener('abort', onAbort);
      panel.cancel.addEventListener('click', onAbort);
      try {
        controls = await reader.decodeFromConstraints({ video: { facingMode: { ideal: 'environment' } }, audio: false }, panel.video, (result) => {
          const text = result?.getText();
          if (text !== undefined && text !== '') finish({ kind: 'code', text });
        });
        if (settle === null) controls.stop(); // aborted while the camera was starting
        return await finished;
      } catch (error) {
        throw cameraErrorOf(error);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        controls?.stop();
        panel.root.remove();
      }
    },
  };
}

/** {@link webCameraScanner} with the panel's texts in `locale`'s language (the app's language choice). */
export function webCameraScannerFor(locale: string | undefined): TerminalScanner {
  const t = messagesFor(locale).connector;
  return webCameraScanner({ labels: { hint: t.scanning, cancel: t.scanCancel, cancelA11y: t.scanCancelA11y } });
}

/** The full-screen panel: camera picture, hint, Stop button (sizes and colours of ../src/ui/theme.ts). */
function scanPanel(labels: CameraScannerLabels): { root: HTMLElement; video: HTMLVideoElement; cancel: HTMLButtonElement } {
  const root = document.createElement('div');
  root.setAttribute('role', 'dialog');
  root.setAttribute('aria-label', labels.hint);
  root.dataset['testid'] = 'camera-scanner';
  Object.assign(root.style, {
    position: 'fixed',
    inset: '0',
    zIndex: '2147483647',
    display: 'flex',
    flexDirection: 'column',
    alignItems: 'stretch',
    gap: '16px',
    padding: '16px',
    background: COLORS.text,
    color: COLORS.background,
    fontFamily: 'system-ui, sans-serif',
  });
  const hint = document.createElement('p');
  hint.textContent = labels.hint;
  Object.assign(hint.style, { margin: '0', fontSize: `${TYPE.body}px`, fontWeight: '700', textAlign: 'center' });
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.setAttribute('aria-hidden', 'true');
  video.dataset['testid'] = 'camera-preview';
  Object.assign(video.style, { flex: '1', minHeight: '0', width: '100%', objectFit: 'contain', background: '#000' });
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.textContent = labels.cancel;
  cancel.setAttribute('aria-label', labels.cancelA11y);
  cancel.dataset['testid'] = 'camera-cancel';
  Object.assign(cancel.style, {
    minHeight: `${TOUCH_MIN}px`,
    fontSize: `${TYPE.body}px`,
    fontWeight: '700',
    borderRadius: '14px',
    border: `3px solid ${COLORS.background}`,
    background: COLORS.background,
    color: COLORS.text,
    cursor: 'pointer',
  });
  root.append(hint, video, cancel);
  return { root, video, cancel };
}
