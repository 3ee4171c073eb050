/**
 * Ternary quantization (ToT-Net / TWN) in TensorFlow.js, for training.
 *
 * Weights, per output filter f (Dense unit, Conv2D filter, DepthwiseConv2D channel):
 *   Δ_f = threshold / n · Σ|w|      over the filter's n weights (threshold 0.7 by default),
 *   t   = 0 where |w| < Δ_f, else sign(w)          (t ∈ {-1, 0, 1}),
 *   α_f = mean of |w| over the positions where t ≠ 0 (0 for an all-zero filter),
 * and the layer computes with α_f · t. Δ and α are recomputed from the current float weights at
 * every forward pass, so they follow the weights as training moves them; the float weights stay the
 * optimizer's state ("shadow" weights).
 *
 * Where α is applied: on each filter's accumulator, before the bias. Since α_f is one number per
 * filter, Σ (α_f·t)·x = α_f · Σ t·x, so the hardware's MAC only adds, subtracts or skips x and one
 * multiplication by α_f per output value follows (src/quant/integer.ts, the C and the RTL do that).
 *
 * Backward for weights: the straight-through estimator of TWN: ∂L/∂w = ∂L/∂(α·t), with Δ and α held
 * constant (no gradient through the statistics).
 *
 * Activations (ToT-Net ternarizes them too), per channel c of the layer's output:
 *   Δ_c = threshold · mean |x_c| over the batch and every spatial position (training: this batch's
 *   value, recomputed every step; inference: an exponential moving average kept by the layer, as
 *   BatchNormalization keeps its moving mean). Per channel rather than per sample because a
 *   constant per-channel threshold is a comparator in the hardware, while a per-sample Δ would need
 *   the whole output tensor reduced before the first value could leave the layer.
 *   The output is t ∈ {-1, 0, 1} itself (no scale: the next layer's α and bias absorb it); the
 *   ternarizer replaces the layer's activation function (ReLU...), being itself the non-linearity.
 * Backward for activations: the gradient of the surrogate clip(x / 2Δ_c, -1, 1), the line through
 * the middle of each step: ∂t/∂x = 1/(2Δ_c) where |x| ≤ 2Δ_c, 0 elsewhere (Δ held constant).
 */
import * as tf from '@tensorflow/tfjs';

export const DEFAULT_THRESHOLD = 0.7;

/** Axes a weight tensor is reduced over to get one statistic per output filter. */
export function filterReduceAxes(rank: number, layout: 'last' | 'depthwise' = 'last'): number[] {
  // Dense [in, out], Conv1D [k, cin, out], Conv2D [kh, kw, cin, out]: the filter is the last axis.
  // DepthwiseConv2D [kh, kw, cin, multiplier]: each (cin, multiplier) pair is a filter.
  const keep = layout === 'depthwise' ? 2 : 1;
  return Array.from({ length: rank - keep }, (_, i) => i);
}

export interface TernarizedWeights {
  /** t ∈ {-1, 0, 1}, the shape of the kernel. */
  ternary: tf.Tensor;
  /** Δ per filter, with the reduced axes kept (broadcasts against the kernel). */
  delta: tf.Tensor;
  /** α per filter, same shape as delta. */
  scale: tf.Tensor;
}

/** The ToT-Net rule, forward only. */
export function ternarizeWeights(w: tf.Tensor, threshold = DEFAULT_THRESHOLD, axes = filterReduceAxes(w.rank)): TernarizedWeights {
  return tf.tidy(() => {
    const absW = tf.abs(w);
    const delta = tf.mul(tf.mean(absW, axes, true), tf.scalar(threshold));
    const keep = tf.greaterEqual(absW, delta).cast('float32');
    const ternary = tf.mul(tf.sign(w), keep);
    const nonZero = tf.abs(ternary);
    const count = tf.sum(nonZero, axes, true);
    const scale = tf.div(tf.sum(tf.mul(absW, nonZero), axes, true), tf.maximum(count, tf.scalar(1)));
    return { ternary, delta, scale };
  });
}

/** α·t with the straight-through gradient, for use inside a model being trained. */
export function ternaryWeightQuantizer(threshold = DEFAULT_THRESHOLD, layout: 'last' | 'depthwise' = 'last'): (w: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((w: tf.Tensor) => {
    const { ternary, scale } = ternarizeWeights(w, threshold, filterReduceAxes(w.rank, layout));
    const value = tf.mul(ternary, scale);
    tf.dispose([ternary, scale]);
    return { value, gradFunc: (dy: tf.Tensor) => dy };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (w) => op(w) as tf.Tensor;
}

/** Δ per channel (last axis) of an activation batch: threshold · mean |x| over every other axis. */
export function activationDelta(x: tf.Tensor, threshold = DEFAULT_THRESHOLD): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.mean(tf.abs(x), Array.from({ length: x.rank - 1 }, (_, i) => i)), tf.scalar(threshold)) as tf.Tensor1D);
}

/** t = sign(x) where |x| ≥ Δ_c, else 0 (forward only); delta has one value per channel. */
export function ternarizeActivations(x: tf.Tensor, delta: tf.Tensor1D): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.sign(x), tf.greaterEqual(tf.abs(x), delta).cast('float32')));
}

/** Ternarizes x against per-channel Δ with the clipped straight-through gradient documented above. */
export function ternaryActivation(x: tf.Tensor, delta: tf.Tensor1D): tf.Tensor {
  const op = tf.customGrad(((xs: tf.Tensor, d: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xs, d]);
    return {
      value: ternarizeActivations(xs, d as tf.Tensor1D),
      gradFunc: (dy: tf.Tensor, [sx, sd]: tf.Tensor[]) => {
        const twoDelta = tf.mul(sd, tf.scalar(2));
        const inside = tf.lessEqual(tf.abs(sx), twoDelta).cast('float32');
        // An all-zero channel has Δ = 0: no slope to speak of, pass nothing rather than divide by 0.
        const slope = tf.where(tf.greater(twoDelta, 0), tf.div(tf.scalar(1), tf.maximum(twoDelta, tf.scalar(1e-30))), tf.zerosLike(twoDelta));
        return [tf.mul(dy, tf.mul(inside, slope)), tf.zerosLike(sd)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, delta) as tf.Tensor;
}

/**
 * A ternarized operand of a recurrent layer's gate products (FaCT-LSTM): the input x_t or the state
 * h_{t-1}, replaced by β·t with t = sign(v) where |v| ≥ Δ_c (per channel: input feature or unit),
 * else 0. β is one number per operand (the mean |v| over the values kept), so the gate product
 * Σ (α·t_W)·(β·t_v) = α·β · Σ t_W·t_v stays one scale multiply per gate output after an
 * add/subtract/skip sum; a per-channel β would not factor out of the sum.
 */
export interface OperandStatistics {
  /** Δ per channel (the last axis). */
  delta: tf.Tensor1D;
  /** β, a scalar. */
  scale: tf.Scalar;
}

/** Δ_c = threshold · mean |v| over every axis but the last, and β = mean |v| over the kept values (0 when none is kept). */
export function operandStatistics(v: tf.Tensor, threshold = DEFAULT_THRESHOLD): OperandStatistics {
  return tf.tidy(() => {
    const delta = activationDelta(v, threshold);
    const a = tf.abs(v);
    const keep = tf.greaterEqual(a, delta).cast('float32');
    const scale = tf.div(tf.sum(tf.mul(a, keep)), tf.maximum(tf.sum(keep), tf.scalar(1))) as tf.Scalar;
    return { delta, scale };
  });
}

/**
 * β·t(v) with the straight-through estimator of the recurrent operands: ∂(β·t)/∂v = 1 (Δ and β held
 * constant). The identity (rather than ToT-Net's clipped slope 1/2Δ) keeps the gradient through
 * the recurrent state h, which tanh already bounds to (-1, 1), whole over the time steps.
 */
export function scaledTernaryOperand(v: tf.Tensor, delta: tf.Tensor, scale: tf.Tensor): tf.Tensor {
  const op = tf.customGrad(((xs: tf.Tensor, d: tf.Tensor, s: tf.Tensor) => ({
    value: tf.tidy(() => tf.mul(ternarizeActivations(xs, d as tf.Tensor1D), s)),
    gradFunc: (dy: tf.Tensor) => [dy, tf.zerosLike(d), tf.zerosLike(s)],
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(v, delta, scale) as tf.Tensor;
}
