/**
 * Scanning a QR code with the camera: `getUserMedia` into a <video>, then each frame read by the
 * browser's `BarcodeDetector` where it has one for QR codes, by jsQR on the frame's pixels otherwise.
 * Nothing leaves the device; the text found is outside input, like a picture's (the caller inspects it).
 */
import { DreggError } from '@cipherclerk/core';
import { readQrPixels } from './qr.ts';

/** How often a frame is read (ms): fast enough to feel immediate, light on a phone's CPU. */
const EVERY_MS = 150;

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
type DetectorClass = (new (o: {
  formats: string[];
}) => Detector) & {
  getSupportedFormats(): Promise<string[]>;
};

async function qrDetector(): Promise<Detector | undefined> {
  const Native = (globalThis as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (Native === undefined) return undefined;
  try {
    return (await Native.getSupportedFormats()).includes('qr_code')
      ? new Native({ formats: ['qr_code'] })
      : undefined;
  } catch {
    return undefined;
  }
}

/** A camera failure in words a person understands, with a stable code. */
function cameraError(e: unknown): DreggError {
  const name = e instanceof DOMException ? e.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError')
    return new DreggError(
      'E_DENIED',
      'The camera was not allowed: allow it for this page, or open a picture instead',
    );
  if (name === 'NotFoundError' || name === 'OverconstrainedError')
    return new DreggError('E_NOT_FOUND', 'No camera was found on this device; open a picture instead');
  if (name === 'NotReadableError')
    return new DreggError(
      'E_IO',
      'The camera is busy or failed to start; close other apps using it and try again',
    );
  return new DreggError('E_UNSUPPORTED', 'This browser cannot use the camera here; open a picture instead');
}

export interface Scan {
  /** Which reader is used: the browser's own or jsQR. */
  readonly reader: 'BarcodeDetector' | 'jsQR';
  stop(): void;
}

/**
 * Starts the camera in `video` and reads frames until a QR code is found (`found` gets its text and
 * the camera stops) or `stop()` is called. Rejects with `E_DENIED`, `E_NOT_FOUND`, `E_IO` or
 * `E_UNSUPPORTED` when the camera cannot start.
 */
export async function scanWithCamera(video: HTMLVideoElement, found: (text: string) => void): Promise<Scan> {
  if (!navigator.mediaDevices?.getUserMedia) throw cameraError(undefined);
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: 'environment' },
      audio: false,
    });
  } catch (e) {
    throw cameraError(e);
  }
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play().catch(() => undefined);
  const detector = await qrDetector();
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true })!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  const read = async (): Promise<string | undefined> => {
    if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || video.videoWidth === 0) return undefined;
    if (detector) return (await detector.detect(video))[0]?.rawValue || undefined;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    context.drawImage(video, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
    try {
      return readQrPixels(pixels.data, pixels.width, pixels.height);
    } catch {
      return undefined; // no QR code in this frame: keep looking
    }
  };
  const tick = async () => {
    if (stopped) return;
    const text = await read().catch(() => undefined);
    if (stopped) return;
    if (text !== undefined) {
      stop();
      found(text);
    } else {
      timer = setTimeout(tick, EVERY_MS);
    }
  };
  void tick();
  return { reader: detector ? 'BarcodeDetector' : 'jsQR', stop };
}
