/**
 * A tiny YUV4MPEG2 (.y4m) writer: one still frame, 4:2:0, full-range BT.601, from RGBA pixels placed
 * at the centre of a white frame. Chromium's fake camera (`--use-file-for-fake-video-capture`) plays
 * such a file in a loop, so a page's getUserMedia sees the picture as a camera would.
 */
export function y4mStill(
  rgba: Uint8Array,
  width: number,
  height: number,
  frame: { width: number; height: number } = { width: 640, height: 480 },
): Uint8Array {
  const W = frame.width;
  const H = frame.height;
  if (W % 2 !== 0 || H % 2 !== 0 || width > W || height > H)
    throw new RangeError('the frame must be even-sized and hold the picture');
  const left = Math.floor((W - width) / 2);
  const top = Math.floor((H - height) / 2);
  const rgbAt = (x: number, y: number): [number, number, number] => {
    const px = x - left;
    const py = y - top;
    if (px < 0 || py < 0 || px >= width || py >= height) return [255, 255, 255];
    const i = (py * width + px) * 4;
    return [rgba[i]!, rgba[i + 1]!, rgba[i + 2]!];
  };
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  const Y = new Uint8Array(W * H);
  const U = new Uint8Array((W / 2) * (H / 2));
  const V = new Uint8Array((W / 2) * (H / 2));
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const [r, g, b] = rgbAt(x, y);
      Y[y * W + x] = byte(0.299 * r + 0.587 * g + 0.114 * b);
    }
  // Chroma from the top-left pixel of each 2x2 block: the pictures here are black and white.
  for (let y = 0; y < H / 2; y++)
    for (let x = 0; x < W / 2; x++) {
      const [r, g, b] = rgbAt(2 * x, 2 * y);
      U[y * (W / 2) + x] = byte(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
      V[y * (W / 2) + x] = byte(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
    }
  const header = new TextEncoder().encode(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`);
  const out = new Uint8Array(header.length + Y.length + U.length + V.length);
  out.set(header, 0);
  out.set(Y, header.length);
  out.set(U, header.length + Y.length);
  out.set(V, header.length + Y.length + U.length);
  return out;
}
