/**
 * The bridge's gates, with a real kernel behind it: a wrong token or a foreign origin is refused at
 * the handshake with a code; an unknown or launcher-only verb, injected lines and malformed requests
 * are refused with a code; the kernel answers afterwards. An uplink invocation is checked by the
 * kernel and carried by the launcher's forward hook.
 */
import type { IncomingMessage } from 'node:http';
import { connectFirmament, type FirmamentClient, type SocketConstructor } from '@cipherclerk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ERROR_HEADER, SUBPROTOCOL } from '../src/bridge.ts';
import { type Launch, launch } from '../src/launch.ts';

let fw: Launch;
let client: FirmamentClient;
const forwarded: [string, number][] = [];
const Ws = WebSocket as unknown as SocketConstructor;

beforeAll(async () => {
  fw = await launch({
    forward: async (cell, word) => {
      forwarded.push([cell, word]);
      return { delivered: word };
    },
  });
  client = await connectFirmament(fw.bridge.url, fw.bridge.token, { WebSocket: Ws });
});
afterAll(async () => {
  client.close();
  await fw.stop();
});

/** The handshake's outcome: the status and its text when refused, or 'open'. */
function handshake(protocols: string[], origin?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(fw.bridge.url, protocols, origin === undefined ? {} : { headers: { origin } });
    ws.on('unexpected-response', (_req: unknown, res: IncomingMessage) =>
      resolve(`${res.statusCode} ${res.headers[ERROR_HEADER]}`),
    );
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
  });
}

/** Sends one raw frame on an authenticated connection and returns the answer. */
function exchange(frame: string): Promise<{ id: unknown; error?: { code: string } }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(fw.bridge.url, [SUBPROTOCOL, `token.${fw.bridge.token}`]);
    ws.on('open', () => ws.send(frame));
    ws.on('message', (data: Buffer) => {
      ws.close();
      resolve(JSON.parse(data.toString()));
    });
  });
}

describe('the bridge', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(fw.bridge.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('admits the token, with no origin or an allowed one', async () => {
    const token = `token.${fw.bridge.token}`;
    expect(await handshake([SUBPROTOCOL, token])).toBe('open');
    expect(await handshake([SUBPROTOCOL, token], 'http://127.0.0.1:4010')).toBe('open');
  });

  it('refuses a wrong or missing token with E_DENIED', async () => {
    expect(await handshake([SUBPROTOCOL, `token.${'0'.repeat(64)}`])).toBe('401 E_DENIED');
    expect(await handshake([SUBPROTOCOL])).toBe('401 E_DENIED');
    await expect(connectFirmament(fw.bridge.url, 'f'.repeat(64), { WebSocket: Ws })).rejects.toMatchObject({
      code: 'E_UNREACHABLE',
    });
  });

  it('refuses a foreign origin with E_DENIED, even with the token', async () => {
    expect(await handshake([SUBPROTOCOL, `token.${fw.bridge.token}`], 'https://evil.example')).toBe(
      '403 E_DENIED',
    );
  });

  const refusals: [string, string, string][] = [
    ['a launcher-only verb', JSON.stringify({ id: 1, verb: 'halt', args: [] }), 'E_DENIED'],
    ['an unknown verb', JSON.stringify({ id: 2, verb: 'frobnicate', args: [] }), 'E_DENIED'],
    ['an injected second line', JSON.stringify({ id: 3, verb: 'show', args: ['0\n4 halt'] }), 'E_INVALID'],
    ['a space inside an argument', JSON.stringify({ id: 4, verb: 'show', args: ['0 1'] }), 'E_INVALID'],
    ['too many arguments', JSON.stringify({ id: 5, verb: 'ping', args: Array(9).fill('1') }), 'E_INVALID'],
    ['a request without an id', JSON.stringify({ verb: 'ping', args: [] }), 'E_INVALID'],
    ['not JSON', '{"id":', 'E_DECODE'],
    ['an out-of-range slot', JSON.stringify({ id: 6, verb: 'show', args: ['9999'] }), 'E_INVALID'],
    ['a malformed line for the kernel', JSON.stringify({ id: 7, verb: 'mint', args: ['0'] }), 'E_ARGUMENT'],
  ];
  for (const [what, frame, code] of refusals) {
    it(`refuses ${what} with ${code}, and the kernel still answers`, async () => {
      expect((await exchange(frame)).error?.code).toBe(code);
      expect((await client.call('ping', [])).now).toMatch(/^\d+$/);
    });
  }

  it('refuses an oversized checkpoint blob with a code', async () => {
    const root = '0'.repeat(64);
    const frame = JSON.stringify({ id: 8, verb: 'thaw', args: [root, '00'.repeat(32769)] });
    expect((await exchange(frame)).error?.code).toBe('E_TOO_LARGE');
    expect((await client.call('ping', [])).now).toMatch(/^\d+$/);
  });

  it('forwards an uplink invocation the kernel allowed, and not one it refused', async () => {
    const up = await client.call('new', ['uplink', '2', 'main/c0ffee']);
    const reply = await client.call('invoke', [`${up.slot}:${up.gen}`, 'forward', '7']);
    expect(reply).toMatchObject({ forward: 'main/c0ffee', result: '{"delivered":7}' });
    const sendOnly = await client.call('mint', [`${up.slot}:${up.gen}`, '2', '2', '-', '0', '-']);
    await expect(
      client.call('invoke', [`${sendOnly.slot}:${sendOnly.gen}`, 'forward', '8']),
    ).rejects.toMatchObject({
      code: 'E_DENIED',
    });
    expect(forwarded).toEqual([['main/c0ffee', 7]]);
  });
});
