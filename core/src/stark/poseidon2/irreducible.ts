/**
 * The condition the Poseidon2 reference places on its internal matrix M (poseidon2_rust_params.sage,
 * `check_minpoly_condition`): for i = 1..2t, the minimal polynomial of M^i has degree t and is
 * irreducible over F_p. This rules out invariant subspaces that would let a subspace trail cross an
 * unbounded number of partial rounds (Poseidon2 paper, section 5.3).
 *
 * We decide it with the same answer and far less work than t-fold characteristic polynomials:
 * for i = 1 the condition says that chi = det(xI - M) is irreducible (the minimal polynomial divides
 * chi). Then M has the t distinct conjugate eigenvalues of a root lambda of chi, so M^i is
 * diagonalizable over F_(p^t) and its minimal polynomial is that of lambda^i over F_p: irreducible,
 * of degree t exactly when lambda^i lies in no maximal subfield F_(p^(t/q)) (q a prime dividing t),
 * i.e. (lambda^i)^(p^(t/q)) != lambda^i. In F_p[x]/chi, lambda is x. Polynomials are coefficient
 * arrays, lowest degree first.
 */
import { add, inv, mul, sub } from '../field.ts';

type Matrix = readonly (readonly number[])[];
type Poly = number[];

/**
 * det(xI - A), monic of degree n: reduce A to upper Hessenberg form by similarity (elimination below
 * the subdiagonal), then expand along the leading principal minors. O(n^3).
 */
export function charPoly(matrix: Matrix): Poly {
  const n = matrix.length;
  const h = matrix.map((row) => row.slice());
  for (let c = 0; c < n - 2; c++) {
    let p = c + 1;
    while (p < n && h[p]![c] === 0) p++;
    if (p === n) continue;
    if (p !== c + 1) {
      [h[p], h[c + 1]] = [h[c + 1]!, h[p]!];
      for (const row of h) [row[p], row[c + 1]] = [row[c + 1]!, row[p]!];
    }
    const pivotInv = inv(h[c + 1]![c]!);
    for (let r = c + 2; r < n; r++) {
      const f = mul(h[r]![c]!, pivotInv);
      if (f === 0) continue;
      // Row r -= f * row (c + 1), then column (c + 1) += f * column r: a similarity transform.
      for (let j = 0; j < n; j++) h[r]![j] = sub(h[r]![j]!, mul(f, h[c + 1]![j]!));
      for (let i = 0; i < n; i++) h[i]![c + 1] = add(h[i]![c + 1]!, mul(f, h[i]![r]!));
    }
  }
  // p_k = (x - h_kk) p_(k-1) - sum_(i<k) h_ik (h_(i+1,i) ... h_(k,k-1)) p_(i-1), 1-based.
  const minors: Poly[] = [[1]];
  for (let k = 0; k < n; k++) {
    const prev = minors[k]!;
    const next = new Array<number>(k + 2).fill(0);
    for (let d = 0; d <= k; d++) {
      next[d + 1] = add(next[d + 1]!, prev[d]!);
      next[d] = sub(next[d]!, mul(h[k]![k]!, prev[d]!));
    }
    let chain = 1;
    for (let i = k - 1; i >= 0; i--) {
      chain = mul(chain, h[i + 1]![i]!);
      const coeff = mul(chain, h[i]![k]!);
      if (coeff === 0) continue;
      const lower = minors[i]!;
      for (let d = 0; d < lower.length; d++) next[d] = sub(next[d]!, mul(coeff, lower[d]!));
    }
    minors.push(next);
  }
  return minors[n]!;
}

function trim(a: Poly): Poly {
  let n = a.length;
  while (n > 0 && a[n - 1] === 0) n--;
  return a.slice(0, n);
}

/** a mod f, f monic. */
function reduce(a: Poly, f: Poly): Poly {
  const r = a.slice();
  const d = f.length - 1;
  for (let i = r.length - 1; i >= d; i--) {
    const c = r[i]!;
    if (c === 0) continue;
    for (let j = 0; j <= d; j++) r[i - d + j] = sub(r[i - d + j]!, mul(c, f[j]!));
  }
  return trim(r.slice(0, d));
}

function mulMod(a: Poly, b: Poly, f: Poly): Poly {
  if (a.length === 0 || b.length === 0) return [];
  const out = new Array<number>(a.length + b.length - 1).fill(0);
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) out[i + j] = add(out[i + j]!, mul(a[i]!, b[j]!));
  }
  return reduce(out, f);
}

function powMod(base: Poly, exponent: number, f: Poly): Poly {
  let result: Poly = [1];
  let b = base;
  for (let e = exponent; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result = mulMod(result, b, f);
    b = mulMod(b, b, f);
  }
  return result;
}

function gcdIsOne(a: Poly, b: Poly): boolean {
  let x = trim(a);
  let y = trim(b);
  while (y.length > 0) {
    const lead = inv(y[y.length - 1]!);
    [x, y] = [
      y,
      reduce(
        x,
        y.map((c) => mul(c, lead)),
      ),
    ];
  }
  return x.length === 1;
}

function equal(a: Poly, b: Poly): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}

function primeFactors(n: number): number[] {
  const out: number[] = [];
  for (let q = 2, m = n; m > 1; q++) {
    if (m % q !== 0) continue;
    out.push(q);
    while (m % q === 0) m /= q;
  }
  return out;
}

/**
 * x^(p^j) mod f for j = 0..n, by the Frobenius map g -> g^p = g(x^p) (linear over F_p), tabulated
 * once as the rows (x^p)^i mod f.
 */
function frobeniusPowers(f: Poly, xp: Poly): Poly[] {
  const n = f.length - 1;
  const rows: Poly[] = [[1]];
  for (let i = 1; i < n; i++) rows.push(mulMod(rows[i - 1]!, xp, f));
  const out: Poly[] = [[0, 1], xp];
  for (let j = 2; j <= n; j++) {
    const g = out[j - 1]!;
    const next = new Array<number>(n).fill(0);
    g.forEach((c, i) => {
      if (c === 0) return;
      rows[i]!.forEach((q, k) => {
        next[k] = add(next[k]!, mul(c, q));
      });
    });
    out.push(trim(next));
  }
  return out;
}

function minusX(g: Poly): Poly {
  const out = g.slice();
  while (out.length < 2) out.push(0);
  out[1] = sub(out[1]!, 1);
  return out;
}

/**
 * Rabin's test: monic f of degree n > 1 is irreducible iff x^(p^n) = x mod f and
 * gcd(x^(p^(n/q)) - x, f) = 1 for every prime q | n. Most polynomials that fail have a root, so
 * gcd(x^p - x, f) = 1 is checked first, before the Frobenius table is built. Returns the powers
 * x^(p^j) mod f (j = 0..n) when f is irreducible, undefined otherwise.
 */
function frobeniusIfIrreducible(f: Poly, p: number): Poly[] | undefined {
  const n = f.length - 1;
  if (n < 2) return n === 1 ? [[0, 1]] : undefined;
  const xp = powMod([0, 1], p, f);
  if (!gcdIsOne(f, minusX(xp))) return undefined;
  const powers = frobeniusPowers(f, xp);
  if (!equal(powers[n]!, [0, 1])) return undefined;
  return primeFactors(n).every((q) => gcdIsOne(f, minusX(powers[n / q]!))) ? powers : undefined;
}

export function isIrreducible(f: Poly, p: number): boolean {
  return frobeniusIfIrreducible(f, p) !== undefined;
}

/** The reference's condition on M (see the module comment for why this decides it). */
export function satisfiesMinpolyCondition(m: Matrix, p: number): boolean {
  const t = m.length;
  const chi = charPoly(m);
  const powers = frobeniusIfIrreducible(chi, p);
  if (powers === undefined) return false;
  return primeFactors(t).every((q) => {
    // lambda^i in F_(p^(t/q)) iff (x^(p^(t/q)))^i = x^i mod chi.
    const v = powers[t / q]!;
    let vi: Poly = [1];
    let xi: Poly = [1];
    for (let i = 1; i <= 2 * t; i++) {
      vi = mulMod(vi, v, chi);
      xi = mulMod(xi, [0, 1], chi);
      if (equal(vi, xi)) return false;
    }
    return true;
  });
}
