/**
 * Test support for the camera test: a terminal label as an image (a QR code from the `qrcode`
 * package, or a Code 128 drawn from @zxing/library's own Code 128 pattern table), and that image
 * as a YUV4MPEG2 (`.y4m`) video, the file format Chromium's fake camera plays
 * (`--use-file-for-fake-video-capture`).
 */
import { writeFileSync } from 'node:fs';
import { Code128Reader } from '@zxing/library';
import QRCode from 'qrcode';

/** An RGBA image, 4 bytes a pixel, rows top to bottom. */
export interface RgbaImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A white `width`×`height` canvas with `draw(x, y)` marking the black pixels. */
function paint(width: number, height: number, black: (x: number, y: number) => boolean): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = black(x, y) ? 0 : 255;
      const i = (y * width + x) * 4;
      data[i] = v;
      data[i + 1] = v;
      data[i + 2] = v;
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

/** `text` as a QR code, centred on a `width`×`height` white frame (8 px modules, quiet zone included). */
export function qrImage(text: string, width = 640, height = 480): RgbaImage {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const scale = Math.floor(Math.min(width, height) / (modules.size + 8));
  const left = Math.floor((width - modules.size * scale) / 2);
  const top = Math.floor((height - modules.size * scale) / 2);
  return paint(width, height, (x, y) => {
    const col = Math.floor((x - left) / scale);
    const row = Math.floor((y - top) / scale);
    return col >= 0 && row >= 0 && col < modules.size && row < modules.size && modules.get(row, col) === 1;
  });
}

/** Bar/space module widths of `text` in Code 128 set B (start B, data, mod-103 check symbol, stop). */
export function code128Modules(text: string): number[] {
  // The decoder's own table (107 symbols; the last, stop, has 7 widths): a wrong use here fails decoding.
  const patterns = (Code128Reader as unknown as { CODE_PATTERNS: ArrayLike<number>[] }).CODE_PATTERNS;
  const START_B = 104;
  const STOP = 106;
  const values = [...text].map((ch) => {
    const code = ch.charCodeAt(0);
    if (code < 32 || code > 127) throw new Error(`code128Modules: ${JSON.stringify(ch)} is not in Code 128 set B`);
    return code - 32;
  });
  const check = values.reduce((sum, v, i) => sum + v * (i + 1), START_B) % 103;
  return [START_B, ...values, check, STOP].flatMap((symbol) => Array.from(patterns[symbol]!));
}

/** `text` as a Code 128 barcode across a `width`×`height` white frame (3 px modules, 10-module quiet zones). */
export function code128Image(text: string, width = 640, height = 480): RgbaImage {
  const widths = code128Modules(text);
  const total = widths.reduce((a, b) => a + b, 0);
  const scale = Math.floor(width / (total + 20));
  if (scale < 1) throw new Error(`code128Image: ${text} does not fit in ${width} px`);
  const bars: boolean[] = [];
  widths.forEach((w, i) => {
    for (let k = 0; k < w * scale; k++) bars.push(i % 2 === 0); // even entries are bars
  });
  const left = Math.floor((width - bars.length) / 2);
  const top = Math.floor(height * 0.2);
  const bottom = Math.floor(height * 0.8);
  return paint(width, height, (x, y) => y >= top && y < bottom && bars[x - left] === true);
}

/**
 * `image` as a YUV4MPEG2 video of `frames` identical 4:2:0 frames (`C420jpeg`: full-range BT.601,
 * chroma averaged over 2×2 blocks). Width and height must be even.
 */
export function y4m(image: RgbaImage, frames = 10, fps = 10): Buffer {
  const { width: w, height: h, data } = image;
  if (w % 2 !== 0 || h % 2 !== 0) throw new Error(`y4m: ${w}×${h} is not even`);
  const yPlane = Buffer.alloc(w * h);
  const uPlane = Buffer.alloc((w / 2) * (h / 2));
  const vPlane = Buffer.alloc((w / 2) * (h / 2));
  const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      yPlane[y * w + x] = clamp(0.299 * data[i]! + 0.587 * data[i + 1]! + 0.114 * data[i + 2]!);
    }
  }
  for (let y = 0; y < h / 2; y++) {
    for (let x = 0; x < w / 2; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
        const i = ((2 * y + dy) * w + 2 * x + dx) * 4;
        r += data[i]!;
        g += data[i + 1]!;
        b += data[i + 2]!;
      }
      r /= 4;
      g /= 4;
      b /= 4;
      uPlane[y * (w / 2) + x] = clamp(-0.168736 * r - 0.331264 * g + 0.5 * b + 128);
      vPlane[y * (w / 2) + x] = clamp(0.5 * r - 0.418688 * g - 0.081312 * b + 128);
    }
  }
  const frame = Buffer.concat([Buffer.from('FRAME\n'), yPlane, uPlane, vPlane]);
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F${fps}:1 Ip A1:1 C420jpeg\n`);
  return Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]);
}

/** Writes `image` as a `.y4m` file at `path`; returns `path`. */
export function writeFakeCameraVideo(path: string, image: RgbaImage): string {
  writeFileSync(path, y4m(image));
  return path;
}
