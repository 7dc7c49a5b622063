/**
 * intents_solve_10k: the ring solver over 10,000 open intents in one zone, finding every ring of up to
 * 4 intents and choosing the disjoint preferred ones (`npm run bench -w core -- intents`). The market
 * is generated from a fixed seed: 1,500 assets, 100 services, capabilities over 40 services and
 * storage; each intent offers 1-3 items and wants 1-2 (a third of them accept a partial fill).
 * One core: the solver is synchronous, this process runs nothing else meanwhile.
 */
import type { Caveat } from '../src/caps/caveats.ts';
import type { OpenIntent } from '../src/intents/intent.ts';
import type { ExchangeItem } from '../src/intents/items.ts';
import { chooseRings, findRings } from '../src/intents/solver.ts';
import { emit, medianMs } from './measure.ts';

/** A small deterministic PRNG (mulberry32), so every run solves the same market. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const ACTIONS = ['read', 'write', 'list', 'delete'];

export function market(count: number, seed = 1): OpenIntent[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const item = (): ExchangeItem => {
    const r = rnd();
    if (r < 0.7) return { kind: 'asset', asset: `a${int(1500)}`, amount: BigInt(1 + int(100)) };
    if (r < 0.85) return { kind: 'service', service: `s${int(100)}`, units: 1 + int(20) };
    if (r < 0.97) {
      const caveats: Caveat[] = [
        { t: 'services', services: [`svc${int(40)}`] },
        { t: 'actions', actions: ACTIONS.filter(() => rnd() < 0.5).sort() },
      ];
      return { kind: 'capability', caveats };
    }
    return { kind: 'storage', bytes: 2 ** (10 + int(20)), seconds: 3600 * (1 + int(48)) };
  };
  const id = (i: number) => i.toString(16).padStart(64, '0');
  return Array.from({ length: count }, (_, i) => {
    const offers = Array.from({ length: 1 + int(3) }, item);
    const wants = Array.from({ length: 1 + int(2) }, item);
    return {
      id: id(i),
      intent: {
        zone: 'market',
        offers,
        wants,
        accept: rnd() < 1 / 3 ? 1 : wants.length,
        expires: 2_000_000_000,
        by: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
        nonce: id(i).slice(0, 32),
        signature: new Uint8Array(64),
      },
    };
  });
}

export async function intentBenches(): Promise<void> {
  const pool = market(10_000);
  let found = findRings(pool, { now: 1_800_000_000, maxLength: 4 });
  let chosen = chooseRings(found.rings);
  const median_ms = await medianMs(() => {
    found = findRings(pool, { now: 1_800_000_000, maxLength: 4 });
    chosen = chooseRings(found.rings);
  }, 7);
  emit('intents_solve_10k', {
    median_ms,
    intents: pool.length,
    edges: found.edges,
    rings: found.rings.length,
    chosen: chosen.length,
    truncated: String(found.truncated),
  });
}
