/**
 * Prover benchmarks (`npm run bench:prover`): one JSON object per line,
 * {"bench": NAME, "median_ms": x, "runs": n, ...extra}. Benchmarks, not tests: nothing here asserts
 * a time. Workloads are defined in ../shared/design/FIELD-NOTES.md (B1-B4); turn_prove and
 * turn_verify are issue 7's (bench/turn.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cubeChainAir, cubeChainTrace } from '../../core/src/stark/airs/cube-chain.ts';
import { buildTree, LEAF_KEY } from '../../core/src/stark/merkle.ts';
import { prove } from '../../core/src/stark/prover.ts';
import { verify } from '../../core/src/stark/verifier.ts';
import { createNodeKernelPool, loadKernels } from '../src/node.ts';
import { benchTurn } from './turn.ts';
import { benchWebGpuLde } from './webgpu.ts';

const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const RUNS = runsArg === undefined ? 5 : Number(runsArg.slice(7));

/** Median of `runs` timed calls, after one untimed warm-up call (JIT tiers, memory growth). */
async function time(f: () => unknown, runs: number): Promise<number> {
  await f();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await f();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function line(bench: string, medianMs: number, runs: number, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ bench, median_ms: Number(medianMs.toFixed(3)), runs, ...extra }));
}

const random = (n: number): Uint32Array =>
  Uint32Array.from({ length: n }, () => Math.floor(Math.random() * 2013265921));

const wasm = await loadKernels();

{
  // 2^24 multiplies on a 2048-element working set (24 KiB, in L1): the kernel's arithmetic rate.
  // The same count streamed through 192 MiB of memory is reported beside it.
  const total = 2 ** 24;
  const batch = 2048;
  const inCache = wasm.mulKernel(batch, total / batch);
  const ms = await time(inCache, RUNS);
  const streaming = wasm.mulKernel(total);
  const streamMs = await time(streaming, RUNS);
  line('mul', ms, RUNS, {
    gmul_per_s: Number((total / ms / 1e6).toFixed(3)),
    working_set_kib: (3 * 4 * batch) / 1024,
    gmul_per_s_streaming: Number((total / streamMs / 1e6).toFixed(3)),
    cores: 1,
    backend: wasm.name,
  });
}
const nttMs = await time(wasm.nttKernel(20), RUNS);
line('ntt_2^20', nttMs, RUNS, { cores: 1, backend: wasm.name });
const merkleLeaves = random(16 * 2 ** 20);
const merkle1Ms = await time(
  async () => buildTree(await wasm.hashLeaves(merkleLeaves, 16, LEAF_KEY), 4, wasm),
  RUNS,
);

// The pool starts only now, so that its threads' start-up does not share the cores with the 1-core runs.
// Its results stay in its shared memory inside a scope, as in the prover (inputs are still copied in).
const pool = await createNodeKernelPool();
{
  const columns = Array.from({ length: 64 }, () => random(2 ** 16));
  line('lde_2^16x64', await time(() => pool.scope(() => pool.lde(columns, 3, 31)), RUNS), RUNS, {
    cores: pool.size,
    backend: pool.name,
  });
}
{
  const ms = await time(
    () => pool.scope(async () => buildTree(await pool.hashLeaves(merkleLeaves, 16, LEAF_KEY), 4, pool)),
    RUNS,
  );
  line('merkle_2^20', ms, RUNS, {
    cores: pool.size,
    backend: pool.name,
    leaf_bytes: 64,
    one_core_ms: Number(merkle1Ms.toFixed(3)),
  });
}
{
  const logN = 16;
  const air = cubeChainAir(logN);
  const { trace, publicInputs } = cubeChainTrace(
    logN,
    Array.from({ length: 64 }, (_, i) => i + 1),
  );
  const proveRuns = Math.max(1, Math.min(RUNS, 3));
  let proof: Uint8Array = new Uint8Array(0);
  const ms = await time(async () => {
    proof = await prove(air, trace, publicInputs, { kernels: pool });
  }, proveRuns);
  line('prove_2^16x64', ms, proveRuns, {
    proof_kib: Number((proof.length / 1024).toFixed(1)),
    cores: pool.size,
    backend: pool.name,
  });
  line('verify_2^16x64', await time(() => verify(air, publicInputs, proof), RUNS), RUNS, { cores: 1 });
}
await benchTurn(pool, pool.size, RUNS, time, line);
pool.terminate();
{
  // The optional native reference: the same NTT and Merkle tree in scalar C (reference.c), built
  // here with the system compiler if there is one; ratios are WASM / native, both on one core.
  const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-native-'));
  const exe = join(dir, 'reference');
  const src = join(import.meta.dirname, 'native', 'reference.c');
  const built = spawnSync('cc', ['-O3', '-march=native', '-o', exe, src], { stdio: 'ignore' });
  if (built.status === 0) {
    const native = JSON.parse(spawnSync(exe, [String(RUNS)], { encoding: 'utf8' }).stdout) as {
      ntt_ms: number;
      merkle_ms: number;
    };
    console.log(
      JSON.stringify({
        bench: 'native_ratio',
        median_ms: null,
        runs: RUNS,
        ntt_ratio: Number((nttMs / native.ntt_ms).toFixed(3)),
        merkle_ratio: Number((merkle1Ms / native.merkle_ms).toFixed(3)),
        ntt_native_ms: native.ntt_ms,
        merkle_native_ms: native.merkle_ms,
        native: 'scalar C, cc -O3 -march=native (wasm-prover/bench/native/reference.c)',
      }),
    );
  }
  rmSync(dir, { recursive: true, force: true });
}
{
  // One run: on SwiftShader (no GPU here) it takes tens of seconds.
  const gpu = await benchWebGpuLde(16, 64, 1);
  const sorted = gpu.samples.slice().sort((a, b) => a - b);
  const median = sorted.length === 0 ? null : Number(sorted[Math.floor(sorted.length / 2)]!.toFixed(3));
  console.log(
    JSON.stringify({
      bench: 'webgpu_lde_2^16x64',
      median_ms: median,
      runs: sorted.length,
      adapter: gpu.adapter,
    }),
  );
}
