/**
 * The verify stage's quantized-reference check: the fixed-point C's outputs against the TF.js
 * integer reference (reference.ts), sample by sample, value by value. Equal means the same stored
 * integers: the C's outputs arrive dequantized as float32 (q·2^-frac), which is exact and
 * one-to-one for outputs of at most 24 bits, so equal floats are equal integers.
 */
import type { NumberKnobs } from '../qmodel/precision';
import type { ModelIR } from '../ir/types';
import type { Logger } from '../util/log';
import { runQuantizedReference } from './reference';

export interface QuantizedReferenceCheck {
  engine: string;
  samples: number;
  /** Samples whose every output integer equals the C's. */
  identicalSamples: number;
  identical: boolean;
  /** Widest output format: equality of the dequantized float32 values is equality of integers up to 24 bits. */
  outputBits: number;
  firstMismatch?: { sample: number; c: number[]; reference: number[] };
  seconds: number;
}

export function checkQuantizedReference(model: ModelIR, knobs: NumberKnobs, x: Float32Array, count: number, cOutputs: Float32Array, log?: Logger): QuantizedReferenceCheck {
  const t0 = Date.now();
  const ref = runQuantizedReference(model, knobs, x, count);
  const w = ref.outputSize;
  const outputBits = Math.max(...ref.formats.map((f) => f.bits));
  const scales: number[] = [];
  // Per output value, its output's 2^-frac (outputs are concatenated in model order).
  ref.sizes.forEach((n, k) => {
    for (let i = 0; i < n; i++) scales.push(2 ** -ref.fracs[k]);
  });
  let identicalSamples = 0;
  let firstMismatch: QuantizedReferenceCheck['firstMismatch'];
  for (let s = 0; s < count; s++) {
    let same = true;
    for (let j = 0; j < w; j++) if (Math.fround(ref.raw[s * w + j] * scales[j]) !== cOutputs[s * w + j]) same = false;
    if (same) identicalSamples++;
    else if (!firstMismatch) {
      firstMismatch = { sample: s, c: Array.from(cOutputs.subarray(s * w, (s + 1) * w), (v, j) => v / scales[j]), reference: Array.from(ref.raw.subarray(s * w, (s + 1) * w)) };
    }
  }
  const check: QuantizedReferenceCheck = {
    engine: 'TensorFlow.js integer reference (src/quant/reference.ts)',
    samples: count,
    identicalSamples,
    identical: identicalSamples === count,
    outputBits,
    ...(firstMismatch ? { firstMismatch } : {}),
    seconds: (Date.now() - t0) / 1000,
  };
  log?.info(`quantized TF.js reference vs fixed-point C: identical integer outputs on ${identicalSamples} of ${count} samples${check.identical ? '' : ` (first difference: sample ${firstMismatch!.sample})`}`);
  if (!check.identical) log?.warn(`the fixed-point C and the quantized TF.js reference differ on ${count - identicalSamples} samples`);
  return check;
}
