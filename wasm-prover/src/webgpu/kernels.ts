/// <reference types="@webgpu/types" />
/**
 * The WebGPU path: coset LDE and BLAKE3 leaf hashing with the WGSL shaders in shaders.ts, producing the
 * same words as the WASM kernels (checked in headless Chromium by e2e/tests/webgpu.spec.ts). Columns
 * are processed in groups small enough that one group's buffer stays under the device's storage
 * binding limit (128 MiB by default): 64 columns of 2^19 words would be exactly 128 MiB.
 */
import { BLAKE3_WGSL, LDE_WGSL, NTT_WGSL } from './shaders.ts';

const P = 2013265921;
const INV_P = 1 / P;

/**
 * a * b mod p (this package depends on nothing of ours, so the one-line reduction of
 * core/src/stark/field.ts is repeated here; see there for why it is exact).
 */
function mulMod(a: number, b: number): number {
  const q = Math.floor(a * b * INV_P);
  const r = (Math.imul(a, b) - Math.imul(q, P)) | 0;
  if (r < 0) return r + P;
  return r >= P ? r - P : r;
}

function powMod(b: number, e: number): number {
  let r = 1;
  let x = b;
  for (let k = e; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) r = mulMod(r, x);
    x = mulMod(x, x);
  }
  return r;
}

const R = 2 ** 32 % P;
const toMont = (x: number): number => mulMod(x, R);
const rootOfUnity = (log: number): number => powMod(31, (P - 1) / 2 ** log);

/** Twiddles for every NTT size up to 2^log, the WASM layout: entry len + j is w_(2 len)^j * R. */
function twiddleTable(log: number, inverse: boolean): Uint32Array {
  const n = 2 ** log;
  const w = inverse ? powMod(rootOfUnity(log), P - 2) : rootOfUnity(log);
  const t = new Uint32Array(n);
  const half = n / 2;
  for (let j = 0, x = 1; j < half; j++, x = mulMod(x, w)) t[half + j] = toMont(x);
  for (let len = half / 2; len >= 1; len /= 2) {
    for (let j = 0; j < len; j++) t[len + j] = t[2 * len + 2 * j]!;
  }
  return t;
}

interface Dispatch {
  readonly x: number;
  readonly y: number;
  readonly rowWidth: number;
}

function grid(invocations: number): Dispatch {
  const groups = Math.max(1, Math.ceil(invocations / 64));
  const x = Math.min(groups, 32768);
  return { x, y: Math.ceil(groups / x), rowWidth: x * 64 };
}

export class WebGpuKernels {
  readonly name = 'webgpu';
  private readonly ntt: { dif: GPUComputePipeline; dit: GPUComputePipeline };
  private readonly lde_: { gather: GPUComputePipeline; scale: GPUComputePipeline };
  private readonly hash: GPUComputePipeline;
  /** Per-pass uniform buffers, destroyed once their commands have completed. */
  private transient: GPUBuffer[] = [];

  /**
   * @param adapter the adapter in words, for reports.
   * @param software whether the adapter runs on the CPU (a fallback adapter such as SwiftShader):
   *   correct, but far slower than the WASM kernels, so the prover uses it only when told to.
   */
  constructor(
    private readonly device: GPUDevice,
    readonly adapter: string,
    readonly software: boolean,
  ) {
    const pipeline = (code: string, entryPoint: string): GPUComputePipeline =>
      device.createComputePipeline({
        layout: 'auto',
        compute: { module: device.createShaderModule({ code }), entryPoint },
      });
    this.ntt = { dif: pipeline(NTT_WGSL, 'dif_stage'), dit: pipeline(NTT_WGSL, 'dit_stage') };
    this.lde_ = { gather: pipeline(LDE_WGSL, 'gather_bit_reversed'), scale: pipeline(LDE_WGSL, 'scale') };
    this.hash = pipeline(BLAKE3_WGSL, 'hash');
  }

  private buffer(words: Uint32Array | number, usage: GPUBufferUsageFlags): GPUBuffer {
    const size = 4 * Math.max(4, typeof words === 'number' ? words : words.length);
    const buf = this.device.createBuffer({ size, usage, mappedAtCreation: typeof words !== 'number' });
    if (typeof words !== 'number') {
      new Uint32Array(buf.getMappedRange()).set(words);
      buf.unmap();
    }
    return buf;
  }

  private uniform(values: number[]): GPUBuffer {
    return this.buffer(Uint32Array.from(values), GPUBufferUsage.UNIFORM);
  }

  private pass(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    invocations: number,
    params: (rowWidth: number) => number[],
  ): void {
    const d = grid(invocations);
    const uniform = this.uniform(params(d.rowWidth));
    this.transient.push(uniform);
    // Bindings 0 and 1 are the two storage buffers, 2 the parameters (see shaders.ts).
    const entries = [...buffers, uniform].map((buffer, binding) => ({ binding, resource: { buffer } }));
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries }));
    pass.dispatchWorkgroups(d.x, d.y);
    pass.end();
  }

  private async read(buffer: GPUBuffer, words: number): Promise<Uint32Array> {
    const staging = this.buffer(words, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, 4 * words);
    this.device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = new Uint32Array(staging.getMappedRange().slice(0, 4 * words));
    staging.unmap();
    staging.destroy();
    return out;
  }

  /** Same contract as the WASM lde: natural-order columns -> bit-reversed evaluations on shift<w_N>. */
  async lde(columns: readonly Uint32Array[], logBlowup: number, shift: number): Promise<Uint32Array[]> {
    const n = columns[0]!.length;
    const logN = Math.log2(n);
    const logBig = logN + logBlowup;
    const big = 2 ** logBig;
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    const group = Math.max(1, Math.floor(limit / (4 * big)));
    const fwd = this.buffer(twiddleTable(logBig, false), GPUBufferUsage.STORAGE);
    const inv = this.buffer(twiddleTable(logBig, true), GPUBufferUsage.STORAGE);
    const scale = new Uint32Array(n);
    for (let i = 0, s = toMont(powMod(n, P - 2)); i < n; i++, s = mulMod(s, shift)) scale[i] = s;
    const scaleBuf = this.buffer(scale, GPUBufferUsage.STORAGE);
    const out: Uint32Array[] = [];
    for (let first = 0; first < columns.length; first += group) {
      const cols = columns.slice(first, first + group);
      const src = new Uint32Array(cols.length * n);
      cols.forEach((c, i) => {
        src.set(c, i * n);
      });
      const srcBuf = this.buffer(src, GPUBufferUsage.STORAGE);
      const data = this.buffer(cols.length * big, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
      const encoder = this.device.createCommandEncoder();
      const k = cols.length;
      this.pass(encoder, this.lde_.gather, [data, srcBuf], k * n, (rw) => [logN, 0, k, logBig, rw]);
      for (let len = 1; len < n; len *= 2) {
        this.pass(encoder, this.ntt.dit, [data, inv], (k * n) / 2, (rw) => [logN, len, k, logBig, rw]);
      }
      this.pass(encoder, this.lde_.scale, [data, scaleBuf], k * n, (rw) => [logN, 0, k, logBig, rw]);
      for (let len = big / 2; len >= 1; len /= 2) {
        this.pass(encoder, this.ntt.dif, [data, fwd], (k * big) / 2, (rw) => [logBig, len, k, logBig, rw]);
      }
      this.device.queue.submit([encoder.finish()]);
      const result = await this.read(data, k * big);
      for (const b of this.transient) b.destroy();
      this.transient = [];
      for (let i = 0; i < k; i++) out.push(result.slice(i * big, (i + 1) * big));
      srcBuf.destroy();
      data.destroy();
    }
    fwd.destroy();
    inv.destroy();
    scaleBuf.destroy();
    return out;
  }

  private async hashWith(
    input: Uint32Array,
    leaves: number,
    words: number,
    columnMajor: boolean,
    key: Uint32Array,
  ) {
    const inBuf = this.buffer(input, GPUBufferUsage.STORAGE);
    const outBuf = this.buffer(8 * leaves, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const keyBuf = this.buffer(key, GPUBufferUsage.STORAGE);
    const d = grid(leaves);
    const params = this.uniform([leaves, words, d.rowWidth, columnMajor ? 1 : 0]);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(this.hash);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: this.hash.getBindGroupLayout(0),
        entries: [inBuf, outBuf, params, keyBuf].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      }),
    );
    pass.dispatchWorkgroups(d.x, d.y);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const out = await this.read(outBuf, 8 * leaves);
    for (const b of [inBuf, outBuf, keyBuf, params]) b.destroy();
    return out;
  }

  /** Leaf digests of the rows of `columns` (the WASM hashRows contract). */
  async hashRows(columns: readonly Uint32Array[], key: Uint32Array): Promise<Uint32Array> {
    const rows = columns[0]!.length;
    const input = new Uint32Array(rows * columns.length);
    columns.forEach((c, i) => {
      input.set(c, i * rows);
    });
    return this.hashWith(input, rows, columns.length, true, key);
  }

  /** Releases the device; the kernels cannot be used afterwards. */
  destroy(): void {
    this.device.destroy();
  }

  /** Leaf digests of consecutive runs of `wordsPerLeaf` words (Merkle nodes: runs of 16). */
  async hashLeaves(words: Uint32Array, wordsPerLeaf: number, key: Uint32Array): Promise<Uint32Array> {
    return this.hashWith(words, words.length / wordsPerLeaf, wordsPerLeaf, false, key);
  }
}

/** WebGPU kernels on the first adapter, or null where the runtime has no WebGPU adapter. */
export async function createWebGpuKernels(): Promise<WebGpuKernels | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (gpu === undefined) return null;
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return null;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const info = adapter.info;
  const name = `${info.vendor} ${info.architecture} ${info.description}`.trim();
  // Chromium reports SwiftShader as a fallback adapter; older builds only name it.
  const software = info.isFallbackAdapter === true || /swiftshader/i.test(name);
  return new WebGpuKernels(device, name, software);
}
