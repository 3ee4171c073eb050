/**
 * Fixed-point fake quantization in TensorFlow.js for quantization-aware training: the forward pass
 * holds exactly the value the C and the RTL hold (src/numerics/fixed.ts `fakeQuantize`, same
 * rounding and overflow), the backward pass is a straight-through estimator.
 *
 * Forward, elementwise, in float32: scale by 2^frac (exact: a power of two), round (truncate = floor,
 * half-even = tf.round, which rounds ties to even), apply the overflow rule to `bits` bits, scale
 * back. Every intermediate is an integer times a power of two, so float32 computes it exactly as long
 * as the stored integer fits float32's 24-bit significand (any format with bits ≤ 24; wider formats
 * are exact too unless the value saturates at ±2^(bits-1), which float32 rounds to the nearest float).
 * NaN becomes 0, as in fixed.ts.
 *
 * Backward (the straight-through estimator), a choice documented here and tested:
 *  - overflow `saturate`: the gradient passes unchanged where the input lies inside the representable
 *    range [minInt·2^-frac, maxInt·2^-frac] and is zero outside it, where the output is the clamped
 *    constant (the clipped STE of QKeras/PACT; it stops weights drifting far past the range);
 *  - overflow `wrap`: the gradient passes unchanged everywhere (a wrapped value has no useful
 *    gradient direction; the format should be chosen wide enough that nothing wraps).
 * Rounding is ignored by the backward pass: inside the range it is the identity.
 */
import * as tf from '@tensorflow/tfjs';
import { fracBits, maxInt, minInt, type FixedFormat } from '../numerics/fixed';

/** The representable real range of a format: [min, max]. */
export function representableRange(f: Pick<FixedFormat, 'bits' | 'integer'>): [number, number] {
  const step = 2 ** -fracBits(f);
  return [minInt(f.bits) * step, maxInt(f.bits) * step];
}

/** The stored integers q = quantize(x, f) as a float32 tensor (no gradient). */
export function quantizeToIntegers(x: tf.Tensor, f: FixedFormat): tf.Tensor {
  return tf.tidy(() => {
    const scaled = tf.mul(x, tf.scalar(2 ** fracBits(f)));
    const rounded = f.rounding === 'truncate' ? tf.floor(scaled) : tf.round(scaled);
    let q: tf.Tensor;
    if (f.overflow === 'saturate') {
      q = tf.clipByValue(rounded, minInt(f.bits), maxInt(f.bits));
    } else {
      // r mod 2^bits in [0, 2^bits) is exact in float32 (a power-of-two modulus), then fold the upper half down.
      const m = 2 ** f.bits;
      const r = tf.sub(rounded, tf.mul(tf.floor(tf.div(rounded, tf.scalar(m))), tf.scalar(m)));
      q = tf.where(tf.greaterEqual(r, tf.scalar(m / 2)), tf.sub(r, tf.scalar(m)), r);
    }
    // NaN (and, when wrapping, ±Infinity, whose residue is NaN) is stored as 0, as in fixed.ts.
    return tf.where(tf.isNaN(q), tf.zerosLike(q), q);
  });
}

/** Forward only: the value the hardware holds, quantize then dequantize (no gradient defined). */
export function fakeQuantizeTensor(x: tf.Tensor, f: FixedFormat): tf.Tensor {
  return tf.tidy(() => tf.mul(quantizeToIntegers(x, f), tf.scalar(2 ** -fracBits(f))));
}

/** The straight-through gradient mask of a format (1 where the gradient passes). */
export function straightThroughMask(x: tf.Tensor, f: FixedFormat): tf.Tensor {
  return tf.tidy(() => {
    if (f.overflow === 'wrap') return tf.onesLike(x);
    const [lo, hi] = representableRange(f);
    return tf.logicalAnd(tf.greaterEqual(x, tf.scalar(lo)), tf.lessEqual(x, tf.scalar(hi))).cast('float32');
  });
}

/**
 * Fake quantization with the straight-through estimator: use this inside models being trained.
 * Returns a function so that the custom gradient is built once per format.
 */
export function fakeQuantizer(f: FixedFormat): (x: tf.Tensor) => tf.Tensor {
  const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return {
      value: fakeQuantizeTensor(x, f),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => (f.overflow === 'wrap' ? dy : tf.mul(dy, straightThroughMask(saved[0], f))),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => op(x) as tf.Tensor;
}

/** One-shot form of fakeQuantizer. */
export function fakeQuantize(x: tf.Tensor, f: FixedFormat): tf.Tensor {
  return fakeQuantizer(f)(x);
}
