import { DeepMakerError } from '../util/errors';
import type { RawDataset, RawSplit } from './sources';
import { permutation } from './shuffle';
import type { Normalization, Split, SplitName } from './tensors';

export interface PreparedDataset {
  splits: Record<SplitName, Split>;
  normalization: Normalization;
  splitMethod: 'random' | 'chronological';
  /** Training windows dropped because they share rows with validation windows (time series only). */
  dropped: number;
}

/** The number of validation samples for `count` training samples: at least one each side when possible. */
export function validationCount(count: number, fraction: number): number {
  if (count < 2) return 0;
  return Math.min(count - 1, Math.max(1, Math.round(count * fraction)));
}

/**
 * Splits validation off the training set (never the test set) and normalises all three splits with
 * statistics of the remaining training samples only, so nothing about validation or test leaks.
 *
 * Random split: a seeded permutation picks the validation samples; both parts keep the file order.
 * Time series (overlapping windows): validation is the last windows, and training windows that share
 * rows with them are dropped, since a random split of overlapping windows would leak.
 */
export function prepare(raw: RawDataset, opts: { validationSplit: number; seed: number; normalize: Normalization['method']; window?: number; stride?: number }): PreparedDataset {
  if (raw.train.count === 0) throw new DeepMakerError('the training set is empty', { file: raw.train.files[0] }, 'check the training files and data.limit');
  if (raw.test.count === 0) throw new DeepMakerError('the test set is empty', { file: raw.test.files[0] }, 'check the test files and data.limit');
  const nVal = validationCount(raw.train.count, opts.validationSplit);
  if (nVal === 0) throw new DeepMakerError(`${raw.train.count} training sample: too few to hold out validation`, { file: raw.train.files[0] }, 'give at least two training samples');
  const isVal = new Uint8Array(raw.train.count);
  let dropped = 0;
  let splitMethod: PreparedDataset['splitMethod'] = 'random';
  if (raw.timeSeries) {
    splitMethod = 'chronological';
    const first = raw.train.count - nVal;
    for (let i = first; i < raw.train.count; i++) isVal[i] = 1;
    // Window i covers rows [i*stride, i*stride + window); drop training windows reaching into the first validation window.
    const stride = opts.stride ?? 1;
    const window = opts.window ?? 1;
    const firstValRow = first * stride;
    for (let i = first - 1; i >= 0 && i * stride + window > firstValRow; i--) {
      isVal[i] = 2;
      dropped++;
    }
    if (first - dropped < 1) throw new DeepMakerError(`no training window left after holding out ${nVal} validation windows`, { file: raw.train.files[0] }, 'use a smaller data.validationSplit or more rows');
  } else {
    const perm = permutation(raw.train.count, opts.seed);
    for (let i = 0; i < nVal; i++) isVal[perm[i]] = 1;
  }
  const train = select(raw.train, isVal, 0);
  const validation = select(raw.train, isVal, 1);
  const test: Split = { x: raw.test.x, y: raw.test.y, count: raw.test.count, shape: raw.test.shape };
  const normalization = normalizationFor(train, opts.normalize, raw.typeMax);
  for (const s of [train, validation, test]) applyNormalization(s.x, normalization);
  return { splits: { train, validation, test }, normalization, splitMethod, dropped };
}

function select(src: RawSplit, mark: Uint8Array, want: number): Split {
  const per = src.shape.reduce((a, b) => a * b, 1);
  let n = 0;
  for (let i = 0; i < src.count; i++) if (mark[i] === want) n++;
  const x = new Float32Array(n * per);
  const y = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < src.count; i++) {
    if (mark[i] !== want) continue;
    x.set(src.x.subarray(i * per, (i + 1) * per), k * per);
    y[k++] = src.y[i];
  }
  return { x, y, count: n, shape: src.shape };
}

/**
 * Per channel (the last axis): normalised = (raw - offset) / scale.
 *  - scale: unsigned integer inputs are divided by the largest value of their type (255 for bytes);
 *    other inputs are min-max scaled to [0, 1] with the training split's minimum and maximum.
 *  - standardize: the training split's mean and standard deviation.
 *  - none: offset 0, scale 1.
 * A constant channel gets scale 1 (no division by zero).
 */
export function normalizationFor(train: Split, method: Normalization['method'], typeMax?: number): Normalization {
  const channels = train.shape[train.shape.length - 1] ?? 1;
  const offset = new Array<number>(channels).fill(0);
  const scale = new Array<number>(channels).fill(1);
  if (method === 'none') return { method, offset, scale };
  if (method === 'scale' && typeMax !== undefined) return { method, offset, scale: scale.fill(typeMax) };
  const x = train.x;
  if (method === 'scale') {
    const lo = new Array<number>(channels).fill(Infinity);
    const hi = new Array<number>(channels).fill(-Infinity);
    for (let i = 0; i < x.length; i++) {
      const c = i % channels;
      const v = x[i];
      if (v < lo[c]) lo[c] = v;
      if (v > hi[c]) hi[c] = v;
    }
    for (let c = 0; c < channels; c++) {
      offset[c] = lo[c];
      scale[c] = hi[c] > lo[c] ? hi[c] - lo[c] : 1;
    }
    return { method, offset, scale };
  }
  // standardize: two passes in float64 (a one-pass sum of squares loses precision on large sets).
  const sum = new Float64Array(channels);
  const n = x.length / channels;
  for (let i = 0; i < x.length; i++) sum[i % channels] += x[i];
  for (let c = 0; c < channels; c++) offset[c] = sum[c] / n;
  const sq = new Float64Array(channels);
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - offset[i % channels];
    sq[i % channels] += d * d;
  }
  for (let c = 0; c < channels; c++) {
    const sd = Math.sqrt(sq[c] / n);
    scale[c] = sd > 0 ? sd : 1;
  }
  return { method, offset, scale };
}

export function applyNormalization(x: Float32Array, norm: Normalization): void {
  if (norm.method === 'none') return;
  const channels = norm.offset.length;
  // Divide (not multiply by a reciprocal) so the stored values are exactly the documented formula in float32.
  if (channels === 1) {
    const o = norm.offset[0];
    const s = norm.scale[0];
    for (let i = 0; i < x.length; i++) x[i] = (x[i] - o) / s;
    return;
  }
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    x[i] = (x[i] - norm.offset[c]) / norm.scale[c];
  }
}

export function classCounts(y: Int32Array, classes: number): number[] {
  const out = new Array<number>(classes).fill(0);
  for (let i = 0; i < y.length; i++) out[y[i]]++;
  return out;
}
