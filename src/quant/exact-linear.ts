/**
 * Exact integer linear operators (matrix products, convolutions) on TensorFlow.js: float32 kernels
 * are exact as long as every partial sum is an integer below 2^24 in magnitude, whatever the
 * summation order or backend (wasm, cpu). Operands too wide for that are split into base-2^k digits
 * small enough, the operator runs digit by digit, and the digit sums are combined in float64 (exact
 * below 2^53). Used by the TF.js integer reference (reference.ts, recurrent.ts).
 */
import * as tf from '@tensorflow/tfjs';

const MAX_EXACT = 2 ** 24;

function bitsOfMagnitude(maxAbs: number): number {
  return maxAbs <= 1 ? 0 : Math.ceil(Math.log2(maxAbs));
}

/** Base-2^k digits of integers: lower digits in [0, 2^k), the top one signed. */
function digits(v: ArrayLike<number>, k: number, count: number): Float32Array[] {
  if (count === 1) return [Float32Array.from(v)];
  const out = Array.from({ length: count }, () => new Float32Array(v.length));
  const base = 2 ** k;
  for (let i = 0; i < v.length; i++) {
    let r = v[i];
    for (let d = 0; d < count - 1; d++) {
      const q = Math.floor(r / base);
      out[d][i] = r - q * base;
      r = q;
    }
    out[count - 1][i] = r;
  }
  return out;
}

/**
 * Σ over a linear operator `op` (convolution, matmul) of integer x and w, exactly: digit-split so that
 * every float32 partial sum stays below 2^24. Returns float64 integers.
 */
export function exactLinear(op: (x: tf.Tensor, w: tf.Tensor) => tf.Tensor, x: ArrayLike<number>, xShape: number[], w: ArrayLike<number>, wShape: number[], fanIn: number): Float64Array {
  let mx = 0, mw = 0;
  for (let i = 0; i < x.length; i++) mx = Math.max(mx, Math.abs(x[i]));
  for (let i = 0; i < w.length; i++) mw = Math.max(mw, Math.abs(w[i]));
  const budget = Math.floor(Math.log2(MAX_EXACT / Math.max(1, fanIn)));
  const bx = bitsOfMagnitude(mx), bw = bitsOfMagnitude(mw);
  let kx = bx, kw = bw;
  if (bx + bw > budget) {
    if (budget < 2) throw new Error(`fan-in ${fanIn} is too large for an exact float32 reference`);
    if (bw <= budget / 2) kx = budget - bw;
    else if (bx <= budget / 2) kw = budget - bx;
    else {
      kx = Math.floor(budget / 2);
      kw = budget - kx;
    }
  }
  // The top digit of D = ceil(b / k) digits is at most 2^(b - k(D-1)) <= 2^k in magnitude, like the others.
  const nx = bx <= kx ? 1 : Math.ceil(bx / kx);
  const nw = bw <= kw ? 1 : Math.ceil(bw / kw);
  const xd = digits(x, kx, nx), wd = digits(w, kw, nw);
  let acc: Float64Array | undefined;
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < nw; j++) {
      // Read the data outside tidy: a typed array returned from tidy is walked element by element.
      const t = tf.tidy(() => op(tf.tensor(xd[i], xShape), tf.tensor(wd[j], wShape)));
      const part = t.dataSync() as Float32Array;
      t.dispose();
      const scale = 2 ** (kx * i + kw * j);
      if (!acc) acc = new Float64Array(part.length);
      for (let e = 0; e < part.length; e++) acc[e] += part[e] * scale;
    }
  }
  return acc!;
}
