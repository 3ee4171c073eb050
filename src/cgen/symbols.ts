/**
 * What every C loop-nest emitter shares (src/cgen/layers.ts, src/cgen/recurrent.ts): the symbols of a
 * layer and the float activations.
 */
import type { Activation, Layer } from '../ir/types';
import { floatLiteral } from './expr';

/** What the emitters need to know about a layer besides the IR. */
export interface LayerSymbols {
  layer: Layer;
  /** Loop nest id (function dm_<id>, labels <id>_<var>). */
  id: string;
  /** Macro prefix of its formats (L01). */
  m: string;
  /** Output buffer (aliases resolved). */
  buf: string;
  /** Macro prefixes of the layers that produced each input (aliases resolved). */
  inputMacros: string[];
  /** Input buffers (aliases resolved). */
  inputBufs: string[];
  isOutput: boolean;
  /** Weight array names (float masters); quantized copies are dm_wq_/dm_bq_ (recurrent kernel: dm_uq_). */
  kernel?: string;
  bias?: string;
  recurrentKernel?: string;
}

/** Float activation of the float expression held in variable `v`. */
export function floatActivation(a: Activation, v: string): string {
  switch (a.kind) {
    case 'linear':
    case 'softmax':
      return v;
    case 'relu':
      return a.maxValue !== undefined ? `dm_relu_max(${v}, ${floatLiteral(a.maxValue)})` : `dm_relu(${v})`;
    case 'leaky_relu': {
      const y = `(${v} < 0.0f ? ${floatLiteral(a.alpha ?? 0.3)} * ${v} : ${v})`;
      return a.maxValue !== undefined ? `dm_min_f(${y}, ${floatLiteral(a.maxValue)})` : y;
    }
    case 'elu':
      return `dm_elu(${v}, ${floatLiteral(a.alpha ?? 1)})`;
    case 'thresholded_relu':
      return `(${v} > ${floatLiteral(a.theta ?? 1)} ? ${v} : 0.0f)`;
    case 'sigmoid':
      return `dm_sigmoid(${v})`;
    case 'tanh':
      return `tanhf(${v})`;
    case 'hard_sigmoid':
      return `dm_hard_sigmoid(${v}, ${floatLiteral(a.alpha ?? 0.2)})`;
    case 'ternary':
      break;
  }
  throw new Error(`activation ${a.kind} has no C implementation`);
}
