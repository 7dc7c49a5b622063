/**
 * QR codes for sharing: drawing one (uqr) and reading one from a picture or a camera frame (jsQR, or
 * the browser's BarcodeDetector where it exists). Whatever is read is outside input: it goes to the
 * light node's `inspect`, which accepts only a well-formed token or delegation.
 */
import { DreggError } from '@cipherclerk/core';
import jsQR from 'jsqr';
import { encode } from 'uqr';

/**
 * The most text we put in one QR: version 27 (125 x 125 modules) at error correction L holds 1 460
 * bytes. A delegation with three caveats is about 1 220 characters of text form (two did:keys, a
 * signature and an HMAC tag in base64url): at L that is version 25 (117 x 117 modules), which decodes
 * from a picture at 2 pixels per module (web/test/qr.test.ts), where M would need version 28 or more.
 * Past this limit the text is handed over another way.
 */
export const MAX_QR_TEXT = 1460;
const ECC = 'L';
const MAX_VERSION = 27;
/**
 * jsQR 1.4.0 (our reader where the browser has no BarcodeDetector) carries a wrong alignment-pattern
 * table for version 23 (74 where ISO/IEC 18004 says 78), so it reads no version-23 code at all. A
 * text that would need version 23 is drawn as version 24 instead: one size up, read everywhere.
 */
const UNREADABLE_VERSION = 23;

/**
 * The size decision: whether `text` goes in one QR that reads reliably (its UTF-8 bytes within
 * `MAX_QR_TEXT`, what byte mode at L holds); otherwise it is deposited in the recipient's inbox and
 * the QR carries a short inbox reference instead.
 */
export function fitsOneQr(text: string): boolean {
  return new TextEncoder().encode(text).length <= MAX_QR_TEXT;
}

export interface QrMatrix {
  readonly size: number;
  readonly version: number;
  /** Row-major, true for dark. Includes the quiet zone. */
  readonly dark: readonly (readonly boolean[])[];
}

export function qrMatrix(text: string): QrMatrix {
  // The same decision as `fitsOneQr`, in bytes: version 27 holds a few bytes more than MAX_QR_TEXT,
  // so checking characters here once drew texts that the size decision refuses.
  if (!fitsOneQr(text))
    throw new DreggError('E_TOO_LARGE', 'This is too long for one QR code that reads reliably');
  let qr: ReturnType<typeof encode>;
  try {
    qr = encode(text, { ecc: ECC, maxVersion: MAX_VERSION, border: 4 });
    if (qr.version === UNREADABLE_VERSION)
      qr = encode(text, { ecc: ECC, minVersion: UNREADABLE_VERSION + 1, maxVersion: MAX_VERSION, border: 4 });
  } catch (e) {
    // Characters outside ASCII take several bytes each, so a short text can still be too long.
    throw new DreggError('E_TOO_LARGE', 'This is too long for one QR code that reads reliably', { cause: e });
  }
  return { size: qr.size, version: qr.version, dark: qr.data };
}

/** One SVG path drawing every dark module as a unit square: small, and crisp at any size. */
export function qrPath(m: QrMatrix): string {
  let d = '';
  m.dark.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (dark) d += `M${x} ${y}h1v1h-1z`;
    });
  });
  return d;
}

/** Reads a QR code from RGBA pixels; `E_DECODE` when there is none. */
export function readQrPixels(data: Uint8ClampedArray, width: number, height: number): string {
  const found = jsQR(data, width, height, { inversionAttempts: 'attemptBoth' });
  if (found === null || found.data === '')
    throw new DreggError('E_DECODE', 'No QR code could be read in that picture');
  return found.data;
}

/** Reads a QR code from a picture file (PNG, JPEG, …). */
export async function readQrPicture(file: Blob): Promise<string> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (e) {
    throw new DreggError('E_DECODE', 'That file is not a picture this browser can open', { cause: e });
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  return readQrPixels(pixels.data, pixels.width, pixels.height);
}
