/**
 * Architecture -> tf.LayersModel (functional API), instantiating the layer plan of plan.ts one to
 * one: same names, same configurations, so architectureCost() describes the built model exactly.
 * The model outputs logits (no softmax in the graph): the converter and the hardware see the
 * values an argmax needs, and training uses a from-logits loss.
 *
 * Quantization-aware training plugs in through `layerFactory`: it may return its own layer (e.g. a
 * Conv2D subclass that fake-quantizes its kernel) for any planned layer, or defer to the default.
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture } from './arch';
import { planArchitecture, type PlannedLayer } from './plan';

export type TfLayer = tf.layers.Layer;

export interface BuildOptions {
  /** Seed of the weight initializers; equal seeds give equal initial weights. */
  seed?: number;
  /**
   * Called for every planned layer; return a layer to use instead of the default one, or
   * undefined for the default. `defaults` creates the standard layer (the same arguments the
   * builder would use), so a wrapper can reuse them.
   */
  layerFactory?: (planned: PlannedLayer, defaults: () => TfLayer, args: Record<string, unknown>) => TfLayer | undefined;
}

/** Keras names of the activations the plan uses. */
function kerasActivation(a: string | undefined): string {
  return a ?? 'linear';
}

/** TF.js's identifier of an activation (hard_sigmoid is `hardSigmoid` there; it saves it as Keras's name). */
function tfjsActivation(a: string | undefined): string {
  return a === 'hard_sigmoid' ? 'hardSigmoid' : kerasActivation(a);
}

/** The arguments of the standard tf.layers constructor for a planned layer (seeded initializers). */
export function layerArgs(l: PlannedLayer, seed: number, index: number): Record<string, unknown> {
  // Each layer draws from its own seed so inserting a layer does not shift every later one's init.
  const s = (seed * 1000003 + index * 7919) % 2147483647;
  const c = l.config;
  switch (l.kind) {
    case 'Conv2D':
      return {
        name: l.name, filters: c.filters, kernelSize: c.kernel, strides: c.stride, padding: c.padding,
        activation: kerasActivation(c.activation), useBias: c.useBias,
        kernelInitializer: tf.initializers.glorotUniform({ seed: s }), biasInitializer: 'zeros',
      };
    case 'DepthwiseConv2D':
      return {
        name: l.name, kernelSize: c.kernel, strides: c.stride, padding: c.padding, depthMultiplier: 1,
        activation: kerasActivation(c.activation), useBias: c.useBias,
        depthwiseInitializer: tf.initializers.glorotUniform({ seed: s }), biasInitializer: 'zeros',
      };
    case 'Dense':
      return { name: l.name, units: c.units, activation: kerasActivation(c.activation), kernelInitializer: tf.initializers.glorotUniform({ seed: s }), biasInitializer: 'zeros' };
    case 'LSTM':
    case 'GRU':
    case 'SimpleRNN': {
      // Keras's initialisers: glorot-uniform kernels, orthogonal recurrent kernels (seeded; its
      // slowness warning is for matrices far larger than a recurrent kernel here), zero biases.
      const recurrentInitializer = tf.initializers.orthogonal({ seed: (s + 1) % 2147483647 });
      (recurrentInitializer as unknown as { ELEMENTS_WARN_SLOW: number }).ELEMENTS_WARN_SLOW = Infinity;
      return {
        name: l.name, units: c.units, returnSequences: c.returnSequences, activation: tfjsActivation(c.activation),
        ...(c.recurrentActivation ? { recurrentActivation: tfjsActivation(c.recurrentActivation) } : {}),
        ...(l.kind === 'LSTM' ? { unitForgetBias: true } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: s }), recurrentInitializer, biasInitializer: 'zeros',
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return { name: l.name, poolSize: c.pool, strides: c.stride, padding: 'valid' };
    case 'Dropout':
      return { name: l.name, rate: c.rate, seed: s };
    case 'Activation':
      return { name: l.name, activation: kerasActivation(c.activation) };
    case 'Concatenate':
      return { name: l.name, axis: -1 };
    case 'BatchNormalization':
      // Momentum 0.9 rather than Keras' 0.99: the search trains candidates for a few hundred steps,
      // too few for 0.99's moving statistics to forget their initial values (mean 0, variance 1).
      return { name: l.name, axis: -1, momentum: 0.9, epsilon: 1e-3 };
    default:
      return { name: l.name };
  }
}

export function defaultLayer(l: PlannedLayer, args: Record<string, unknown>): TfLayer {
  const L = tf.layers as unknown as Record<string, (a: unknown) => TfLayer>;
  const ctor: Record<PlannedLayer['kind'], string> = {
    Conv2D: 'conv2d', DepthwiseConv2D: 'depthwiseConv2d', MaxPooling2D: 'maxPooling2d', AveragePooling2D: 'averagePooling2d',
    GlobalAveragePooling2D: 'globalAveragePooling2d', Flatten: 'flatten', Dense: 'dense', Dropout: 'dropout',
    BatchNormalization: 'batchNormalization', Concatenate: 'concatenate', Activation: 'activation',
    LSTM: 'lstm', GRU: 'gru', SimpleRNN: 'simpleRNN', GlobalAveragePooling1D: 'globalAveragePooling1d', GlobalMaxPooling1D: 'globalMaxPooling1d',
  };
  return L[ctor[l.kind]](args);
}

/** Builds the model of `arch`. Throws DeepMakerError (from the plan) when a shape does not work out. */
export function buildModel(arch: Architecture, opts: BuildOptions = {}): tf.LayersModel {
  const plan = planArchitecture(arch);
  const seed = opts.seed ?? 1;
  const input = tf.input({ shape: plan.input, name: 'input' });
  const outputs = new Map<string, tf.SymbolicTensor>([['input', input]]);
  plan.layers.forEach((l, i) => {
    const args = layerArgs(l, seed, i);
    const make = () => defaultLayer(l, args);
    const layer = opts.layerFactory?.(l, make, args) ?? make();
    const ins = l.inputs.map((n) => outputs.get(n)!);
    const out = layer.apply(ins.length === 1 ? ins[0] : ins) as tf.SymbolicTensor;
    outputs.set(l.name, out);
  });
  return tf.model({ inputs: input, outputs: outputs.get(plan.output)!, name: 'deepmaker' });
}
