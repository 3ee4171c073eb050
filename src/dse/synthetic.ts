/**
 * Small synthetic models for the calibration harness and the tests: a ModelIR built directly (no
 * Keras file), with seeded random weights so that Yosys cannot fold a ROM away, and the number
 * knobs the RTL and C back ends read.
 */
import type { NumberKnobs } from '../qmodel/precision';
import type { Activation, Layer, ModelIR } from '../ir/types';
import { assignLoopNestIds } from '../ir/assignLoopNestIds';
import { Rng } from '../moo/rng';

export function fixedKnobs(bits: number, integer: number, accumulatorBits = 0): NumberKnobs {
  return { mode: 'fixed', weights: { bits, integer }, biases: { bits, integer }, activations: { bits, integer }, accumulatorBits, rounding: 'half-even', overflow: 'saturate' };
}

const LINEAR: Activation = { kind: 'linear' };
const RELU: Activation = { kind: 'relu' };

function windowOut(n: number, k: number, s: number, pad: 'valid' | 'same'): number {
  return pad === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

/**
 * Ternary layers as the quantization pass leaves them: codes held as fixed<2,2>, per-channel scales and their
 * format; with `out`, ternary activations too (ToT-Net: a threshold Δ per channel, the output codes fixed<2,2>).
 */
function ternaryParts(channels: number, rng: Rng, out = false): Pick<Layer, 'ternary' | 'precision'> & Partial<Pick<Layer, 'activation'>> {
  const f = (bits: number, integer: number) => ({ bits, integer, rounding: 'half-even' as const, overflow: 'saturate' as const });
  const parts = { ternary: { scale: Float32Array.from({ length: channels }, () => 0.25 + rng.next()) }, precision: { weights: f(2, 2), scale: f(6, 1) } };
  if (!out) return parts;
  const thresholds = Array.from({ length: channels }, () => 0.2 + rng.next());
  return { ...parts, precision: { ...parts.precision, output: f(2, 2) }, activation: { kind: 'ternary', thresholds } };
}

/** A chain of layers with seeded weights. */
export class SyntheticModel {
  private readonly layers: Layer[] = [];
  private readonly rng: Rng;
  constructor(readonly name: string, input: number[], seed: number | string = 1) {
    this.rng = new Rng(`synthetic:${name}:${seed}`);
    this.layers.push({ name: 'input', type: 'input', inputs: [], inputShapes: [], outputShape: input, activation: LINEAR, weights: {} });
  }
  private get last(): Layer {
    return this.layers[this.layers.length - 1];
  }
  private values(n: number, scale: number): Float32Array {
    return Float32Array.from({ length: n }, () => this.rng.uniform(-scale, scale));
  }
  private ternary(n: number): Float32Array {
    return Float32Array.from({ length: n }, () => {
      const u = this.rng.next();
      return u < 0.3 ? -1 : u < 0.6 ? 1 : 0;
    });
  }
  private push(l: Omit<Layer, 'inputs' | 'inputShapes'>): this {
    const prev = this.last;
    this.layers.push({ ...l, inputs: [prev.name], inputShapes: [prev.outputShape] } as Layer);
    return this;
  }
  conv2d(name: string, filters: number, k: number, o: { stride?: number; padding?: 'valid' | 'same'; relu?: boolean; ternary?: boolean; ternaryOut?: boolean } = {}): this {
    const [h, w, c] = this.last.outputShape;
    const s = o.stride ?? 1;
    const pad = o.padding ?? 'valid';
    const n = k * k * c * filters;
    return this.push({
      name, type: 'conv2d', filters, kernel: [k, k], strides: [s, s], dilation: [1, 1], padding: pad, useBias: true,
      outputShape: [windowOut(h, k, s, pad), windowOut(w, k, s, pad), filters], activation: o.relu === false ? LINEAR : RELU,
      weights: { kernel: { shape: [k, k, c, filters], data: o.ternary ? this.ternary(n) : this.values(n, 0.5) }, bias: { shape: [filters], data: this.values(filters, 0.5) } },
      ...(o.ternary ? ternaryParts(filters, this.rng, o.ternaryOut) : {}),
    });
  }
  depthwise(name: string, k: number, o: { padding?: 'valid' | 'same' } = {}): this {
    const [h, w, c] = this.last.outputShape;
    const pad = o.padding ?? 'valid';
    return this.push({
      name, type: 'depthwise_conv2d', depthMultiplier: 1, kernel: [k, k], strides: [1, 1], dilation: [1, 1], padding: pad, useBias: true,
      outputShape: [windowOut(h, k, 1, pad), windowOut(w, k, 1, pad), c], activation: RELU,
      weights: { kernel: { shape: [k, k, c, 1], data: this.values(k * k * c, 0.5) }, bias: { shape: [c], data: this.values(c, 0.5) } },
    });
  }
  pool(name: string, kind: 'maxpool2d' | 'avgpool2d', p: number, o: { stride?: number; padding?: 'valid' | 'same' } = {}): this {
    const [h, w, c] = this.last.outputShape;
    const s = o.stride ?? p;
    const pad = o.padding ?? 'valid';
    return this.push({ name, type: kind, pool: [p, p], strides: [s, s], padding: pad, outputShape: [windowOut(h, p, s, pad), windowOut(w, p, s, pad), c], activation: LINEAR, weights: {} });
  }
  globalAvgPool(name: string): this {
    const shape = this.last.outputShape;
    return this.push({ name, type: 'global_avgpool2d', outputShape: [shape[shape.length - 1]], activation: LINEAR, weights: {} });
  }
  flatten(name = 'flatten'): this {
    return this.push({ name, type: 'flatten', outputShape: [this.last.outputShape.reduce((a, b) => a * b, 1)], activation: LINEAR, weights: {} });
  }
  dense(name: string, units: number, o: { relu?: boolean; ternary?: boolean; ternaryOut?: boolean } = {}): this {
    const shape = this.last.outputShape;
    const cin = shape[shape.length - 1];
    return this.push({
      name, type: 'dense', units, useBias: true, outputShape: [...shape.slice(0, -1), units], activation: o.relu ? RELU : LINEAR,
      weights: { kernel: { shape: [cin, units], data: o.ternary ? this.ternary(cin * units) : this.values(cin * units, 0.5) }, bias: { shape: [units], data: this.values(units, 0.5) } },
      ...(o.ternary ? ternaryParts(units, this.rng, o.ternaryOut) : {}),
    });
  }
  build(): ModelIR {
    const ir: ModelIR = { name: this.name, source: { format: 'keras-h5', file: `${this.name}.synthetic` }, layers: this.layers.map((l) => ({ ...l })), inputs: ['input'], outputs: [this.last.name] };
    return assignLoopNestIds(ir);
  }
}

/** LeNet-5 as the seed describes it (28x28 input, two 5x5 convs with pools, three dense layers). */
export function lenet5(seed: number | string = 1): ModelIR {
  return new SyntheticModel('lenet5', [28, 28, 1], seed)
    .conv2d('conv1', 6, 5)
    .pool('pool1', 'maxpool2d', 2)
    .conv2d('conv2', 16, 5)
    .pool('pool2', 'maxpool2d', 2)
    .flatten()
    .dense('fc1', 120, { relu: true })
    .dense('fc2', 84, { relu: true })
    .dense('fc3', 10)
    .build();
}
