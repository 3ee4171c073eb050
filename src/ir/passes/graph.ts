/** Small graph edits the passes share: who reads a layer, and replacing a layer's output by another's. */
import type { ModelIR } from '../types';

interface Named {
  name: string;
  inputs: string[];
}

export function consumersOf<L extends Named>(model: ModelIR<L>, name: string): L[] {
  return model.layers.filter((l) => l.inputs.includes(name));
}

/** Every reader of `from` (and the model outputs) now reads `to`. */
export function rewire<L extends Named>(model: ModelIR<L>, from: string, to: string): void {
  for (const l of model.layers) l.inputs = l.inputs.map((i) => (i === from ? to : i));
  model.outputs = model.outputs.map((o) => (o === from ? to : o));
}

export function removeLayer<L extends Named>(model: ModelIR<L>, name: string): void {
  model.layers = model.layers.filter((l) => l.name !== name);
}
