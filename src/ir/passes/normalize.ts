/**
 * The passes every imported model goes through, in order, to become the IR the back ends read:
 * no Dropout, no SeparableConv2D, no BatchNormalization, activations fused where they can be,
 * loop nest ids assigned. Throws if anything import-only survives.
 */
import type { ImportedModel, Layer, ModelIR } from '../types';
import { DeepMakerError } from '../../util/errors';
import { assignLoopNestIds } from '../assignLoopNestIds';
import { dropDropout } from './dropDropout';
import { foldBatchNorm } from './foldBatchNorm';
import { fuseActivation } from './fuseActivation';
import { splitSeparable } from './splitSeparable';
import { inferOutputShape } from '../shapes';

export function normalize(imported: ImportedModel): ModelIR {
  const m = structuredClone(imported);
  dropDropout(m);
  splitSeparable(m);
  foldBatchNorm(m);
  fuseActivation(m);
  refreshInputShapes(m);
  for (const l of m.layers) {
    if (l.type === 'batchnorm' || l.type === 'dropout' || l.type === 'separable_conv2d') {
      throw new DeepMakerError(`layer '${l.name}' (${l.type}) survived the normalizing passes`, { file: m.source.file, where: l.name });
    }
    delete l.epsilon;
    delete l.kerasClass;
  }
  return assignLoopNestIds(m as unknown as ModelIR);
}

/** After rewiring, each layer's inputShapes are its producers' output shapes again. */
function refreshInputShapes(m: ImportedModel): void {
  const byName = new Map(m.layers.map((l) => [l.name, l]));
  for (const l of m.layers) {
    if (l.type === 'input') continue;
    l.inputShapes = l.inputs.map((i) => byName.get(i)!.outputShape);
    const want = inferOutputShape(l as unknown as Layer, l.inputShapes);
    if (want.join(',') !== l.outputShape.join(',') && !l.type.startsWith('global_')) {
      throw new Error(`internal: layer '${l.name}' changed shape from [${l.outputShape}] to [${want}] during normalization`);
    }
  }
}
