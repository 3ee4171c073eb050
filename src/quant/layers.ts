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
import { activationDelta, ternaryActivation, ternaryWeightQuantizer } from './ternary';

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
      if (kwargs['training']) {
        delta = activationDelta(y, q.threshold);
        const update = tf.tidy(() => (this.deltaSeen ? tf.add(tf.mul(this.movingDelta!.read(), q.momentum), tf.mul(delta, 1 - q.momentum)) : delta.clone()));
        this.movingDelta!.write(update);
        this.deltaSeen = true;
      } else {
        delta = this.movingDelta!.read() as tf.Tensor1D;
      }
      return ternaryActivation(y, delta);
    }
    const act = activationFn(this.activationName);
    if (!this.outputFixed) return act(y);
    // ReLU, ReLU6 and linear commute with the rounding; any other function reads the quantized sum as the C does.
    const commutes = ['linear', 'relu', 'relu6'].includes(this.activationName);
    return this.outputFixed(commutes ? act(y) : act(this.outputFixed(y)));
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

export type QuantizedLayer = QuantConv2D | QuantDepthwiseConv2D | QuantDense | QuantActivation | QuantAveragePooling2D;

export function isQuantizedLayer(l: tf.layers.Layer): l is QuantizedLayer {
  return l instanceof QuantizedBase;
}

for (const c of [QuantConv2D, QuantDepthwiseConv2D, QuantDense, QuantActivation, QuantAveragePooling2D]) tf.serialization.registerClass(c as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
