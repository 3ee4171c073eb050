/**
 * Quantization-aware training's formats (quantization.json, written by the train stage beside the
 * model; see src/quant/file.ts) become per-layer precision in the IR: every layer output in the
 * activation format, every kernel in the weights format, every bias `biasBits` wide with the
 * integer bits its largest value needs. The C (and RTL) then compute with exactly the formats the
 * network was trained for.
 */
import type { QuantizationFile } from '../../quant/file';
import { DeepMakerError } from '../../util/errors';
import { integerBitsFor } from '../../cgen/precision';
import type { FixedFormat } from '../../numerics/fixed';
import type { ModelIR } from '../types';

const MAC = new Set(['dense', 'conv1d', 'conv2d', 'depthwise_conv2d']);

export function applyQuantization(model: ModelIR, q: QuantizationFile, file: string): ModelIR {
  if (q.mode !== 'fixed') {
    throw new DeepMakerError(`quantization mode '${q.mode}' is not converted to C yet (only 'fixed')`, { file }, 'train with quantize.mode: fixed (or float) for now');
  }
  const fmt = (f: { bits: number; integer: number }): FixedFormat => ({ bits: f.bits, integer: f.integer, rounding: q.rounding, overflow: q.overflow });
  for (const l of model.layers) {
    if (l.type === 'flatten' || l.type === 'reshape') continue;
    l.precision = { ...(l.precision ?? {}), output: fmt(q.activations) };
    if (MAC.has(l.type)) {
      let bMax = 0;
      for (const v of l.weights.bias?.data ?? []) bMax = Math.max(bMax, Math.abs(v));
      l.precision.weights = fmt(q.weights!);
      l.precision.biases = fmt({ bits: q.biasBits, integer: integerBitsFor(bMax) });
    }
  }
  return model;
}
