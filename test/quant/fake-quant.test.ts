import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fakeQuantize as fakeQuantizeNumber, type FixedFormat } from '../../src/numerics/fixed';
import { fakeQuantize, fakeQuantizeTensor, representableRange } from '../../src/quant/fake-quant';

/** Values that hit every case: ties at each step, both ends of the range, far outside it, NaN. */
function probeValues(f: FixedFormat): number[] {
  const step = 2 ** -(f.bits - f.integer);
  const [lo, hi] = representableRange(f);
  const out: number[] = [0, -0, NaN, 1e9, -1e9, lo, hi, lo - step, hi + step, lo - 0.5 * step, hi + 0.5 * step];
  for (let k = -40; k <= 40; k++) out.push(k * step * 0.5, k * step * 0.5 + step * 0.25, (k * step * 3) / 7);
  let s = 12345;
  for (let i = 0; i < 300; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out.push(((s / 2 ** 31) * 2 - 1) * (hi - lo) * 0.8);
  }
  return out.map((v) => Math.fround(v));
}

const FORMATS: FixedFormat[] = [];
for (const [bits, integer] of [[8, 3], [4, 1], [6, 6], [12, -2], [16, 6], [3, 5], [24, 8]]) {
  for (const rounding of ['half-even', 'truncate'] as const) {
    for (const overflow of ['saturate', 'wrap'] as const) FORMATS.push({ bits, integer, rounding, overflow });
  }
}

describe('fixed-point fake quantization (TF.js)', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('forward equals numerics fakeQuantize elementwise, for every rounding and overflow', () => {
    for (const f of FORMATS) {
      const xs = probeValues(f);
      const got = fakeQuantizeTensor(tf.tensor1d(xs), f).dataSync();
      xs.forEach((x, i) => {
        const want = Math.fround(fakeQuantizeNumber(x, f));
        assert.ok(Object.is(got[i] + 0, want + 0), `fixed<${f.bits},${f.integer}> ${f.rounding} ${f.overflow}: x=${x} got ${got[i]} want ${want}`);
      });
    }
  });

  it('saturating STE: gradient passes inside the representable range and is zero outside', () => {
    const f: FixedFormat = { bits: 4, integer: 2, rounding: 'half-even', overflow: 'saturate' }; // range [-2, 1.75], step 0.25
    const xs = [-3, -2.01, -2, -1.1, 0, 0.3, 1.75, 1.76, 5];
    const dy = xs.map((_, i) => i + 1);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(x, f), tf.tensor1d(dy))))(tf.tensor1d(xs)).arraySync() as number[];
    assert.deepEqual(g, [0, 0, 3, 4, 5, 6, 7, 0, 0]);
  });

  it('wrapping STE: gradient passes everywhere', () => {
    const f: FixedFormat = { bits: 4, integer: 2, rounding: 'truncate', overflow: 'wrap' };
    const xs = [-3, 0.3, 1.9, 7];
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(fakeQuantize(x, f), tf.tensor1d([1, 2, 3, 4]))))(tf.tensor1d(xs)).arraySync();
    assert.deepEqual(g, [1, 2, 3, 4]);
    // ...while the forward value did wrap: 1.9 truncates to 1.75, 7 wraps to -1.
    assert.deepEqual(Array.from(fakeQuantize(tf.tensor1d(xs), f).dataSync()), [1, 0.25, 1.75, -1]);
  });
});
