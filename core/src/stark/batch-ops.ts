/**
 * Constraint evaluation over batches of points: the AIR's generic `evaluateTransition` runs once per
 * batch with every value a Uint32Array of `size` field elements, so the per-call cost of the generic
 * code is paid once per batch rather than once per point, and each operation is a tight typed-array
 * loop. Used by the prover for the composition quotient and the trace check.
 */
import type { ConstraintOps } from './air.ts';
import { mul, P } from './field.ts';

export function batchOps(size: number): ConstraintOps<Uint32Array> {
  return {
    add(a, b) {
      const o = new Uint32Array(size);
      for (let i = 0; i < size; i++) {
        const s = a[i]! + b[i]!;
        o[i] = s >= P ? s - P : s;
      }
      return o;
    },
    sub(a, b) {
      const o = new Uint32Array(size);
      for (let i = 0; i < size; i++) {
        const d = a[i]! - b[i]!;
        o[i] = d < 0 ? d + P : d;
      }
      return o;
    },
    mul(a, b) {
      const o = new Uint32Array(size);
      for (let i = 0; i < size; i++) o[i] = mul(a[i]!, b[i]!);
      return o;
    },
    constant(c) {
      return new Uint32Array(size).fill(c);
    },
  };
}

/**
 * Batches of consecutive rows of `columns`: cur holds rows [start, start + size) and next rows
 * [start + step, start + step + size), cyclically (columns are padded once so both are views).
 */
export function* rowBatches(
  columns: readonly Uint32Array[],
  rows: number,
  step: number,
  size: number,
): Generator<{ start: number; cur: Uint32Array[]; next: Uint32Array[] }> {
  const padded = columns.map((c) => {
    const p = new Uint32Array(rows + step);
    p.set(c.subarray(0, rows));
    p.set(c.subarray(0, step), rows);
    return p;
  });
  for (let start = 0; start < rows; start += size) {
    yield {
      start,
      cur: padded.map((c) => c.subarray(start, start + size)),
      next: padded.map((c) => c.subarray(start + step, start + step + size)),
    };
  }
}
