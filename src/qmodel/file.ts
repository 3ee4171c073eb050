/**
 * quantization.json: what quantization-aware training hands to the converter, written by the train
 * stage beside the model (dist/train/model/quantization.json) and read by convert.
 *
 * The model itself (model.json + weights) is a standard TF.js layers model whose kernels already
 * hold the quantized values: fixed mode, values on the `weights` grid; ternary mode, α_f·t per
 * filter (so the ternary codes and scales are recovered exactly from the kernel, also after
 * BatchNormalization is folded into it). This file adds what a standard model cannot say: the
 * formats, and which layer outputs are ternarized with which per-channel thresholds.
 *
 * Example (ternary weights and activations):
 *   { "format": "deepmaker-quantization", "version": 1, "mode": "ternary",
 *     "rounding": "half-even", "overflow": "saturate",
 *     "activations": { "bits": 8, "integer": 4 }, "biasBits": 16,
 *     "ternary": { "threshold": 0.7, "activations": true, "scaleBits": 16 },
 *     "layers": { "l0_conv2d": { "weights": "ternary", "output": { "kind": "ternary", "thresholds": [0.41, ...] } },
 *                 "classifier": { "weights": "ternary", "output": { "kind": "fixed" } } } }
 * A ternary recurrent layer (FaCT-LSTM) adds its operands' thresholds and scales:
 *     "l0_lstm": { "weights": "ternary", "operands": { "input": { "thresholds": [0.3, ...], "scale": 0.9 },
 *                                                     "state": { "thresholds": [0.12, ...], "scale": 0.41 } } }
 * Layer names are the trained model's Keras layer names. An output entry sits on the layer where
 * the value is quantized: a Conv2D/Dense with its activation, or the Activation layer after a
 * BatchNormalization (the converter's passes fold and fuse those into one IR layer).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Overflow, Rounding } from '../numerics/fixed';
import { containedCompanion } from '../util/contained';
import { DeepMakerError } from '../util/errors';

export const QUANTIZATION_FILE = 'quantization.json';

/** A ternarized operand of a recurrent layer's gate products (FaCT-LSTM): t = sign(v) where |v| ≥ Δ, standing for scale·t. */
export interface TernaryOperand {
  /** Δ per element (input feature, or unit of the state). */
  thresholds: number[];
  /** β: the value a code ±1 stands for (the mean |v| over the values kept). */
  scale: number;
}

export interface LayerQuantization {
  weights?: 'fixed' | 'ternary';
  /**
   * Ternary recurrent layers (LSTM, SimpleRNN): the ternarized operands of the gate products, the
   * input x_t and the state h_{t-1}. The model file's kernels hold α·t (per column); the C's scales
   * are α·β of the operand each kernel multiplies.
   */
  operands?: { input: TernaryOperand; state: TernaryOperand };
  /** Fixed mode: this layer's kernel format, when it differs from the file's `weights` (fitted per layer). */
  weightFormat?: { bits: number; integer: number };
  output?: { kind: 'fixed' } | { kind: 'ternary'; thresholds: number[] };
}

export interface QuantizationFile {
  format: 'deepmaker-quantization';
  version: 1;
  mode: 'fixed' | 'ternary';
  rounding: Rounding;
  overflow: Overflow;
  /** Fixed mode: every kernel's format. */
  weights?: { bits: number; integer: number };
  /** Every fixed-point activation: the model input, hidden outputs that are not ternary, the logits. */
  activations: { bits: number; integer: number };
  biasBits: number;
  ternary?: { threshold: number; activations: boolean; scaleBits: number };
  layers: Record<string, LayerQuantization>;
}

export function writeQuantizationFile(dir: string, q: QuantizationFile): string {
  const file = join(dir, QUANTIZATION_FILE);
  writeFileSync(file, JSON.stringify(q, null, 1) + '\n');
  return file;
}

/** The file beside a model, or undefined when the model was not trained quantized. */
export function readQuantizationFile(dir: string): QuantizationFile | undefined {
  const file = join(dir, QUANTIZATION_FILE);
  if (!existsSync(file)) return undefined;
  // A fixed name beside the model; still, a symbolic link out of the model's folder is not followed.
  const real = containedCompanion({ modelFile: file, path: QUANTIZATION_FILE, what: 'quantization file' });
  let q: QuantizationFile;
  try {
    q = JSON.parse(readFileSync(real, 'utf8'));
  } catch (e) {
    throw new DeepMakerError(`not valid JSON: ${(e as Error).message}`, { file }, 'rerun the train stage to rewrite it');
  }
  const bad = (what: string) => new DeepMakerError(`${what}`, { file }, 'this file is written by the train stage; rerun it rather than editing the file');
  if (q?.format !== 'deepmaker-quantization' || q.version !== 1) throw bad('not a DeepMaker quantization file (format/version)');
  if (q.mode !== 'fixed' && q.mode !== 'ternary') throw bad(`unknown mode '${q.mode}'`);
  const isFmt = (f: unknown) => !!f && Number.isInteger((f as { bits: number }).bits) && Number.isInteger((f as { integer: number }).integer);
  if (!isFmt(q.activations)) throw bad('activations format missing');
  if (q.mode === 'fixed' && !isFmt(q.weights)) throw bad('weights format missing');
  if (q.mode === 'ternary' && !q.ternary) throw bad('ternary options missing');
  if (!q.layers || typeof q.layers !== 'object') throw bad('layers missing');
  for (const [name, l] of Object.entries(q.layers)) {
    if (l.output?.kind === 'ternary' && (!Array.isArray(l.output.thresholds) || l.output.thresholds.some((t) => !(t >= 0)))) throw bad(`layer '${name}': ternary thresholds must be a list of numbers >= 0`);
    if (l.operands !== undefined) {
      for (const k of ['input', 'state'] as const) {
        const o = l.operands?.[k];
        if (!o || !Array.isArray(o.thresholds) || o.thresholds.some((t) => !(t >= 0)) || !(o.scale >= 0)) throw bad(`layer '${name}': operands.${k} needs thresholds (numbers >= 0) and a scale >= 0`);
      }
    }
  }
  return q;
}
