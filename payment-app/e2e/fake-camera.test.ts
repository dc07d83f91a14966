/**
 * The camera test's pictures are real codes: each generated image, through the `.y4m` file's
 * luma plane Chromium's fake camera plays, decodes with @zxing/library (the decoder the web
 * scanner uses) to the text it was made from.
 */
import { BarcodeFormat, BinaryBitmap, DecodeHintType, HybridBinarizer, MultiFormatReader, PlanarYUVLuminanceSource } from '@zxing/library';
import { describe, expect, it } from 'vitest';
import { code128Image, code128Modules, qrImage, y4m, type RgbaImage } from './fake-camera.ts';

function decodeFirstFrame(image: RgbaImage): { text: string; format: BarcodeFormat } {
  const video = y4m(image, 2);
  const headerEnd = video.indexOf(0x0a) + 1;
  const header = video.subarray(0, headerEnd).toString();
  expect(header).toBe(`YUV4MPEG2 W${image.width} H${image.height} F10:1 Ip A1:1 C420jpeg\n`);
  const frameSize = 'FRAME\n'.length + (image.width * image.height * 3) / 2;
  expect(video.length).toBe(headerEnd + 2 * frameSize);
  expect(video.subarray(headerEnd, headerEnd + 6).toString()).toBe('FRAME\n');
  const yuv = new Uint8ClampedArray(video.subarray(headerEnd + 6, headerEnd + frameSize));
  const source = new PlanarYUVLuminanceSource(yuv, image.width, image.height, 0, 0, image.width, image.height, false);
  const hints = new Map<DecodeHintType, unknown>([[DecodeHintType.POSSIBLE_FORMATS, [BarcodeFormat.QR_CODE, BarcodeFormat.CODE_128]]]);
  const result = new MultiFormatReader().decode(new BinaryBitmap(new HybridBinarizer(source)), hints);
  return { text: result.getText(), format: result.getBarcodeFormat() };
}

describe('fake camera pictures', () => {
  it('a QR code video decodes to its text', () => {
    expect(decodeFirstFrame(qrImage('SIM0001'))).toEqual({ text: 'SIM0001', format: BarcodeFormat.QR_CODE });
    expect(decodeFirstFrame(qrImage('https://pos.example/t?serial=SIM0002'))).toEqual({ text: 'https://pos.example/t?serial=SIM0002', format: BarcodeFormat.QR_CODE });
  });

  it('a Code 128 video decodes to its text; the check symbol is the mod-103 weighted sum', () => {
    expect(decodeFirstFrame(code128Image('SIM0001'))).toEqual({ text: 'SIM0001', format: BarcodeFormat.CODE_128 });
    // "A" alone: start B (104) + 1 × 33 = 137, mod 103 = 34; every symbol is 11 modules, stop 13.
    expect(code128Modules('A')).toHaveLength(6 * 3 + 7);
    expect(code128Modules('A').reduce((a, b) => a + b, 0)).toBe(11 * 3 + 13);
    expect(() => code128Modules('é')).toThrow(/not in Code 128 set B/);
  });

  it('refuses odd sizes (4:2:0 needs even ones)', () => {
    expect(() => y4m(qrImage('X', 641, 480))).toThrow(/not even/);
  });
});
