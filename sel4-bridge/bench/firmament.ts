/**
 * Firmament timings, one JSON line each: boot to ready (QEMU spawn to the kernel's ready line), an
 * invoke round trip through the bridge (client -> WebSocket -> serial -> kernel and back), and a
 * revoke of a subtree of 32 capabilities (the same full path). Medians.
 */
import { connectFirmament, type SocketConstructor } from '@cipherclerk/core';
import WebSocket from 'ws';
import { buildImage } from '../src/build.ts';
import { bootKernel } from '../src/kernel.ts';
import { launch } from '../src/launch.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const emit = (bench: string, samples: number[]) =>
  process.stdout.write(
    `${JSON.stringify({ bench, median_ms: Math.round(median(samples) * 1000) / 1000, n: samples.length })}\n`,
  );

const elf = buildImage({ quiet: true });
const boots: number[] = [];
for (let i = 0; i < 20; i++) {
  const k = await bootKernel({ elf });
  boots.push(k.bootMs);
  await k.halt();
}
emit('firmament_boot', boots);

const fw = await launch({ elf });
const client = await connectFirmament(fw.bridge.url, fw.bridge.token, {
  WebSocket: WebSocket as unknown as SocketConstructor,
});
const ep = await client.call('new', ['ep', '0']);
const ref = `${ep.slot}:${ep.gen}`;
const invokes: number[] = [];
for (let i = 0; i < 500; i++) {
  for (const args of [['send', '1'], ['recv']]) {
    const t = performance.now();
    await client.call('invoke', [ref, ...args]);
    invokes.push(performance.now() - t);
  }
}
emit('firmament_invoke', invokes.slice(100));

const revokes: number[] = [];
for (let i = 0; i < 30; i++) {
  const top = await client.call('mint', [ref, '1', '1ff', '-', '0', '-']);
  const topRef = `${top.slot}:${top.gen}`;
  for (let j = 0; j < 32; j++) await client.call('mint', [topRef, String(2 + (j >> 5)), '3', '-', '0', '-']);
  const t = performance.now();
  const r = await client.call('revoke', [topRef]);
  revokes.push(performance.now() - t);
  if (r.revoked !== '32') throw new Error(`revoked ${r.revoked}, expected 32`);
  await client.call('delete', [topRef]);
}
emit('firmament_revoke32', revokes);
client.close();
await fw.stop();
