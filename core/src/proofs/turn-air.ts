/**
 * The turn AIR: one cell's state transition under a turn, with both state commitments and the
 * nullifier hashed inside the AIR by the Poseidon2 gadget (PITFALLS 15).
 *
 * Rows. Each active row runs one permutation (141 gadget columns) on `s + block` (the rate gets the
 * block). The old and the new state are hashed by two sponges that take turns: even rows absorb a
 * block of the old state, odd rows the matching block of the new one, and `carry` holds the other
 * sponge's state meanwhile, so the old and new versions of each block sit on adjacent rows where a
 * transition constraint can compare them:
 *
 *   0, 1        header (nonce, balance limbs, salt), old then new
 *   2, 3        rest digest, old then new (must be equal)
 *   4 + 4k ..   field step k of F: old key, new key, old value, new value. The steps walk the union
 *               of the old and new keys in digest order; a side where the key is absent does not
 *               absorb (its sponge state passes through). Absent steps pad the walk to F.
 *   S-2, S-1    the padding block [1, 0...] of each sponge: out(S-2) is the old commitment, out(S-1)
 *               the new one                                                       (S = 6 + 4F)
 *   S, S+1      the nullifier sponge: the old commitment, then [salt, 1, 0...]; out(S+1) is the nullifier
 *   S+2 ..      blinding rows: random in every column but the selectors, no constraint reaches them
 *
 * Selectors (which rule applies where) come from step and phase columns that the constraints fix (the
 * engine has no periodic columns). Every constraint is multiplied by its selector (degree 7 + 1 = 8).
 *
 * What the constraints prove, given the old commitment (public) opens to a state:
 *   - nonce' = nonce + 1 + inc, inc in {0, 1} (the executor's increment, plus an IncrementNonce);
 *   - balance' = balance - amount with balance', amount and balance in [0, 2^64) (16-bit limbs, each
 *     range checked by 16 bit columns as it rotates past column R_0), so amount <= balance;
 *   - rest' = rest; every field step not marked written is unchanged (present on both sides with equal
 *     key and value, or absent on both); at most one step is written (a counter), and there the key is
 *     K on each side it is present, the new value is V if the write sets and the key is absent if it
 *     deletes;
 *   - the public commitments and nullifier are the sponge outputs.
 * Not proved here: that keys are sorted and distinct in the new list (the prover could insert a second
 * K beside an old one; the executor's canonical state never does), and that (K, V, amount, inc) are
 * the effects of the signed turn (its hash is a public input, bound by Fiat-Shamir, not opened).
 */

import type { Air, BoundaryConstraint, ConstraintOps } from '../stark/air.ts';
import { P } from '../stark/field.ts';
import { STARK_PARAMS, zkBlindingRows } from '../stark/params.ts';
import {
  fillPoseidon2,
  POSEIDON2_CONSTRAINT_DEGREE,
  poseidon2Constraints,
  poseidon2Layout,
} from '../stark/poseidon2/gadget.ts';
import { DIGEST_ELEMENTS, domainIv, RATE } from '../stark/poseidon2/sponge.ts';
import { cryptoRandomElements, type RandomElements } from '../stark/random.ts';
import {
  BALANCE_LIMBS,
  balanceLimbs,
  headerBlock,
  LIMB_BITS,
  type ProvedState,
  SALT_ELEMENTS,
} from './state.ts';

const T = 16;
/**
 * Rows of randomness after the active rows: the verifier sees 66 linear functionals of each column
 * (`zkBlindingRows`: z and z w, 4 coordinates each, and the trace at each queried x and at x w,
 * through the quotient), so at least 66 random values per column; 68 keeps the field steps a whole
 * number (core/docs/stark.md, "Zero knowledge").
 */
export const BLINDING_ROWS = 4 * Math.ceil(zkBlindingRows(STARK_PARAMS) / 4);
/** Active rows outside the field steps: header, rest, padding and nullifier pairs. */
const FIXED_ROWS = 8;
export const MIN_LOG_ROWS = 7;
export const MAX_LOG_ROWS = 9;

/**
 * Selectors come from 13 columns that the constraints themselves fix, so that the verifier checks 22
 * boundaries rather than one per selector per row: 9 step columns u_k (1 on rows < k, 0 from k on:
 * boolean, never rising, pinned at rows k - 1 and k) for the edges k of the layout, and a one-hot
 * phase of period 4 (rotating one place per row, pinned at row 0). A one-row selector is a difference
 * of two steps; the field-step selectors are a window times a phase.
 */
const STEP_EDGES = 9;
const PHASES = 4;
const SELECTOR_COLUMNS = STEP_EDGES + PHASES;
type Selector =
  | 'act'
  | 'link'
  | 'hdr'
  | 'rest'
  | 'cmpKey'
  | 'cmpVal'
  | 'fNew'
  | 'stepLink'
  | 'stepStart'
  | 'pad'
  | 'alt'
  | 'nullA'
  | 'nullB'
  | 'seq';
const ROTATION = 3 * BALANCE_LIMBS;

/** Column indices, in order. */
const C = (() => {
  let at = 0;
  const take = (k: number) => {
    const first = at;
    at += k;
    return first;
  };
  return {
    step: take(STEP_EDGES),
    phase: take(PHASES),
    s: take(T),
    carry: take(T),
    block: take(RATE),
    gadget: take(poseidon2Layout().columns),
    key: take(DIGEST_ELEMENTS),
    value: take(DIGEST_ELEMENTS),
    inOld: take(1),
    inNew: take(1),
    written: take(1),
    isSet: take(1),
    hasWrite: take(1),
    inc: take(1),
    oldSalt: take(SALT_ELEMENTS),
    count: take(1),
    /** new balance limbs, amount limbs, old balance limbs; rotating left one place per row. */
    rot: take(ROTATION),
    bits: take(LIMB_BITS),
    borrow: take(BALANCE_LIMBS - 1),
    width: at,
  };
})();

export const TURN_AIR_WIDTH = C.width;
/** Column offsets (for tests that tamper with a trace). */
export const TURN_COLUMNS = C;

/** Field steps a trace of 2^logRows rows has room for. */
export function fieldSteps(logRows: number): number {
  return (2 ** logRows - BLINDING_ROWS - FIXED_ROWS) / 4;
}

interface Layout {
  readonly n: number;
  readonly steps: number;
  /** First padding row. */
  readonly pad: number;
  /** Active rows. */
  readonly active: number;
}

function layoutOf(logRows: number): Layout {
  const steps = fieldSteps(logRows);
  const pad = 4 + 4 * steps;
  return { n: 2 ** logRows, steps, pad, active: pad + 4 };
}

/** The rows where the step columns fall from 1 to 0. */
function edges(l: Layout): number[] {
  return [1, 2, 3, 4, l.pad, l.pad + 1, l.pad + 2, l.pad + 3, l.pad + 4];
}

/** The selectors of a row as expressions in its step and phase columns (degree <= 2). */
function selectors<F>(ops: ConstraintOps<F>, row: readonly F[]): Record<Selector, F> {
  const { add, sub, mul } = ops;
  const u = (i: number) => row[C.step + i]!;
  const ph = (i: number) => row[C.phase + i]!;
  const steps = sub(u(4), u(3));
  return {
    hdr: u(0),
    rest: sub(u(2), u(1)),
    cmpKey: mul(steps, ph(0)),
    cmpVal: mul(steps, ph(2)),
    fNew: mul(steps, add(ph(1), ph(3))),
    stepLink: mul(steps, sub(ops.constant(1), ph(3))),
    stepStart: mul(steps, ph(0)),
    pad: sub(u(6), u(4)),
    alt: u(5),
    nullA: sub(u(6), u(5)),
    seq: sub(u(7), u(6)),
    nullB: sub(u(8), u(7)),
    link: u(7),
    act: u(8),
  };
}

/** Public inputs: old commitment (8), new commitment (8), turn hash (16 limbs of 16 bits), nullifier (8). */
export const TURN_PUBLIC_INPUTS = 2 * DIGEST_ELEMENTS + 16 + DIGEST_ELEMENTS;

export function turnAir(logRows: number): Air {
  if (!Number.isInteger(logRows) || logRows < MIN_LOG_ROWS || logRows > MAX_LOG_ROWS)
    throw new RangeError(`a turn trace has 2^${MIN_LOG_ROWS}..2^${MAX_LOG_ROWS} rows`);
  const l = layoutOf(logRows);
  const gadget = poseidon2Layout();
  const out = C.gadget + gadget.output;
  return {
    id: `cipherclerk/turn/v1/2^${logRows}`,
    width: C.width,
    logTraceLength: logRows,
    zk: true,
    constraintDegree: POSEIDON2_CONSTRAINT_DEGREE + 1,
    numTransitionConstraints: countConstraints(),
    numPublicInputs: TURN_PUBLIC_INPUTS,
    evaluateTransition(ops, cur, next, o) {
      turnConstraints(ops, cur, next, o, out);
    },
    boundaries(pub) {
      const b: BoundaryConstraint[] = [];
      edges(l).forEach((k, i) => {
        b.push({ column: C.step + i, row: k - 1, value: 1 }, { column: C.step + i, row: k, value: 0 });
      });
      for (let i = 0; i < PHASES; i++) b.push({ column: C.phase + i, row: 0, value: i === 0 ? 1 : 0 });
      const pin = (column: number, row: number, values: ArrayLike<number>) => {
        for (let j = 0; j < values.length; j++) b.push({ column: column + j, row, value: values[j]! });
      };
      const start = (domain: 'cellState' | 'nullifier') => [...new Array(RATE).fill(0), ...domainIv(domain)];
      pin(C.s, 0, start('cellState'));
      pin(C.carry, 0, start('cellState'));
      pin(C.s, l.pad + 2, start('nullifier'));
      pin(C.count, 0, [0]);
      pin(out, l.pad, pub.slice(0, 8));
      pin(out, l.pad + 1, pub.slice(8, 16));
      pin(out, l.pad + 3, pub.slice(32, 40));
      return b;
    },
  };
}

let constraintCount: number | undefined;
function countConstraints(): number {
  if (constraintCount === undefined) {
    const counting: ConstraintOps<number> = {
      add: () => 0,
      sub: () => 0,
      mul: () => 0,
      constant: () => 0,
    };
    const o: number[] = [];
    const row = new Array<number>(C.width).fill(0);
    turnConstraints(counting, row, row, o, C.gadget + poseidon2Layout().output);
    constraintCount = o.length;
  }
  return constraintCount;
}

function turnConstraints<F>(
  ops: ConstraintOps<F>,
  cur: readonly F[],
  next: readonly F[],
  o: F[],
  out: number,
): void {
  const { add, sub, mul } = ops;
  const one = ops.constant(1);
  let k = 0;
  const emit = (sel: F, v: F) => {
    o[k++] = mul(sel, v);
  };
  const boolean = (x: F) => mul(x, sub(one, x));

  // The selector columns, on every row: steps boolean and never rising, the phase rotating.
  for (let i = 0; i < STEP_EDGES; i++) {
    o[k++] = boolean(cur[C.step + i]!);
    o[k++] = mul(next[C.step + i]!, sub(one, cur[C.step + i]!));
  }
  for (let i = 0; i < PHASES; i++) o[k++] = sub(next[C.phase + ((i + 1) % PHASES)]!, cur[C.phase + i]!);
  const selected = selectors(ops, cur);
  const sel = (s: Selector) => selected[s];

  // The permutation of this row's sponge input, where the row is active.
  const input = Array.from({ length: T }, (_, j) =>
    j < RATE ? add(cur[C.s + j]!, cur[C.block + j]!) : cur[C.s + j]!,
  );
  const gadget: F[] = [];
  poseidon2Constraints(ops, input, cur, C.gadget, gadget, 0);
  for (const g of gadget) emit(sel('act'), g);

  // Sponge plumbing. Whether this row's sponge absorbs: always, except on a field row whose side of
  // the step is absent (then its state passes through unchanged). A step's old rows are the two
  // compared ones (key and value), its new rows the two after them.
  const cmp = add(sel('cmpKey'), sel('cmpVal'));
  const absorb = add(
    sub(sub(one, cmp), sel('fNew')),
    add(mul(cmp, cur[C.inOld]!), mul(sel('fNew'), cur[C.inNew]!)),
  );
  for (let j = 0; j < T; j++) {
    const s = cur[C.s + j]!;
    const res = cur[out + j]!;
    emit(sel('alt'), sub(next[C.s + j]!, cur[C.carry + j]!));
    emit(sel('alt'), sub(next[C.carry + j]!, add(mul(absorb, res), mul(sub(one, absorb), s))));
    emit(sel('seq'), sub(next[C.s + j]!, res));
  }
  const saltBlock = (j: number): F =>
    j < SALT_ELEMENTS ? cur[C.oldSalt + j]! : ops.constant(j === SALT_ELEMENTS ? 1 : 0);
  for (let j = 0; j < RATE; j++) {
    emit(sel('nullA'), sub(next[C.block + j]!, cur[C.carry + j]!));
    emit(sel('nullB'), sub(cur[C.block + j]!, saltBlock(j)));
    emit(sel('pad'), sub(cur[C.block + j]!, ops.constant(j === 0 ? 1 : 0)));
    emit(sel('rest'), sub(next[C.block + j]!, cur[C.block + j]!));
  }

  // Header (row 0 old, row 1 new): nonce, salt, balance = amount + new balance with borrows.
  const hdr = sel('hdr');
  const inc = cur[C.inc]!;
  emit(hdr, sub(next[C.block]!, add(add(cur[C.block]!, one), inc)));
  for (let j = 0; j < SALT_ELEMENTS; j++)
    emit(hdr, sub(cur[C.oldSalt + j]!, cur[C.block + 1 + BALANCE_LIMBS + j]!));
  const radix = ops.constant(2 ** LIMB_BITS);
  for (let i = 0; i < BALANCE_LIMBS; i++) {
    const old = cur[C.block + 1 + i]!;
    const newLimb = cur[C.rot + i]!;
    const amount = cur[C.rot + BALANCE_LIMBS + i]!;
    const borrowOut = i < BALANCE_LIMBS - 1 ? mul(cur[C.borrow + i]!, radix) : zero(ops);
    const borrowIn = i > 0 ? cur[C.borrow + i - 1]! : zero(ops);
    emit(hdr, sub(add(old, borrowOut), add(add(amount, newLimb), borrowIn)));
    emit(hdr, sub(next[C.block + 1 + i]!, newLimb));
    emit(hdr, sub(old, cur[C.rot + 2 * BALANCE_LIMBS + i]!));
  }

  // Field steps, compared on the old row against the new row that follows it.
  const w = cur[C.written]!;
  const inOld = cur[C.inOld]!;
  const inNew = cur[C.inNew]!;
  const notW = sub(one, w);
  emit(sel('cmpKey'), mul(notW, sub(inOld, inNew)));
  emit(sel('cmpKey'), mul(w, sub(inNew, cur[C.isSet]!)));
  for (let j = 0; j < RATE; j++) {
    const was = cur[C.block + j]!;
    const now = next[C.block + j]!;
    emit(cmp, mul(mul(notW, inOld), sub(now, was)));
    emit(sel('cmpKey'), mul(mul(w, inOld), sub(was, cur[C.key + j]!)));
    emit(sel('cmpKey'), mul(mul(w, inNew), sub(now, cur[C.key + j]!)));
    emit(sel('cmpVal'), mul(mul(w, inNew), sub(now, cur[C.value + j]!)));
  }
  const stepLink = sel('stepLink');
  for (const c of [C.inOld, C.inNew, C.written]) emit(stepLink, sub(next[c]!, cur[c]!));
  const link = sel('link');
  emit(link, sub(next[C.count]!, add(cur[C.count]!, mul(selectors(ops, next).stepStart, next[C.written]!))));
  emit(sel('pad'), sub(cur[C.count]!, cur[C.hasWrite]!));

  // What stays fixed over the active rows: the write, the nonce step, the old salt.
  const constants = [
    ...range(C.key, DIGEST_ELEMENTS),
    ...range(C.value, DIGEST_ELEMENTS),
    C.isSet,
    C.hasWrite,
    C.inc,
    ...range(C.oldSalt, SALT_ELEMENTS),
  ];
  for (const c of constants) emit(link, sub(next[c]!, cur[c]!));

  // Range checks: the 12 limbs rotate through rot[0], which the bit columns decompose on every row.
  const act = sel('act');
  for (const c of [
    C.inOld,
    C.inNew,
    C.written,
    C.isSet,
    C.hasWrite,
    C.inc,
    ...range(C.borrow, BALANCE_LIMBS - 1),
  ])
    emit(act, boolean(cur[c]!));
  let sum = zero(ops);
  for (let b = LIMB_BITS - 1; b >= 0; b--) {
    emit(act, boolean(cur[C.bits + b]!));
    sum = add(add(sum, sum), cur[C.bits + b]!);
  }
  emit(act, sub(cur[C.rot]!, sum));
  for (let i = 0; i < ROTATION; i++) emit(link, sub(next[C.rot + i]!, cur[C.rot + ((i + 1) % ROTATION)]!));
}

function zero<F>(ops: ConstraintOps<F>): F {
  return ops.constant(0);
}

function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}

/** What the trace proves, beyond the two states: the effect parameters, all private. */
export interface TurnWitness {
  readonly old: ProvedState;
  readonly next: ProvedState;
  /** The one field the turn writes: its key digest and new value digest (null: deleted). */
  readonly write: { readonly key: Uint32Array; readonly value: Uint32Array | null } | null;
  /** Computrons debited from the cell: transfers out, burns and the fee. */
  readonly amount: bigint;
  /** 1 when the turn carries an IncrementNonce on the cell (the nonce moves by 2). */
  readonly inc: 0 | 1;
}

interface Step {
  readonly old: { key: Uint32Array; value: Uint32Array } | undefined;
  readonly next: { key: Uint32Array; value: Uint32Array } | undefined;
  readonly written: boolean;
}

const keyHex = (k: Uint32Array) => Array.from(k, (x) => x.toString(16).padStart(8, '0')).join('');

/** The walk over the union of old and new keys, in digest order (both lists are sorted). */
function fieldWalk(w: TurnWitness): Step[] {
  const olds = new Map(w.old.fields.map((f) => [keyHex(f.key), f]));
  const news = new Map(w.next.fields.map((f) => [keyHex(f.key), f]));
  const keys = [
    ...new Set([...olds.keys(), ...news.keys(), ...(w.write ? [keyHex(w.write.key)] : [])]),
  ].sort();
  return keys.map((k) => ({
    old: olds.get(k),
    next: news.get(k),
    written: w.write !== null && keyHex(w.write.key) === k,
  }));
}

/** The smallest trace that holds the witness's field walk. */
export function logRowsFor(w: TurnWitness): number {
  const steps = fieldWalk(w).length;
  for (let log = MIN_LOG_ROWS; log <= MAX_LOG_ROWS; log++) if (fieldSteps(log) >= steps) return log;
  throw new RangeError(`a turn proof walks at most ${fieldSteps(MAX_LOG_ROWS)} fields`);
}

/**
 * The trace of a witness (as columns) and the public inputs except the turn hash (zeros; the caller
 * sets them). The trace is filled as the witness says even where the witness is wrong, so that
 * `checkTrace` names the constraint a false claim breaks.
 */
export function fillTurnTrace(
  w: TurnWitness,
  logRows = logRowsFor(w),
  random: RandomElements = cryptoRandomElements,
): Uint32Array[] {
  const l = layoutOf(logRows);
  const walk = fieldWalk(w);
  if (walk.length > l.steps) throw new RangeError(`2^${logRows} rows hold ${l.steps} field steps`);
  const trace = Array.from({ length: C.width }, () => new Uint32Array(l.n));
  const set = (column: number, row: number, values: ArrayLike<number>) => {
    for (let j = 0; j < values.length; j++) trace[column + j]![row] = values[j]!;
  };
  const zeros = new Array<number>(RATE).fill(0);

  // The blocks of each sponge row and whether it absorbs.
  const rows: { block: ArrayLike<number>; absorb: boolean }[] = [
    { block: headerBlock(w.old), absorb: true },
    { block: headerBlock(w.next), absorb: true },
    { block: w.old.rest, absorb: true },
    { block: w.next.rest, absorb: true },
  ];
  for (let k = 0; k < l.steps; k++) {
    const step = walk[k];
    const o = step?.old;
    const n = step?.next;
    rows.push(
      { block: o?.key ?? zeros, absorb: o !== undefined },
      { block: n?.key ?? zeros, absorb: n !== undefined },
      { block: o?.value ?? zeros, absorb: o !== undefined },
      { block: n?.value ?? zeros, absorb: n !== undefined },
    );
    const flags = [o !== undefined ? 1 : 0, n !== undefined ? 1 : 0, step?.written ? 1 : 0];
    for (let p = 0; p < 4; p++) set(C.inOld, 4 + 4 * k + p, flags);
  }
  rows.push({ block: [1, ...zeros.slice(1)], absorb: true }, { block: [1, ...zeros.slice(1)], absorb: true });

  let s: ArrayLike<number> = [...zeros, ...domainIv('cellState')];
  let other: ArrayLike<number> = s;
  const outputs: Uint32Array[] = [];
  rows.forEach(({ block, absorb }, r) => {
    set(C.s, r, s);
    set(C.carry, r, other);
    set(C.block, r, block);
    const input = Array.from(s, (x, j) => (j < RATE ? (x + (block[j] ?? 0)) % P : x));
    const res = fillPoseidon2(trace, r, C.gadget, input);
    outputs.push(res);
    const passed = absorb ? res : s;
    s = other;
    other = passed;
  });
  const oldCommitment = outputs[l.pad]!.slice(0, DIGEST_ELEMENTS);
  // The nullifier sponge.
  const nullStart = [...zeros, ...domainIv('nullifier')];
  set(C.s, l.pad + 2, nullStart);
  set(C.block, l.pad + 2, oldCommitment);
  const mid = fillPoseidon2(trace, l.pad + 2, C.gadget, [...oldCommitment, ...nullStart.slice(RATE)]);
  const saltBlock = [...w.old.salt, 1, 0, 0, 0, 0];
  set(C.s, l.pad + 3, mid);
  set(C.block, l.pad + 3, saltBlock);
  fillPoseidon2(
    trace,
    l.pad + 3,
    C.gadget,
    Array.from(mid, (x, j) => (j < RATE ? (x + saltBlock[j]!) % P : x)),
  );

  // Balance arithmetic: limbs as the witness says, borrows from the old limbs and the amount.
  const oldLimbs = balanceLimbs(w.old.balance);
  const newLimbs = balanceLimbs(w.next.balance);
  const amountLimbs = balanceLimbs(w.amount);
  const borrows: number[] = [];
  let borrow = 0;
  for (let i = 0; i < BALANCE_LIMBS - 1; i++) {
    borrow = oldLimbs[i]! - amountLimbs[i]! - borrow < 0 ? 1 : 0;
    borrows.push(borrow);
  }
  const rotation = [...newLimbs, ...amountLimbs, ...oldLimbs];

  let count = 0;
  for (let r = 0; r < l.active; r++) {
    if (r >= 4 && r < l.pad && (r - 4) % 4 === 0 && trace[C.written]![r] === 1) count++;
    trace[C.count]![r] = count;
    set(C.key, r, w.write?.key ?? zeros);
    set(C.value, r, w.write?.value ?? zeros);
    set(C.isSet, r, [w.write?.value ? 1 : 0, w.write ? 1 : 0, w.inc]);
    set(C.oldSalt, r, w.old.salt);
    const rot = rotation.map((_, i) => rotation[(i + r) % ROTATION]!);
    set(C.rot, r, rot);
    set(
      C.bits,
      r,
      Array.from({ length: LIMB_BITS }, (_, b) => (rot[0]! >> b) & 1),
    );
    set(C.borrow, r, borrows);
  }

  // Selector columns everywhere; randomness in every other column of the blinding rows.
  edges(l).forEach((edge, i) => {
    trace[C.step + i]!.fill(1, 0, edge);
  });
  for (let r = 0; r < l.n; r++) trace[C.phase + (r % PHASES)]![r] = 1;
  const blinding = l.n - l.active;
  for (let c = SELECTOR_COLUMNS; c < C.width; c++) trace[c]!.set(random(blinding), l.active);
  return trace;
}

/** The public digests a filled trace claims: old and new commitment and nullifier, from the sponge outputs. */
export function claimedDigests(trace: readonly Uint32Array[], logRows: number): number[] {
  const l = layoutOf(logRows);
  const out = C.gadget + poseidon2Layout().output;
  const at = (row: number) => range(out, DIGEST_ELEMENTS).map((c) => trace[c]![row]!);
  return [...at(l.pad), ...at(l.pad + 1), ...at(l.pad + 3)];
}
