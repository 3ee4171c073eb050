/**
 * Quantization-aware training's formats (quantization.json, written by the train stage beside the
 * model; see src/quant/file.ts) become per-layer precision in the IR, and ternary-trained layers
 * get their 2-bit codes and per-filter scales (Layer.ternary): the C (and RTL) then compute with
 * exactly the formats the network was trained for. The rules live with the quantization code,
 * src/quant/ir.ts (fixed and ternary modes); run annotateImportedModel before the normalizing passes.
 */
import type { QuantizationFile } from '../../quant/file';
import { applyQuantization as applyTrainedQuantization } from '../../quant/ir';
import type { ModelIR } from '../types';

export function applyQuantization(model: ModelIR, q: QuantizationFile, _file?: string): ModelIR {
  return applyTrainedQuantization(model, q);
}
