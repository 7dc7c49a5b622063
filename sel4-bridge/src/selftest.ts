/**
 * `dregg firmament selftest`: boots a firmament and drives it through the bridge the way a client
 * would (the router, the firmament backing, the WebSocket client), checking that each verb behaves:
 * mint, invoke, widening-refused, revoke-subtree, checkpoint, thaw, forged-thaw-refused.
 */
import { createHash } from 'node:crypto';
import {
  connectFirmament,
  createRouter,
  type FirmamentClient,
  firmamentBacking,
  type Handle,
  isDreggError,
  type SocketConstructor,
} from '@cipherclerk/core';
import WebSocket from 'ws';
import { launch } from './launch.ts';

export interface Step {
  readonly step: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Bytes of one capability record at the end of a checkpoint (see docs/firmament.md). */
const CAP_RECORD = 46;
const RIGHTS_AT = 10;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
}

export async function selftest(): Promise<{ ok: boolean; bootMs: number; steps: Step[] }> {
  const fw = await launch();
  let client: FirmamentClient | undefined;
  const steps: Step[] = [];
  const check = (step: string, ok: boolean, detail: string) => steps.push({ step, ok, detail });
  try {
    client = await connectFirmament(fw.bridge.url, fw.bridge.token, {
      WebSocket: WebSocket as unknown as SocketConstructor,
    });
    const conn = client;
    const backing = firmamentBacking(conn);
    const router = createRouter({ now: () => Math.floor(Date.now() / 1000) });
    router.register(backing);
    const exp = Math.floor(Date.now() / 1000) + 3600;

    const ep = await backing.create('ep', 0);
    const held = await router.attenuateAndGrant(
      ep,
      [
        { t: 'actions', actions: ['grant', 'recv', 'send'] },
        { t: 'exp', at: exp },
      ],
      'cnode/1',
    );
    const shown = await router.resolve(held);
    check('mint', shown.summary.rights === '7' && shown.summary.parent === 0, `child at ${shown.held}`);

    await router.invoke(held, { action: 'send', args: { word: 42 } });
    const got = (await router.invoke(held, { action: 'recv' })) as { word?: number };
    check('invoke', got.word === 42, `sent 42, received ${got.word}`);

    const routerCode = await codeOf(
      router.attenuateAndGrant(held, [{ t: 'actions', actions: ['grant', 'send', 'signal'] }], 'cnode/2'),
    );
    const kernelCode = await codeOf(conn.call('mint', [backing.slotOf(held)!, '2', '1ff', '-', '0', '-']));
    check(
      'widening-refused',
      routerCode === 'E_WIDENING' && kernelCode === 'E_WIDENING',
      `router ${routerCode}, kernel ${kernelCode}`,
    );

    let parent: Handle = held;
    const chain: Handle[] = [];
    for (const actions of [['grant', 'send'], ['grant', 'send'], ['send']]) {
      parent = await router.attenuateAndGrant(parent, [{ t: 'actions', actions }], 'cnode/3');
      chain.push(parent);
    }
    const revoked = await conn.call('revoke', [backing.slotOf(held)!]);
    const after = await Promise.all(
      chain.map((h) => codeOf(router.invoke(h, { action: 'send', args: { word: 1 } }))),
    );
    const stillHeld = await codeOf(router.invoke(held, { action: 'send', args: { word: 1 } }));
    check(
      'revoke-subtree',
      revoked.revoked === '3' && after.every((c) => c === 'E_REVOKED') && stillHeld === 'ok',
      `revoked ${revoked.revoked}; descendants ${after.join(',')}; the revoked capability itself ${stillHeld}`,
    );

    // The last capability record of the checkpoint is the highest slot: make it a derived one.
    await router.attenuateAndGrant(held, [{ t: 'actions', actions: ['send'] }], 'cnode/7');
    const ck = await conn.call('ckpt', []);
    const root = ck.root!;
    const blob = Buffer.from(ck.blob!, 'hex');
    const recomputed = createHash('sha256').update(blob).digest('hex');
    check('checkpoint', recomputed === root, `${blob.length} bytes, root ${root.slice(0, 16)}…`);

    await conn.call('invoke', [backing.slotOf(held)!, 'send', '7']);
    await conn.call('thaw', [root, ck.blob!]);
    const again = await conn.call('ckpt', []);
    check('thaw', again.root === root, 'the thawed state has the trusted root again');

    const widened = Buffer.from(blob);
    widened.writeUInt32LE(0x1ff, blob.length - CAP_RECORD + RIGHTS_AT);
    const tampered = await codeOf(conn.call('thaw', [root, widened.toString('hex')]));
    const ownRoot = createHash('sha256').update(widened).digest('hex');
    const selfConsistent = await codeOf(conn.call('thaw', [ownRoot, widened.toString('hex')]));
    const unchanged = (await conn.call('ckpt', [])).root === root;
    check(
      'forged-thaw-refused',
      tampered === 'E_UNTRUSTED' && selfConsistent === 'E_WIDENING' && unchanged,
      `under the trusted root ${tampered}; under its own root ${selfConsistent}; state unchanged ${unchanged}`,
    );
  } catch (e) {
    check('error', false, isDreggError(e) ? `${e.code}: ${e.message}` : String(e));
  } finally {
    client?.close();
    await fw.stop();
  }
  const names = [
    'mint',
    'invoke',
    'widening-refused',
    'revoke-subtree',
    'checkpoint',
    'thaw',
    'forged-thaw-refused',
  ];
  const ok = names.every((n) => steps.some((s) => s.step === n && s.ok)) && steps.every((s) => s.ok);
  return { ok, bootMs: fw.kernel.bootMs, steps };
}
