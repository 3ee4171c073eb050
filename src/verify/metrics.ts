/** Comparisons of output vectors: top-1 agreement, accuracy against labels, absolute errors. */

export function argmaxRows(values: Float32Array, count: number, width: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (values[i * width + j] > values[i * width + best]) best = j;
    out[i] = best;
  }
  return out;
}

export function agreement(a: Int32Array, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return a.length ? same / a.length : NaN;
}

export function maxAbsError(a: Float32Array, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function meanAbsError(a: Float32Array, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return a.length ? s / a.length : 0;
}

/** Row-wise softmax (the float model's view of fixed-point logits). */
export function softmaxRows(values: Float32Array, count: number, width: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < count; i++) {
    let mx = -Infinity;
    for (let j = 0; j < width; j++) mx = Math.max(mx, values[i * width + j]);
    let s = 0;
    for (let j = 0; j < width; j++) s += Math.exp(values[i * width + j] - mx);
    for (let j = 0; j < width; j++) out[i * width + j] = Math.exp(values[i * width + j] - mx) / s;
  }
  return out;
}
