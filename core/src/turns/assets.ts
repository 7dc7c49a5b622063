/**
 * Wrapped assets on the ledger (core/docs/effects.md, "Assets"): a cell's holding of an asset is its
 * own record, `hold:<cell>/<asset>` {amount}, beside the cell; an asset's supply is `supply:<asset>`
 * {bridgedIn, burned}. An asset enters only through a bridge mint (a federation whose genesis names
 * the asset its mints credit) and leaves only by burning; transfers and obligations move it between.
 *
 * A holding of 0 is no record at all, so the same holdings are always the same records (and the same
 * state commitment), however they came about.
 */
import { isName } from '../caps/caveats.ts';
import type { CborMap } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';
import { MAX_AMOUNT } from './effects.ts';
import type { Tx, Value } from './state.ts';

type Reads = { get(key: string): Value | undefined };

/**
 * The one rule for an asset id, on the ledger and in exchange items alike: a short name (lowercase
 * letters and digits, then up to 63 of those or `. _ : / -`), e.g. `w-avt-a`. It is never "computrons",
 * which is what an effect without `asset` moves.
 */
export function isAssetId(v: unknown): v is string {
  return isName(v) && v !== 'computrons';
}

export const holdingKey = (cell: string, asset: string): string => `hold:${cell}/${asset}`;
export const assetSupplyKey = (asset: string): string => `supply:${asset}`;

export function holdingOf(tx: Reads, cell: string, asset: string): bigint {
  const v = tx.get(holdingKey(cell, asset)) as CborMap | undefined;
  return BigInt((v?.amount as bigint | number | undefined) ?? 0);
}

function putHolding(tx: Tx, cell: string, asset: string, amount: bigint): void {
  if (amount === 0n) tx.delete(holdingKey(cell, asset));
  else tx.put(holdingKey(cell, asset), { amount });
}

export function debitAsset(tx: Tx, cell: string, asset: string, amount: bigint): void {
  const held = holdingOf(tx, cell, asset);
  if (held < amount)
    throw new DreggError(
      'E_INSUFFICIENT',
      `Cell ${cell.slice(0, 12)}… holds ${held} ${asset}, not ${amount}`,
    );
  putHolding(tx, cell, asset, held - amount);
}

export function creditAsset(tx: Tx, cell: string, asset: string, amount: bigint): void {
  const held = holdingOf(tx, cell, asset);
  if (held + amount > MAX_AMOUNT)
    throw new DreggError('E_INVALID', `Cell ${cell.slice(0, 12)}… would hold more than 2^64 - 1 ${asset}`);
  putHolding(tx, cell, asset, held + amount);
}

export interface AssetSupply {
  /** Minted here by bridge mints. */
  bridgedIn: bigint;
  burned: bigint;
}

export function assetSupplyOf(tx: Reads, asset: string): AssetSupply {
  const s = tx.get(assetSupplyKey(asset)) as CborMap | undefined;
  const n = (k: string) => BigInt((s?.[k] as number | bigint | undefined) ?? 0);
  return { bridgedIn: n('bridgedIn'), burned: n('burned') };
}

/** Changes an asset's supply record; `E_INVALID` if a counter would leave [0, 2^64). */
export function updateAssetSupply(tx: Tx, asset: string, change: (s: AssetSupply) => void): void {
  const s = assetSupplyOf(tx, asset);
  change(s);
  for (const [k, v] of Object.entries(s))
    if (v < 0n || v > MAX_AMOUNT)
      throw new DreggError('E_INVALID', `The supply counter ${k} of ${asset} would leave [0, 2^64)`);
  tx.put(assetSupplyKey(asset), { ...s });
}

/** Every asset a cell holds (a scan of the state: for views, not for the executor's hot path). */
export function holdingsOfCell(state: Iterable<[string, Value]>, cell: string): Map<string, bigint> {
  const prefix = `hold:${cell}/`;
  const out = new Map<string, bigint>();
  for (const [key, v] of state)
    if (key.startsWith(prefix)) out.set(key.slice(prefix.length), BigInt((v as CborMap).amount as bigint));
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
