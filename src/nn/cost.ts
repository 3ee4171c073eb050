/**
 * Analytic cost of an Architecture, without TensorFlow: what the search ranks candidates by before
 * (and instead of) building them. It sums the same layer plan the builder instantiates, so
 * `params` equals the built model's countParams() exactly.
 */
import type { Architecture } from './arch';
import { planArchitecture, type PlannedKind } from './plan';

export interface LayerCost {
  /** Keras layer name in the built model. */
  name: string;
  /** Keras class name (Conv2D, Dense, BatchNormalization, ...). */
  type: PlannedKind;
  outputShape: number[];
  params: number;
  macs: number;
  /** Stored kernel + bias values after BatchNormalization folding. */
  weights: number;
}

export interface ArchitectureCost {
  /** All weight variables of the built model (what model.countParams() returns), BN statistics included. */
  params: number;
  /** Multiply-accumulates per inference (conv, depthwise conv and dense layers). */
  macs: number;
  /** Kernel and bias values the hardware must store, BatchNormalization folded into the conv/dense before it. */
  weights: number;
  layers: LayerCost[];
}

/** Throws DeepMakerError (naming the layer) when the architecture does not fit its input shape. */
export function architectureCost(arch: Architecture): ArchitectureCost {
  const plan = planArchitecture(arch);
  const layers = plan.layers.map((l) => ({ name: l.name, type: l.kind, outputShape: l.outputShape, params: l.params, macs: l.macs, weights: l.weights }));
  return {
    params: layers.reduce((s, l) => s + l.params, 0),
    macs: layers.reduce((s, l) => s + l.macs, 0),
    weights: layers.reduce((s, l) => s + l.weights, 0),
    layers,
  };
}
