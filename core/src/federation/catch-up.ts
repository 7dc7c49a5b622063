/**
 * The frontier exchange, both sides (the `federation/blocks` op, core/src/net/federation.ts): a member
 * that misses blocks asks a peer for them, naming what it already has so that only the difference
 * comes back, lowest first, a bounded number at a time; it inserts them and asks again.
 *
 * What the asker names as "have" must be blocks the answerer knows, or the answerer cannot subtract
 * their past. A member's tips are not enough: after a crash its only tip is often its own latest
 * block, which it stored but never got out (a kill between the write and the publish). Named alone,
 * it excludes nothing, the answer repeats the oldest blocks the asker holds, and the asker never gets
 * past them. So the asker names the latest block it holds of every creator as well: those of the
 * other members came from the network, so the answerer has them, and their past is most of the lace.
 */
import { toHex } from '../encoding/bytes.ts';
import type { Blocklace, Node } from './blocklace.ts';

export interface CatchUpRequest {
  /** Blocks the asker lacks (ids its buffered blocks ack); none: "everything past what I have". */
  readonly want: readonly Uint8Array[];
  /** Blocks the asker has, whose past it need not be sent. */
  readonly have: readonly Uint8Array[];
}

/** What `lace` asks a peer for: at most `maxIds` of each list. */
export function blocksWanted(lace: Blocklace, maxIds: number): CatchUpRequest {
  const have = new Map<string, Node>();
  for (const key of lace.committee.keys) {
    const latest = lace.latestOf(key);
    if (latest !== undefined) have.set(latest.key, latest);
  }
  for (const t of lace.tips()) have.set(t.key, t);
  return {
    want: lace.missing().slice(0, maxIds),
    have: [...have.values()].slice(0, maxIds).map((n) => n.id),
  };
}

/**
 * The answer of `lace` to a request: the blocks `want` names (its tips when `want` is empty) with
 * their causal past, minus the past of the `have` blocks it holds, ascending by height, at most
 * `maxBlocks`. Ids it does not hold are ignored.
 */
export function blocksToSend(lace: Blocklace, request: CatchUpRequest, maxBlocks: number): Node[] {
  const held = (ids: readonly Uint8Array[]): Node[] =>
    ids.map((id) => lace.get(toHex(id))).filter((n): n is Node => n !== undefined);
  const from = request.want.length === 0 ? lace.tips() : held(request.want);
  return lace.closure(from, held(request.have)).slice(0, maxBlocks);
}
