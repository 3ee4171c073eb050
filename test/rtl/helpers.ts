/**
 * Test helpers: small ModelIRs built directly (random weights from a seeded generator), the number
 * knobs, and one call that generates the RTL, simulates it on random inputs and returns both the
 * simulated and the reference (src/sim/reference.ts) results.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NumberKnobs } from '../../src/qmodel/precision';
import { mulberry32 } from '../../src/data/shuffle';
import type { Activation, Layer, LayerType, ModelIR } from '../../src/ir/types';
import { maxInt, minInt } from '../../src/numerics/fixed';
import type { DirectiveSet } from '../../src/rtl/directives';
import { generateRtl, GeneratedRtl, RtlDevice } from '../../src/rtl/generate';
import { encodeInputBytes } from '../../src/rtl/interface';
import { runReference, type ReferenceResult } from '../../src/sim/reference';
import { simulate, SimulationResult, type SimulatorName } from '../../src/sim/simulate';
import { getDevice } from '../../src/fpga/devices';
import type { YosysNetlist } from '../../src/fpga/netlist-sim';
import { runStreamOnNetlist } from '../../src/fpga/stream-sim';
import { synthesize } from '../../src/fpga/synth';
import { selectToolchain } from '../../src/fpga/toolchain';

/** Mulberry32 (the data stage's generator), so every test sees the same "random" model. */
export const rng = mulberry32;

export function knobs(bits: number, integer: number, rounding: NumberKnobs['rounding'] = 'half-even', overflow: NumberKnobs['overflow'] = 'saturate', accumulatorBits = 0): NumberKnobs {
  return { mode: 'fixed', weights: { bits, integer }, biases: { bits, integer }, activations: { bits, integer }, accumulatorBits, rounding, overflow };
}

const LINEAR: Activation = { kind: 'linear' };

export class ModelBuilder {
  readonly layers: Layer[] = [];
  private readonly r: () => number;
  constructor(
    readonly name: string,
    inputShape: number[],
    seed = 1,
  ) {
    this.r = rng(seed);
    this.layers.push({ name: 'input', type: 'input', inputs: [], inputShapes: [], outputShape: inputShape, activation: LINEAR, weights: {} });
  }
  get last(): Layer {
    return this.layers[this.layers.length - 1];
  }
  private uniform(n: number, scale: number): Float32Array {
    return Float32Array.from({ length: n }, () => (this.r() * 2 - 1) * scale);
  }
  private uniformIn(n: number, lo: number, hi: number): Float32Array {
    return Float32Array.from({ length: n }, () => lo + this.r() * (hi - lo));
  }
  add(l: Omit<Layer, 'inputs' | 'inputShapes' | 'activation' | 'weights'> & Partial<Pick<Layer, 'inputs' | 'activation' | 'weights'>>): this {
    const inputs = l.inputs ?? [this.last.name];
    const inputShapes = inputs.map((n) => this.layers.find((x) => x.name === n)!.outputShape);
    this.layers.push({ activation: LINEAR, weights: {}, ...l, inputs, inputShapes } as Layer);
    return this;
  }
  /** Ternary layers as src/qmodel/apply.ts leaves them: codes held as fixed<2,2>, a scale format; optionally a ternary output. */
  private ternaryPrecision(channels: number, ternaryOut: boolean | undefined): Pick<Layer, 'precision' | 'activation'> | undefined {
    const f = (bits: number, integer: number) => ({ bits, integer, rounding: 'half-even' as const, overflow: 'saturate' as const });
    const precision = { weights: f(2, 2), scale: f(6, 1), ...(ternaryOut ? { output: f(2, 2) } : {}) };
    return ternaryOut ? { precision, activation: { kind: 'ternary', thresholds: Array.from({ length: channels }, () => 0.2 + this.r()) } } : { precision } as never;
  }
  dense(name: string, units: number, opts: { activation?: Activation; scale?: number; bias?: boolean; ternary?: boolean; ternaryOut?: boolean } = {}): this {
    const inShape = this.last.outputShape;
    const cin = inShape[inShape.length - 1];
    const kernel = opts.ternary ? this.ternaryData(cin * units) : this.uniform(cin * units, opts.scale ?? 1);
    return this.add({
      name, type: 'dense', units, outputShape: [...inShape.slice(0, -1), units], activation: opts.activation ?? LINEAR, useBias: opts.bias !== false,
      weights: { kernel: { shape: [cin, units], data: kernel }, ...(opts.bias === false ? {} : { bias: { shape: [units], data: this.uniform(units, opts.scale ?? 1) } }) },
      ...(opts.ternary ? { ternary: { scale: Float32Array.from({ length: units }, () => 0.25 + this.r()) }, ...this.ternaryPrecision(units, opts.ternaryOut) } : {}),
    });
  }
  conv2d(name: string, filters: number, k: number, opts: { stride?: number; padding?: 'valid' | 'same'; activation?: Activation; scale?: number; ternary?: boolean; ternaryOut?: boolean; bias?: boolean } = {}): this {
    const [h, w, cin] = this.last.outputShape;
    const s = opts.stride ?? 1;
    const pad = opts.padding ?? 'valid';
    const oh = pad === 'same' ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
    const ow = pad === 'same' ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
    const kernel = opts.ternary ? this.ternaryData(k * k * cin * filters) : this.uniform(k * k * cin * filters, opts.scale ?? 0.5);
    return this.add({
      name, type: 'conv2d', filters, kernel: [k, k], strides: [s, s], dilation: [1, 1], padding: pad, outputShape: [oh, ow, filters], activation: opts.activation ?? LINEAR, useBias: opts.bias !== false,
      weights: { kernel: { shape: [k, k, cin, filters], data: kernel }, ...(opts.bias === false ? {} : { bias: { shape: [filters], data: this.uniform(filters, opts.scale ?? 0.5) } }) },
      ...(opts.ternary ? { ternary: { scale: Float32Array.from({ length: filters }, () => 0.25 + this.r()) }, ...this.ternaryPrecision(filters, opts.ternaryOut) } : {}),
    });
  }
  depthwise(name: string, k: number, opts: { stride?: number; padding?: 'valid' | 'same'; multiplier?: number; activation?: Activation } = {}): this {
    const [h, w, c] = this.last.outputShape;
    const s = opts.stride ?? 1;
    const m = opts.multiplier ?? 1;
    const pad = opts.padding ?? 'valid';
    const oh = pad === 'same' ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
    const ow = pad === 'same' ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
    return this.add({
      name, type: 'depthwise_conv2d', depthMultiplier: m, kernel: [k, k], strides: [s, s], dilation: [1, 1], padding: pad, outputShape: [oh, ow, c * m], activation: opts.activation ?? LINEAR, useBias: true,
      weights: { kernel: { shape: [k, k, c, m], data: this.uniform(k * k * c * m, 0.5) }, bias: { shape: [c * m], data: this.uniform(c * m, 0.5) } },
    });
  }
  pool(name: string, type: LayerType, p: number, opts: { stride?: number; padding?: 'valid' | 'same' } = {}): this {
    const [h, w, c] = this.last.outputShape;
    const s = opts.stride ?? p;
    const pad = opts.padding ?? 'valid';
    const oh = pad === 'same' ? Math.ceil(h / s) : Math.floor((h - p) / s) + 1;
    const ow = pad === 'same' ? Math.ceil(w / s) : Math.floor((w - p) / s) + 1;
    return this.add({ name, type, pool: [p, p], strides: [s, s], padding: pad, outputShape: [oh, ow, c] });
  }
  globalPool(name: string, type: 'global_avgpool2d' | 'global_maxpool2d'): this {
    const shape = this.last.outputShape;
    return this.add({ name, type, outputShape: [shape[shape.length - 1]] });
  }
  /** An LSTM, GRU or SimpleRNN over the last layer's [steps, features] output, with random weights (Keras layouts). */
  recurrent(
    name: string,
    cell: 'lstm' | 'gru' | 'simple_rnn',
    units: number,
    opts: {
      activation?: Activation; recurrentActivation?: Activation; returnSequences?: boolean; goBackwards?: boolean; resetAfter?: boolean; bias?: boolean; scale?: number;
      /** Given weights instead of random ones (Keras layouts). */
      kernel?: number[]; recurrentKernel?: number[];
      inputs?: string[];
      /**
       * A ternary (FaCT-LSTM) layer as src/qmodel/apply.ts leaves it: kernel codes, per-column scales
       * in [0.05, 0.65), operand thresholds Δ uniform in [0, inputDelta) and [0, stateDelta) (about one
       * in five 0), codes held as fixed<2,2>, scales in `scale` (default fixed<8,2>).
       */
      ternary?: { inputDelta: number; stateDelta: number; scale?: { bits: number; integer: number } };
    } = {},
  ): this {
    const x = opts.inputs ? this.layers.find((l) => l.name === opts.inputs![0])!.outputShape : this.last.outputShape;
    if (x.length !== 2) throw new Error(`recurrent layer '${name}' needs a [steps, features] input, got ${JSON.stringify(x)}`);
    const g = cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
    const cols = g * units;
    const resetAfter = cell === 'gru' && !!opts.resetAfter;
    const scale = opts.scale ?? 0.6;
    const nBias = (resetAfter ? 2 : 1) * cols;
    const t = opts.ternary;
    const deltas = (n: number, max: number) => Float32Array.from({ length: n }, () => Math.max(0, (this.r() * 1.25 - 0.25) * max));
    const f = (bits: number, integer: number) => ({ bits, integer, rounding: 'half-even' as const, overflow: 'saturate' as const });
    const ternary: Partial<Layer> = t
      ? {
          ternary: { scale: this.uniformIn(cols, 0.05, 0.65), recurrentScale: this.uniformIn(cols, 0.05, 0.65), inputThresholds: deltas(x[1], t.inputDelta), stateThresholds: deltas(units, t.stateDelta) },
          precision: { weights: f(2, 2), scale: f(t.scale?.bits ?? 8, t.scale?.integer ?? 2) },
        }
      : {};
    const weights = (n: number, given: number[] | undefined) => (given ? Float32Array.from(given) : t ? this.ternaryData(n) : this.uniform(n, scale));
    return this.add({
      name, type: cell, units, useBias: opts.bias !== false, ...(opts.inputs ? { inputs: opts.inputs } : {}),
      outputShape: opts.returnSequences ? [x[0], units] : [units],
      recurrent: {
        cell, activation: opts.activation ?? { kind: 'tanh' }, recurrentActivation: cell === 'simple_rnn' ? { kind: 'linear' } : opts.recurrentActivation ?? { kind: 'sigmoid' },
        returnSequences: !!opts.returnSequences, goBackwards: !!opts.goBackwards, ...(cell === 'gru' ? { resetAfter } : {}),
      },
      weights: {
        kernel: { shape: [x[1], cols], data: weights(x[1] * cols, opts.kernel) },
        recurrentKernel: { shape: [units, cols], data: weights(units * cols, opts.recurrentKernel) },
        ...(opts.bias === false ? {} : { bias: { shape: resetAfter ? [2, cols] : [cols], data: this.uniform(nBias, scale) } }),
      },
      ...ternary,
    });
  }
  flatten(name = 'flatten'): this {
    return this.add({ name, type: 'flatten', outputShape: [this.last.outputShape.reduce((a, b) => a * b, 1)] });
  }
  private ternaryData(n: number): Float32Array {
    return Float32Array.from({ length: n }, () => {
      const u = this.r();
      return u < 0.3 ? -1 : u < 0.6 ? 1 : 0;
    });
  }
  build(outputs = [this.last.name]): ModelIR {
    return { name: this.name, source: { format: 'keras-h5', file: 'test' }, layers: this.layers, inputs: ['input'], outputs };
  }
}

/** conv (same, relu) + maxpool + conv (relu6) + dense on an 8x8x2 input: the small CNN several RTL tests build. */
export function smallCnn(name: string): ModelIR {
  return new ModelBuilder(name, [8, 8, 2], 5)
    .conv2d('c1', 4, 3, { padding: 'same', activation: { kind: 'relu' } })
    .pool('p1', 'maxpool2d', 2)
    .conv2d('c2', 6, 3, { activation: { kind: 'relu', maxValue: 6 } })
    .flatten()
    .dense('fc', 5)
    .build();
}

export const UP5K: RtlDevice = { name: 'ice40-up5k', dsp: 8, spram: 4 };
export const HX8K: RtlDevice = { name: 'ice40-hx8k', dsp: 0, spram: 0 };

/** Random input integers spanning the input format (extremes included, to exercise overflow paths). */
export function randomInputs(n: number, size: number, bits: number, seed: number): Int32Array[] {
  const r = rng(seed);
  const lo = minInt(bits);
  const hi = maxInt(bits);
  return Array.from({ length: n }, (_, s) =>
    Int32Array.from({ length: size }, (_, i) => {
      if (s === 0) return i % 2 === 0 ? hi : lo;
      return lo + Math.floor(r() * (hi - lo + 1));
    }),
  );
}

export interface RunResult {
  gen: GeneratedRtl;
  sim: SimulationResult;
  expected: ReferenceResult[];
  inputs: Int32Array[];
}

let scratch: string | undefined;
/** One folder per test process for builds (kept across tests so identical designs are built once). */
export function scratchDir(): string {
  if (!scratch) scratch = mkdtempSync(join(tmpdir(), 'dm-rtl-test-'));
  return scratch;
}

export async function generateAndSimulate(ir: ModelIR, k: NumberKnobs, directives: DirectiveSet, opts: { samples?: number; seed?: number; device?: RtlDevice; simulator?: SimulatorName; inputs?: Int32Array[] } = {}): Promise<RunResult> {
  const gen = generateRtl(ir, k, directives, opts.device ?? UP5K);
  const dir = join(scratchDir(), `${ir.name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(dir, { recursive: true });
  const sources: string[] = [];
  for (const [name, text] of gen.verilog) {
    writeFileSync(join(dir, name), text);
    sources.push(join(dir, name));
  }
  const dataFiles: string[] = [];
  for (const [name, text] of gen.hex) {
    writeFileSync(join(dir, name), text);
    dataFiles.push(join(dir, name));
  }
  const inputs = opts.inputs ?? randomInputs(opts.samples ?? 4, gen.interface.inputElements, gen.interface.inputFormat.bits, opts.seed ?? 7);
  const sim = await simulate({
    sources,
    dataFiles,
    top: gen.top,
    inputBytes: gen.interface.inputBytes,
    outputs: gen.interface.outputs,
    outBits: gen.interface.outBits,
    samples: inputs.map((x) => encodeInputBytes(x, gen.interface.inputFormat)),
    workDir: join(scratchDir(), 'builds'),
    // CXXRTL unless asked: the simulator every machine has after npm ci.
    simulator: opts.simulator ?? 'cxxrtl',
    optimize: 0,
    maxCyclesPerSample: gen.cycles.cycles * 4 + 100_000,
  });
  const expected = inputs.map((x) => runReference(gen.q, x));
  return { gen, sim, expected, inputs };
}

/** Every simulated sample's logits and class equal the fixed-point reference's. */
export function assertBitExact(r: RunResult): void {
  r.inputs.forEach((_, i) => {
    assert.deepEqual(Array.from(r.sim.logits[i]), Array.from(r.expected[i].output), `sample ${i}: logits`);
    assert.equal(r.sim.classes[i], r.expected[i].cls, `sample ${i}: class`);
  });
}

/** Every sample took the cycles src/rtl/cycles.ts predicts. */
export function assertCycles(r: RunResult): void {
  for (const c of r.sim.cycles) assert.equal(c, r.gen.cycles.cycles, 'simulated cycles == src/rtl/cycles.ts prediction');
}

/**
 * Synthesizes `gen` with Yosys (the synth stage's script) and simulates the netlist (cells_sim.v
 * semantics) on random inputs: every logit and class must equal the fixed-point reference, and the
 * cycles the prediction. Returns the synthesis result for further checks.
 */
export async function assertNetlistBitExact(gen: GeneratedRtl, name: string, samples: number, seed: number): Promise<{ resources: { dsp: number }; netlist: YosysNetlist }> {
  const dir = join(scratchDir(), `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const write = (files: Map<string, string>) =>
    [...files].map(([file, text]) => {
      writeFileSync(join(dir, file), text);
      return join(dir, file);
    });
  const sources = write(gen.verilog).filter((f) => !/\/tb_[^/]*$/.test(f));
  const dataFiles = write(gen.hex);
  const accel = await synthesize({ toolchain: selectToolchain('auto', ['yosys']), device: getDevice('ice40-up5k'), dir: join(dir, 'synth'), sources, dataFiles, top: gen.top, name: 'accel' });
  const netlist = JSON.parse(readFileSync(accel.netlistJson, 'utf8')) as YosysNetlist;
  const inputs = randomInputs(samples, gen.interface.inputElements, gen.interface.inputFormat.bits, seed);
  const r = runStreamOnNetlist(netlist, inputs.map((x) => encodeInputBytes(x, gen.interface.inputFormat)), { top: gen.top });
  for (const [s, x] of inputs.entries()) {
    const want = runReference(gen.q, x);
    assert.deepEqual(r.outputs[s], Array.from(want.output), `sample ${s}`);
    assert.equal(r.classes[s], want.cls, `sample ${s} class`);
  }
  assert.equal(Math.max(...r.cycles), gen.cycles.cycles, 'cycles per inference as predicted');
  return { resources: accel.resources, netlist };
}
