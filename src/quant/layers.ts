/**
 * Quantized TensorFlow.js layers for quantization-aware training: Conv2D, DepthwiseConv2D, Dense
 * and Activation with the Keras semantics of the standard layers (same names, same weight
 * variables `kernel`/`depthwise_kernel`/`bias`, so weights copy one to one between a float model and
 * its quantized twin), plus a weight quantizer applied to the kernel at every forward pass and an
 * output quantizer applied where the value leaves the layer.
 *
 * Where the quantizers sit matches the C (src/numerics/fixed.ts): a layer's kernel is quantized, its
 * sum leaves it once, in the activation format, after the activation function (ReLU commutes with
 * the rounding, so this equals the C's "requantize, then activate"). A ternary output replaces the
 * activation function by the ternarizer (src/quant/ternary.ts). A fixed-point layer's bias is
 * quantized to the grid of its accumulator (`bias` quantizer), where the C adds it.
 */
import * as tf from '@tensorflow/tfjs';
import type { FixedFormat } from '../numerics/fixed';
import { fakeQuantizer } from './fake-quant';
import { activationDelta, operandStatistics, type OperandStatistics, scaledTernaryOperand, ternaryActivation, ternaryWeightQuantizer } from './ternary';

export type WeightQuantizer = { kind: 'fixed'; format: FixedFormat } | { kind: 'ternary'; threshold: number };
export type OutputQuantizer = { kind: 'fixed'; format: FixedFormat } | { kind: 'ternary'; threshold: number; momentum: number };

export interface Quantizers {
  weights?: WeightQuantizer;
  /** Fixed mode: the bias on the accumulator's grid, as the C holds it (see model.ts). */
  bias?: FixedFormat;
  output?: OutputQuantizer;
}

type Kwargs = Record<string, unknown>;
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;
type Shape = (number | null)[];

const ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  softmax: (x) => tf.softmax(x),
};

function activationFn(name: string): (x: tf.Tensor) => tf.Tensor {
  const f = ACTIVATIONS[name];
  if (!f) throw new Error(`quantized layers do not know the activation '${name}' (known: ${Object.keys(ACTIVATIONS).join(', ')})`);
  return f;
}

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0] : inputs;
}

function windowOut(n: number | null, k: number, s: number, padding: 'valid' | 'same'): number | null {
  if (n === null) return null;
  return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  return Array.isArray(v) ? [v[0], v[1] ?? v[0]] : [v as number, v as number];
}

/** What a layer measures while calibrating (QuantizedBase.beginCalibration). */
export interface CalibrationParts {
  /** A ternary output's Δ per channel (set from the means of the batches' Δ). */
  output: boolean;
  /** A ternary recurrent layer's operand Δ and β (x_t, h_{t-1}). */
  operands: boolean;
  /**
   * A fixed-point output's range before its format: each sample's largest |y − m| for a common offset m
   * (outputRange; src/quant/qat.ts fitLogits). Measured only: nothing is set from it by the layer.
   */
  range: boolean;
}

/** A fixed-point output's measured range (CalibrationParts.range). */
export interface OutputRange {
  /** The mean of every output value over the samples: an offset common to all channels. */
  offset: number;
  /** The 99th percentile over the samples of each sample's largest |y − offset|. */
  p99: number;
  /** The same about 0 (for a layer without a bias to take the offset). */
  p99Raw: number;
  samples: number;
}

/**
 * The common tail of every quantized layer: activation and output quantizer, and the moving Δ of a
 * ternary output (a non-trainable weight named `ternary_delta`, one value per channel).
 */
abstract class QuantizedBase extends tf.layers.Layer {
  protected readonly activationName: string;
  protected readonly quant: Quantizers;
  private readonly outputFixed?: (x: tf.Tensor) => tf.Tensor;
  protected readonly biasQuantizer: (b: tf.Tensor) => tf.Tensor;
  protected movingDelta?: tf.LayerVariable;
  private deltaSeen = false;
  /** Set between beginCalibration({ output: true }) and endCalibration: each forward pass's Δ per channel, summed. */
  private deltaCalibration?: { batches: number; sum: Float64Array };
  /** Set between beginCalibration({ range: true }) and endCalibration: every output value before the format, by sample. */
  private rangeCalibration?: Float32Array[];
  private measuredRange?: OutputRange;

  constructor(args: { name?: string; activation?: string; quantizers: Quantizers }) {
    super({ name: args.name });
    this.activationName = args.activation ?? 'linear';
    this.quant = args.quantizers;
    activationFn(this.activationName);
    if (this.quant.output?.kind === 'fixed') this.outputFixed = fakeQuantizer(this.quant.output.format);
    this.biasQuantizer = this.quant.bias ? fakeQuantizer(this.quant.bias) : (b) => b;
  }

  protected addOutputState(channels: number): void {
    if (this.quant.output?.kind === 'ternary') {
      this.movingDelta = this.addWeight('ternary_delta', [channels], 'float32', tf.initializers.zeros(), undefined, false);
    }
  }

  /** Activation then output quantizer; `training` selects the batch Δ or the moving Δ of a ternary output. */
  protected finish(y: tf.Tensor, kwargs: Kwargs): tf.Tensor {
    const q = this.quant.output;
    if (q?.kind === 'ternary') {
      let delta: tf.Tensor1D;
      const cal = this.deltaCalibration;
      if (cal || kwargs['training']) {
        // The batch's Δ: summed for endCalibration while calibrating, else blended into the moving Δ.
        delta = activationDelta(y, q.threshold);
        if (cal) {
          const d = delta.dataSync();
          for (let c = 0; c < d.length; c++) cal.sum[c] += d[c];
          cal.batches++;
        } else {
          const update = tf.tidy(() => (this.deltaSeen ? tf.add(tf.mul(this.movingDelta!.read(), q.momentum), tf.mul(delta, 1 - q.momentum)) : delta.clone()));
          this.movingDelta!.write(update);
          this.deltaSeen = true;
        }
      } else {
        delta = this.movingDelta!.read() as tf.Tensor1D;
      }
      return ternaryActivation(y, delta);
    }
    const act = activationFn(this.activationName);
    if (this.rangeCalibration) {
      const rows = y.shape[0] ?? 1, values = act(y).dataSync() as Float32Array, width = values.length / rows;
      for (let r = 0; r < rows; r++) this.rangeCalibration.push(values.slice(r * width, (r + 1) * width));
    }
    if (!this.outputFixed) return act(y);
    // ReLU, ReLU6 and linear commute with the rounding; any other function reads the quantized sum as the C does.
    const commutes = ['linear', 'relu', 'relu6'].includes(this.activationName);
    return this.outputFixed(commutes ? act(y) : act(this.outputFixed(y)));
  }

  /** Does the layer ternarize its output (and so keep an inference Δ per channel)? */
  get hasTernaryOutput(): boolean {
    return !!this.movingDelta;
  }

  /** What the layer can calibrate (beginCalibration): a ternary output's Δ, a fixed-point output's range; a ternary recurrent layer's operands (QuantRecurrent). */
  get calibratable(): CalibrationParts {
    return { output: this.hasTernaryOutput, operands: false, range: !!this.outputFixed };
  }

  /**
   * Calibration of the layer's ternary inference statistics (src/quant/qat.ts calibrateTernaryStatistics),
   * one protocol for every kind: until endCalibration, every forward pass (also in inference mode)
   * ternarizes with its batch's statistics, as training does, and sums them; endCalibration sets the
   * inference statistics to their means over the batches: those of the current weights, where the
   * moving averages lag them. `parts` chooses among what the layer has (`calibratable`). Here a
   * ternary output's Δ per channel, and a fixed-point output's range, which is only measured
   * (`outputRange`, for src/quant/qat.ts fitLogits); QuantRecurrent adds its operands' Δ and β.
   */
  beginCalibration(parts: Partial<CalibrationParts>): void {
    if (parts.range) {
      if (!this.outputFixed) throw new Error(`layer ${this.name}: only a fixed-point output has a range to measure`);
      this.rangeCalibration = [];
      this.measuredRange = undefined;
    }
    if (!parts.output) return;
    if (!this.movingDelta) throw new Error(`layer ${this.name}: only a ternary output has a Δ to calibrate`);
    this.deltaCalibration = { batches: 0, sum: new Float64Array(this.movingDelta.shape[0]!) };
  }

  /** The range measured by the last calibration with `range` (undefined before one). */
  get outputRange(): OutputRange | undefined {
    return this.measuredRange;
  }

  endCalibration(): void {
    const rows = this.rangeCalibration;
    this.rangeCalibration = undefined;
    if (rows?.length) {
      let sum = 0, count = 0;
      for (const r of rows) for (const v of r) (sum += v), count++;
      const offset = sum / count;
      const p99 = (about: number) => {
        const peaks = Float64Array.from(rows, (r) => r.reduce((m, v) => Math.max(m, Math.abs(v - about)), 0)).sort();
        return peaks[Math.min(peaks.length - 1, Math.floor(0.99 * peaks.length))];
      };
      this.measuredRange = { offset, p99: p99(offset), p99Raw: p99(0), samples: rows.length };
    }
    const c = this.deltaCalibration;
    this.deltaCalibration = undefined;
    if (!c || c.batches === 0) return;
    tf.tidy(() => {
      this.movingDelta!.write(tf.tensor1d(Float32Array.from(c.sum, (v) => v / c.batches)));
    });
    this.deltaSeen = true;
  }

  /** The moving Δ per channel of a ternary output (for export), or undefined. */
  ternaryDelta(): Float32Array | undefined {
    return this.movingDelta ? (this.movingDelta.read().dataSync() as Float32Array).slice() : undefined;
  }

  quantizers(): Quantizers {
    return this.quant;
  }

  /** A bias as the layer adds it (on the accumulator's grid in fixed mode). */
  quantizeBias(b: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.clone(this.biasQuantizer(b)));
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), activation: this.activationName, quantizers: this.quant as unknown as tf.serialization.ConfigDictValue };
  }
}

function weightQuantizer(q: WeightQuantizer | undefined, layout: 'last' | 'depthwise'): (w: tf.Tensor) => tf.Tensor {
  if (!q) return (w) => w;
  if (q.kind === 'fixed') return fakeQuantizer(q.format);
  return ternaryWeightQuantizer(q.threshold, layout);
}

export interface QuantConvArgs {
  name?: string;
  filters: number;
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: 'valid' | 'same';
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  quantizers: Quantizers;
}

export class QuantConv2D extends QuantizedBase {
  static className = 'DeepMakerQuantConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly useBias: boolean;
  private readonly kernelInit: Initializer;
  private readonly wq: (w: tf.Tensor) => tf.Tensor;
  kernel?: tf.LayerVariable;
  bias?: tf.LayerVariable;

  constructor(args: QuantConvArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding ?? 'valid';
    this.useBias = args.useBias ?? true;
    this.kernelInit = args.kernelInitializer ?? tf.initializers.glorotUniform({});
    this.wq = weightQuantizer(args.quantizers.weights, 'last');
  }

  build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cin = s[s.length - 1] as number;
    this.kernel = this.addWeight('kernel', [...this.kernelSize, cin, this.filters], 'float32', this.kernelInit);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.addOutputState(this.filters);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [s[0], windowOut(s[1], this.kernelSize[0], this.strides[0], this.padding), windowOut(s[2], this.kernelSize[1], this.strides[1], this.padding), this.filters];
  }

  /** The kernel the layer computes with (quantized), for export and tests. */
  effectiveKernel(): tf.Tensor {
    return tf.tidy(() => this.wq(this.kernel!.read()));
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      let y: tf.Tensor = tf.conv2d(x, this.wq(this.kernel!.read()) as tf.Tensor4D, this.strides, this.padding);
      if (this.bias) y = tf.add(y, this.biasQuantizer(this.bias.read()));
      return this.finish(y, kwargs);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, strides: this.strides, padding: this.padding, useBias: this.useBias };
  }
}

export interface QuantDepthwiseArgs {
  name?: string;
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: 'valid' | 'same';
  activation?: string;
  useBias?: boolean;
  depthMultiplier?: number;
  depthwiseInitializer?: Initializer;
  quantizers: Quantizers;
}

export class QuantDepthwiseConv2D extends QuantizedBase {
  static className = 'DeepMakerQuantDepthwiseConv2D';
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same';
  readonly useBias: boolean;
  readonly depthMultiplier: number;
  private readonly kernelInit: Initializer;
  private readonly wq: (w: tf.Tensor) => tf.Tensor;
  kernel?: tf.LayerVariable;
  bias?: tf.LayerVariable;

  constructor(args: QuantDepthwiseArgs) {
    super(args);
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding ?? 'valid';
    this.useBias = args.useBias ?? true;
    this.depthMultiplier = args.depthMultiplier ?? 1;
    this.kernelInit = args.depthwiseInitializer ?? tf.initializers.glorotUniform({});
    this.wq = weightQuantizer(args.quantizers.weights, 'depthwise');
  }

  build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cin = s[s.length - 1] as number;
    this.kernel = this.addWeight('depthwise_kernel', [...this.kernelSize, cin, this.depthMultiplier], 'float32', this.kernelInit);
    if (this.useBias) this.bias = this.addWeight('bias', [cin * this.depthMultiplier], 'float32', tf.initializers.zeros());
    this.addOutputState(cin * this.depthMultiplier);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const c = s[3] === null ? null : (s[3] as number) * this.depthMultiplier;
    return [s[0], windowOut(s[1], this.kernelSize[0], this.strides[0], this.padding), windowOut(s[2], this.kernelSize[1], this.strides[1], this.padding), c];
  }

  effectiveKernel(): tf.Tensor {
    return tf.tidy(() => this.wq(this.kernel!.read()));
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor4D;
      let y: tf.Tensor = tf.depthwiseConv2d(x, this.wq(this.kernel!.read()) as tf.Tensor4D, this.strides, this.padding);
      if (this.bias) y = tf.add(y, this.biasQuantizer(this.bias.read()));
      return this.finish(y, kwargs);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernelSize: this.kernelSize, strides: this.strides, padding: this.padding, useBias: this.useBias, depthMultiplier: this.depthMultiplier };
  }
}

export interface QuantDenseArgs {
  name?: string;
  units: number;
  activation?: string;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  quantizers: Quantizers;
}

export class QuantDense extends QuantizedBase {
  static className = 'DeepMakerQuantDense';
  readonly units: number;
  readonly useBias: boolean;
  private readonly kernelInit: Initializer;
  private readonly wq: (w: tf.Tensor) => tf.Tensor;
  kernel?: tf.LayerVariable;
  bias?: tf.LayerVariable;

  constructor(args: QuantDenseArgs) {
    super(args);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
    this.kernelInit = args.kernelInitializer ?? tf.initializers.glorotUniform({});
    this.wq = weightQuantizer(args.quantizers.weights, 'last');
  }

  build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    this.kernel = this.addWeight('kernel', [s[s.length - 1] as number, this.units], 'float32', this.kernelInit);
    if (this.useBias) this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.addOutputState(this.units);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return [...s.slice(0, -1), this.units];
  }

  effectiveKernel(): tf.Tensor {
    return tf.tidy(() => this.wq(this.kernel!.read()));
  }

  /**
   * y ← scale·(y − offset): the kernel times scale, the bias (b − offset)·scale. A ternary kernel's
   * codes stay (its threshold is relative to mean|w|) and its α scales; a linear output's argmax stays.
   */
  rescaleOutput(scale: number, offset: number): void {
    if (!(scale > 0)) throw new RangeError(`layer ${this.name}: output scale ${scale}`);
    tf.tidy(() => {
      this.kernel!.write(tf.mul(this.kernel!.read(), scale));
      if (this.bias) this.bias.write(tf.mul(tf.sub(this.bias.read(), offset), scale));
    });
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(x, this.wq(this.kernel!.read()) as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.biasQuantizer(this.bias.read()));
      return this.finish(y, kwargs);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, useBias: this.useBias };
  }
}

/** A standalone activation (after BatchNormalization) with its output quantizer. */
export class QuantActivation extends QuantizedBase {
  static className = 'DeepMakerQuantActivation';

  build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    this.addOutputState(s[s.length - 1] as number);
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => this.finish(one(inputs), kwargs));
  }
}

/**
 * Average pooling (windowed or global) followed by the output quantizer: the C divides the exact
 * sum by the window count and rounds once to the activations format (fixed.ts requantizeDiv), also
 * when the input is ternary (an average of ternary values is not ternary).
 */
export class QuantAveragePooling2D extends QuantizedBase {
  static className = 'DeepMakerQuantAveragePooling2D';
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly global: boolean;

  constructor(args: { name?: string; poolSize?: number | number[]; strides?: number | number[]; global?: boolean; quantizers: Quantizers }) {
    super({ name: args.name, quantizers: args.quantizers });
    this.global = !!args.global;
    this.poolSize = pair(args.poolSize, 2);
    this.strides = pair(args.strides ?? args.poolSize, 2);
  }

  build(): void {
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (this.global) return [s[0], s[s.length - 1]];
    return [s[0], windowOut(s[1], this.poolSize[0], this.strides[0], 'valid'), windowOut(s[2], this.poolSize[1], this.strides[1], 'valid'), s[3]];
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs);
      // Global: over the spatial axes of an image [B, H, W, C], or the steps of a sequence [B, T, F] (GlobalAveragePooling1D).
      const y = this.global ? tf.mean(x, x.rank === 3 ? [1] : [1, 2]) : tf.avgPool(x as tf.Tensor4D, this.poolSize, this.strides, 'valid');
      return this.finish(y, kwargs);
    });
  }

  getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), poolSize: this.poolSize, strides: this.strides, global: this.global };
  }
}

/** The functions of a recurrent cell (src/nn/arch.ts RecurrentActivation), with TF.js's hard_sigmoid clip(0.2x + 0.5, 0, 1). */
const CELL_ACTIVATIONS: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  linear: (x) => x,
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  tanh: (x) => tf.tanh(x),
  sigmoid: (x) => tf.sigmoid(x),
  hard_sigmoid: (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1),
};

function cellActivationFn(name: string): (x: tf.Tensor) => tf.Tensor {
  const f = CELL_ACTIVATIONS[name];
  if (!f) throw new Error(`quantized recurrent layers do not know the activation '${name}' (known: ${Object.keys(CELL_ACTIVATIONS).join(', ')})`);
  return f;
}

export interface QuantRecurrentArgs {
  name?: string;
  cell: 'lstm' | 'gru' | 'simple_rnn';
  units: number;
  returnSequences?: boolean;
  /** Keras names (tanh, sigmoid, hard_sigmoid, relu, relu6, linear). */
  activation?: string;
  recurrentActivation?: string;
  /** LSTM: the forget gate's bias starts at 1 (Keras's unit_forget_bias). */
  unitForgetBias?: boolean;
  kernelInitializer?: Initializer;
  recurrentInitializer?: Initializer;
  /**
   * weights: the kernel and the recurrent kernel (one format, as in the C; or ternary, α·t per
   * column); bias: on the gate sums' grid (fixed mode); output: every stored value of the cell;
   * operands (ternary weights only, FaCT-LSTM): the gate products read x_t and h_{t-1} ternarized.
   */
  quantizers: { weights: WeightQuantizer; bias?: FixedFormat; output: OutputQuantizer & { kind: 'fixed' }; operands?: { threshold: number; momentum: number } };
}

/** The running Δ and β of a ternary recurrent layer's operands (inference values; src/quant/ternary.ts OperandStatistics). */
interface OperandState {
  xDelta: tf.Variable;
  xScale: tf.Variable;
  hDelta: tf.Variable;
  hScale: tf.Variable;
  seen: boolean;
}

/**
 * The quantization-aware twin of TF.js's LSTM, GRU (reset_after false, the only GRU TF.js trains)
 * and SimpleRNN: the same weights in the same order (kernel [features, g·u], recurrent_kernel
 * [u, g·u], bias [g·u]; Keras's gate order LSTM i, f, c, o; GRU z, r, h), so weights copy one to
 * one with the float layer, and the cell unrolled over the time steps with a fake quantizer
 * (straight-through estimator, fake-quant.ts) wherever the fixed-point C rounds
 * (src/cgen/recurrent.ts; O is the layer's output format, the activations format):
 *  - the kernel and the recurrent kernel in the weight format W, the bias on the gate sums' grid;
 *  - each gate's sum bias + x·W + h·U, requantized once to O, then its activation, rounded to O
 *    (the C's tanh/sigmoid table is within a rounding of the float function: close, not bit-exact);
 *  - LSTM: c = O(f·c + i·g), h = O(o·O(act(c)));
 *    GRU: r ⊙ h = O(r·h) feeds the candidate gate, h = O(hh + z·(h − hh));
 *    SimpleRNN: h = the gate's output.
 * Every stored value is then exactly on O's grid and within its range, as in the C; only the
 * activation functions differ by up to one rounding. The TF.js integer reference (recurrent.ts) is
 * the bit-exact model of the C; this layer is what fine-tuning trains.
 *
 * Ternary mode (FaCT-LSTM; LSTM and SimpleRNN): the kernel and the recurrent kernel are α·t per
 * column (ToT-Net's rule, straight-through gradient), and the gate products read the ternarized
 * operands β_x·t(x_t) and β_h·t(h_{t-1}) (src/quant/ternary.ts scaledTernaryOperand: Δ per input
 * feature and per unit, one β per operand, identity straight-through gradient). In training Δ and β
 * are the batch's (x: over the batch and the steps; h: per step over the batch); inference uses
 * their moving averages (momentum as quantize.ternary.momentum; h's averaged over the steps after
 * the first, where h = 0), which fine-tuning first sets to their means over training samples, before
 * the first epoch (src/quant/qat.ts calibrateTernaryStatistics). The gate sums, activations, c and h stay in the fixed-point format O as
 * above: ternarizing them would leave the tanh/sigmoid tables three inputs each and the cell state
 * no memory finer than its scale. The C computes α·β once per column (src/qmodel/apply.ts).
 */
export class QuantRecurrent extends QuantizedBase {
  static className = 'DeepMakerQuantRecurrent';
  readonly cell: 'lstm' | 'gru' | 'simple_rnn';
  readonly units: number;
  readonly returnSequences: boolean;
  readonly cellActivation: string;
  readonly cellRecurrentActivation: string;
  readonly unitForgetBias: boolean;
  private readonly kernelInit: Initializer;
  private readonly recurrentInit: Initializer;
  private readonly wq: (w: tf.Tensor) => tf.Tensor;
  private readonly sq: (x: tf.Tensor) => tf.Tensor;
  private readonly operandOptions?: { threshold: number; momentum: number };
  private operands?: OperandState;
  /** Set between beginCalibration({ operands: true }) and endCalibration: each forward pass's batch statistics, summed. */
  private calibration?: { batches: number; xDelta: Float64Array; xScale: number; hDelta: Float64Array; hScale: number; hBatches: number };
  kernel?: tf.LayerVariable;
  recurrentKernel?: tf.LayerVariable;
  bias?: tf.LayerVariable;

  constructor(args: QuantRecurrentArgs) {
    super({ name: args.name, quantizers: args.quantizers });
    this.cell = args.cell;
    this.units = args.units;
    this.returnSequences = !!args.returnSequences;
    this.cellActivation = args.activation ?? 'tanh';
    this.cellRecurrentActivation = args.recurrentActivation ?? 'sigmoid';
    cellActivationFn(this.cellActivation);
    cellActivationFn(this.cellRecurrentActivation);
    this.unitForgetBias = !!args.unitForgetBias && args.cell === 'lstm';
    this.kernelInit = args.kernelInitializer ?? tf.initializers.glorotUniform({});
    this.recurrentInit = args.recurrentInitializer ?? tf.initializers.orthogonal({});
    const w = args.quantizers.weights;
    if (w.kind === 'ternary') {
      if (args.cell === 'gru') throw new Error(`recurrent layer ${args.name}: ternary recurrent layers are LSTM and SimpleRNN`);
      if (!args.quantizers.operands) throw new Error(`recurrent layer ${args.name}: ternary weights need the operand options`);
      this.operandOptions = args.quantizers.operands;
    }
    this.wq = w.kind === 'fixed' ? fakeQuantizer(w.format) : ternaryWeightQuantizer(w.threshold, 'last');
    this.sq = fakeQuantizer(args.quantizers.output.format);
  }

  /** Ternary mode: the operands' inference Δ and β, as quantization.json carries them (src/qmodel/file.ts). */
  ternaryOperands(): { input: { thresholds: number[]; scale: number }; state: { thresholds: number[]; scale: number } } | undefined {
    const o = this.operands;
    if (!o) return undefined;
    const read = (v: tf.Variable) => Array.from(v.dataSync());
    return { input: { thresholds: read(o.xDelta), scale: read(o.xScale)[0] }, state: { thresholds: read(o.hDelta), scale: read(o.hScale)[0] } };
  }

  /** Ternary mode: the layer keeps operand statistics outside its weights (see build). */
  get hasTernaryOperands(): boolean {
    return !!this.operandOptions;
  }

  get calibratable(): CalibrationParts {
    return { ...super.calibratable, operands: this.hasTernaryOperands };
  }

  /**
   * The operands' part of the calibration (QuantizedBase.beginCalibration): the Δ and β of x_t and
   * h_{t-1}. Without it they start at zero (every operand code 0) and the float weights the
   * fine-tuning starts from are judged, and first validated, with an all-zero gate input.
   */
  beginCalibration(parts: Partial<CalibrationParts>): void {
    super.beginCalibration(parts);
    if (!parts.operands) return;
    if (!this.operands) throw new Error(`recurrent layer ${this.name}: only ternary recurrent layers have operand statistics to calibrate`);
    const features = this.operands.xDelta.shape[0]!;
    this.calibration = { batches: 0, xDelta: new Float64Array(features), xScale: 0, hDelta: new Float64Array(this.units), hScale: 0, hBatches: 0 };
  }

  endCalibration(): void {
    super.endCalibration();
    const c = this.calibration, o = this.operands;
    this.calibration = undefined;
    if (!c || !o || c.batches === 0) return;
    tf.tidy(() => {
      o.xDelta.assign(tf.tensor1d(Float32Array.from(c.xDelta, (v) => v / c.batches)));
      o.xScale.assign(tf.scalar(c.xScale / c.batches));
      if (c.hBatches) {
        o.hDelta.assign(tf.tensor1d(Float32Array.from(c.hDelta, (v) => v / c.hBatches)));
        o.hScale.assign(tf.scalar(c.hScale / c.hBatches));
      }
    });
    o.seen = true;
  }

  /** The operand statistics (inference Δ and β) as tensors, to restore with restoreState: early stopping keeps them with the weights. */
  saveState(): tf.Tensor[] {
    const o = this.operands;
    if (!o) return [];
    const state: tf.Tensor[] = [o.xDelta, o.xScale, o.hDelta, o.hScale].map((v) => tf.keep(v.clone()));
    return [...state, tf.keep(tf.scalar(o.seen ? 1 : 0))];
  }

  restoreState(state: tf.Tensor[]): void {
    const o = this.operands;
    if (!o) return;
    if (state.length !== 5) throw new Error(`recurrent layer ${this.name}: a saved state has ${state.length} tensors, expected 5`);
    [o.xDelta, o.xScale, o.hDelta, o.hScale].forEach((v, i) => v.assign(state[i]));
    o.seen = state[4].dataSync()[0] === 1;
  }

  dispose(): ReturnType<tf.layers.Layer['dispose']> {
    const out = super.dispose();
    if (out.refCountAfterDispose === 0 && this.operands) {
      const o = this.operands;
      tf.dispose([o.xDelta, o.xScale, o.hDelta, o.hScale]);
      this.operands = undefined;
    }
    return out;
  }

  get gates(): number {
    return this.cell === 'lstm' ? 4 : this.cell === 'gru' ? 3 : 1;
  }

  build(inputShape: Shape | Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const cols = this.gates * this.units;
    this.kernel = this.addWeight('kernel', [s[s.length - 1] as number, cols], 'float32', this.kernelInit);
    this.recurrentKernel = this.addWeight('recurrent_kernel', [this.units, cols], 'float32', this.recurrentInit);
    this.bias = this.addWeight('bias', [cols], 'float32', tf.initializers.zeros());
    if (this.unitForgetBias) {
      const u = this.units;
      const b = tf.tidy(() => tf.concat([tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])]));
      this.bias.write(b);
      b.dispose();
    }
    if (this.operandOptions) {
      // Not layer weights: the twin keeps the float layer's three weights, so weights copy one to one.
      const features = s[s.length - 1] as number;
      this.operands = {
        xDelta: tf.variable(tf.zeros([features]), false),
        xScale: tf.variable(tf.zeros([]), false),
        hDelta: tf.variable(tf.zeros([this.units]), false),
        hScale: tf.variable(tf.zeros([]), false),
        seen: false,
      };
    }
    this.built = true;
  }

  computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    return this.returnSequences ? [s[0], s[1], this.units] : [s[0], this.units];
  }

  /** The kernel and the recurrent kernel the layer computes with (quantized), for export and tests. */
  effectiveKernels(): [tf.Tensor, tf.Tensor] {
    return tf.tidy(() => [this.wq(this.kernel!.read()), this.wq(this.recurrentKernel!.read())] as [tf.Tensor, tf.Tensor]);
  }

  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = one(inputs) as tf.Tensor3D;
      const [batch, steps, features] = x.shape;
      const u = this.units, cols = this.gates * u;
      const act = cellActivationFn(this.cellActivation), ract = cellActivationFn(this.cellRecurrentActivation);
      const O = this.sq;
      const W = this.wq(this.kernel!.read()) as tf.Tensor2D;
      const U = this.wq(this.recurrentKernel!.read()) as tf.Tensor2D;
      const ops = this.operands, opt = this.operandOptions;
      const training = !!kwargs['training'];
      const cal = this.calibration;
      // The batch's statistics: in training, and while calibrating.
      const batchStatistics = training || !!cal;
      // Ternary: the operands of the gate products, β·t(v) (the batch's Δ and β in training, the moving ones otherwise).
      let xin: tf.Tensor = x;
      let xStats: OperandStatistics | undefined;
      const hStats: OperandStatistics[] = [];
      if (ops && opt) {
        xStats = batchStatistics ? operandStatistics(x, opt.threshold) : undefined;
        xin = scaledTernaryOperand(x, xStats?.delta ?? ops.xDelta, xStats?.scale ?? ops.xScale);
      }
      const operand = (h: tf.Tensor2D, t: number): tf.Tensor2D => {
        if (!ops || !opt) return h;
        // h = 0 before the first step: its codes are 0 whatever Δ (and its statistics would say nothing).
        if (t === 0) return h;
        let d: tf.Tensor = ops.hDelta, sc: tf.Tensor = ops.hScale;
        if (batchStatistics) {
          // Each step's batch values in training. (Session 12 tried the inference values, one Δ_h and β_h for
          // every step, in training too: the FaCT-LSTM of models/mnist-lstm-ternary validated no better, 94.85 %
          // against 94.77 %, and tested 94.65 % against 95.33 %.)
          const st = operandStatistics(h, opt.threshold);
          hStats.push(st);
          d = st.delta;
          sc = st.scale;
        }
        return scaledTernaryOperand(h, d, sc) as tf.Tensor2D;
      };
      // x·W + b of every step at once (the C sums them per step; the sum is the same).
      let xw: tf.Tensor = tf.matMul(tf.reshape(xin, [batch * steps, features]), W);
      if (this.bias) xw = tf.add(xw, this.biasQuantizer(this.bias.read()));
      const xs = tf.unstack(tf.reshape(xw, [batch, steps, cols]), 1) as tf.Tensor2D[];
      let h: tf.Tensor2D = tf.zeros([batch, u]);
      let c: tf.Tensor2D = tf.zeros([batch, u]);
      const outs: tf.Tensor2D[] = [];
      const [uzr, uh] = this.cell === 'gru' ? [tf.slice(U, [0, 0], [u, 2 * u]), tf.slice(U, [0, 2 * u], [u, u])] : [U, U];
      for (let t = 0; t < steps; t++) {
        if (this.cell === 'lstm') {
          const [zi, zf, zc, zo] = tf.split(O(tf.add(xs[t], tf.matMul(operand(h, t), U))), 4, 1);
          const i = O(ract(zi)), f = O(ract(zf)), g = O(act(zc)), o = O(ract(zo));
          c = O(tf.add(tf.mul(f, c), tf.mul(i, g))) as tf.Tensor2D;
          h = O(tf.mul(o, O(act(c)))) as tf.Tensor2D;
        } else if (this.cell === 'gru') {
          const [xzr, xh] = tf.split(xs[t], [2 * u, u], 1);
          const [zz, zr] = tf.split(O(tf.add(xzr, tf.matMul(h, uzr))), 2, 1);
          const z = O(ract(zz)), r = O(ract(zr));
          const rh = O(tf.mul(r, h)) as tf.Tensor2D;
          const hh = O(act(O(tf.add(xh, tf.matMul(rh, uh)))));
          h = O(tf.add(hh, tf.mul(z, tf.sub(h, hh)))) as tf.Tensor2D;
        } else {
          h = O(act(O(tf.add(xs[t], tf.matMul(operand(h, t), U))))) as tf.Tensor2D;
        }
        outs.push(h);
      }
      if (cal && xStats) this.accumulateCalibration(cal, xStats, hStats);
      else if (training && ops && opt && xStats) this.updateOperandStatistics(xStats, hStats, opt.momentum);
      return this.returnSequences ? tf.stack(outs, 1) : h;
    });
  }

  /** Adds one batch's statistics to the calibration sums (h's averaged over the steps of the batch first, as the moving averages are). */
  private accumulateCalibration(cal: NonNullable<QuantRecurrent['calibration']>, x: OperandStatistics, h: OperandStatistics[]): void {
    const xd = x.delta.dataSync();
    for (let i = 0; i < xd.length; i++) cal.xDelta[i] += xd[i];
    cal.xScale += x.scale.dataSync()[0];
    cal.batches++;
    if (!h.length) return;
    const [hd, hs] = tf.tidy(() => [tf.mean(tf.stack(h.map((s) => s.delta)), 0).dataSync(), tf.mean(tf.stack(h.map((s) => s.scale))).dataSync()]);
    for (let j = 0; j < hd.length; j++) cal.hDelta[j] += hd[j];
    cal.hScale += hs[0];
    cal.hBatches++;
  }

  /** Moving averages of the operands' Δ and β (h's averaged over the steps of this batch first). */
  private updateOperandStatistics(x: OperandStatistics, h: OperandStatistics[], momentum: number): void {
    const o = this.operands!;
    tf.tidy(() => {
      const blend = (v: tf.Variable, batch: tf.Tensor) => v.assign(o.seen ? tf.add(tf.mul(v, momentum), tf.mul(batch, 1 - momentum)) : batch);
      blend(o.xDelta, x.delta);
      blend(o.xScale, x.scale);
      if (h.length) {
        blend(o.hDelta, tf.mean(tf.stack(h.map((s) => s.delta)), 0));
        blend(o.hScale, tf.mean(tf.stack(h.map((s) => s.scale))));
      }
    });
    o.seen = true;
  }

  getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(), cell: this.cell, units: this.units, returnSequences: this.returnSequences,
      activation: this.cellActivation, recurrentActivation: this.cellRecurrentActivation, unitForgetBias: this.unitForgetBias,
    };
  }
}

export type QuantizedLayer = QuantConv2D | QuantDepthwiseConv2D | QuantDense | QuantActivation | QuantAveragePooling2D | QuantRecurrent;

export function isQuantizedLayer(l: tf.layers.Layer): l is QuantizedLayer {
  return l instanceof QuantizedBase;
}

for (const c of [QuantConv2D, QuantDepthwiseConv2D, QuantDense, QuantActivation, QuantAveragePooling2D, QuantRecurrent]) tf.serialization.registerClass(c as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
